"""Onset patterns (muzip.library.onset_patterns): which periodicities a band group's onsets have."""

import numpy as np
import pytest

from muzip.library import onset_patterns as P

RATE = 44100


def _coeffs(x):
    from muzip.codec.transform import analyze, to_mid_side
    ms = np.pad(to_mid_side(np.asarray(x, np.float32)), ((0, 0), (882, 882)))
    return analyze(ms, 882)


def _clicks(hz, seconds=15.0, centre=200.0, seed=0):
    """Short tone bursts at `hz` per second around `centre` Hz over quiet noise, stereo."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    env = (np.mod(t * hz, 1.0) < 0.05).astype(np.float32)
    x = env * np.sin(2 * np.pi * centre * t) + 0.001 * rng.standard_normal(len(t))
    return np.repeat(x[:, None].astype(np.float32), 2, axis=1)


def _peak(pattern, group):
    centres = np.geomspace(P.LOW_HZ, P.HIGH_HZ, P.BINS)
    return centres[int(np.argmax(pattern.reshape(P.GROUPS, P.BINS)[group]))]


VERSIONS = pytest.mark.parametrize("floor", [P.FLOOR_DB[v] for v in sorted(P.FLOOR_DB)], ids=lambda f: f"floor {f}")


@VERSIONS
def test_the_peak_sits_at_the_beat_rate_in_the_band_group_that_plays_it(floor):
    two, three = (P.onset_patterns(_coeffs(_clicks(hz)), RATE, floor) for hz in (2.0, 3.0))
    assert two.shape == (P.DIM,) and np.all(np.isfinite(two))
    assert abs(_peak(two, 0) / 2.0 - 1) < 0.1 and abs(_peak(three, 0) / 3.0 - 1) < 0.1
    high = P.onset_patterns(_coeffs(_clicks(2.0, centre=6000.0)), RATE, floor)
    lows, highs = two.reshape(P.GROUPS, P.BINS), high.reshape(P.GROUPS, P.BINS)
    assert lows[0].max() - lows[0].min() > highs[0].max() - highs[0].min()  # the low group carries the beat
    assert highs[-3].max() - highs[-3].min() > lows[-3].max() - lows[-3].min()  # the group around 6 kHz


@VERSIONS
def test_level_free_and_finite_on_silence_and_short_runs(floor):
    x = _clicks(2.0)
    np.testing.assert_allclose(P.onset_patterns(_coeffs(0.1 * x), RATE, floor),
                               P.onset_patterns(_coeffs(x), RATE, floor), atol=0.05)
    silent = P.onset_patterns(_coeffs(np.zeros((RATE * 5, 2), np.float32)), RATE, floor)
    assert np.all(np.isfinite(silent))
    runs = [_coeffs(x[i * RATE:(i + 4) * RATE]) for i in (0, 5, 10)]  # `muzip index`'s 4-s runs
    assert np.all(np.isfinite(P.onset_patterns(runs, RATE, floor)))
    assert abs(_peak(P.onset_patterns(runs, RATE, floor), 0) / 2.0 - 1) < 0.15


def test_version_2_counts_a_rise_out_of_near_silence_as_at_most_its_floor():
    """What a codec fills with noise (a band's near-silence) moves version 1's onsets by tens of dB and
    version 2's by at most the floor's depth (10 dB) over the band's mean in the run."""
    B = np.ones((100, 40))
    B[::10, 0] = 1e-9  # the lowest band drops to near-silence every 10th frame, and rises out of it again
    rises = P._floored_flux(B, P.FLOOR_DB[2])[:, 0]
    mean = B[:, 0].mean()
    assert rises.max() <= np.log10((1 + 0.1 * mean) / (0.1 * mean)) + 1e-9 < 1.1  # 10 dB and a little
    assert rises.max() > 0.9 and np.all(rises >= 0) and np.all(P._floored_flux(B, 10.0)[:, 1:] == 0)
    from muzip.library.descriptors import EPS
    assert np.maximum(np.diff(np.log10(B[:, 0] + EPS)), 0).max() > 5  # version 1's flux: over 50 dB
