"""Onset patterns (muzip.library.onset_patterns): which periodicities a band group's onsets have."""

import numpy as np

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


def test_the_peak_sits_at_the_beat_rate_in_the_band_group_that_plays_it():
    two, three = (P.onset_patterns(_coeffs(_clicks(hz)), RATE) for hz in (2.0, 3.0))
    assert two.shape == (P.DIM,) and np.all(np.isfinite(two))
    assert abs(_peak(two, 0) / 2.0 - 1) < 0.1 and abs(_peak(three, 0) / 3.0 - 1) < 0.1
    high = P.onset_patterns(_coeffs(_clicks(2.0, centre=6000.0)), RATE)
    lows, highs = two.reshape(P.GROUPS, P.BINS), high.reshape(P.GROUPS, P.BINS)
    assert lows[0].max() - lows[0].min() > highs[0].max() - highs[0].min()  # the low group carries the beat
    assert highs[-3].max() - highs[-3].min() > lows[-3].max() - lows[-3].min()  # the group around 6 kHz


def test_level_free_and_finite_on_silence_and_short_runs():
    x = _clicks(2.0)
    np.testing.assert_allclose(P.onset_patterns(_coeffs(0.1 * x), RATE), P.onset_patterns(_coeffs(x), RATE),
                               atol=0.05)
    silent = P.onset_patterns(_coeffs(np.zeros((RATE * 5, 2), np.float32)), RATE)
    assert np.all(np.isfinite(silent))
    runs = [_coeffs(x[i * RATE:(i + 4) * RATE]) for i in (0, 5, 10)]  # `muzip index`'s 4-s runs
    assert np.all(np.isfinite(P.onset_patterns(runs, RATE)))
    assert abs(_peak(P.onset_patterns(runs, RATE), 0) / 2.0 - 1) < 0.15
