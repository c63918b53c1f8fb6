import numpy as np
import pytest

from muzip.metrics import align, find_delay, log_spectral_distance, mel_distance, si_sdr_db, snr_db

SR = 44100


def music_like(rng, seconds=1.0, channels=2):
    """Sum of a few harmonic tones with an envelope plus a little noise: broadband but structured."""
    t = np.arange(int(SR * seconds)) / SR
    out = np.zeros((len(t), channels))
    for c in range(channels):
        for f0 in rng.uniform(80, 800, size=3):
            for h in range(1, 6):
                out[:, c] += np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h
        out[:, c] *= 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.5, 3) * t) ** 2
        out[:, c] += 0.01 * rng.standard_normal(len(t))
    return (0.2 * out / np.max(np.abs(out))).astype(np.float32)


def add_noise(rng, x, snr):
    noise = rng.standard_normal(x.shape)
    noise *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / 10 ** (snr / 10))
    return x + noise


def test_identical_signals():
    rng = np.random.default_rng(0)
    x = music_like(rng)
    assert mel_distance(x, x, SR) == 0.0
    assert log_spectral_distance(x, x, SR) == 0.0
    assert snr_db(x, x) == float("inf")
    assert si_sdr_db(x, x) > 100
    assert si_sdr_db(x, 0.5 * x) > 100  # scale-invariant
    assert snr_db(x, x + 1e-9) > 100


def test_mono_and_stereo_agree():
    rng = np.random.default_rng(1)
    x = music_like(rng, channels=1)
    y = add_noise(rng, x, 20)
    both = mel_distance(x[:, 0], y[:, 0], SR)
    assert both == pytest.approx(mel_distance(x, y, SR))
    stereo = mel_distance(np.repeat(x, 2, axis=1), np.repeat(y, 2, axis=1), SR)
    assert stereo == pytest.approx(both)


@pytest.mark.parametrize("delay", [0, 7, 1105, -300])
def test_align_recovers_pure_delay(delay):
    rng = np.random.default_rng(2)
    x = music_like(rng)
    if delay >= 0:
        deg = np.concatenate([np.zeros((delay, 2), np.float32), x])  # deg late by `delay`
    else:
        deg = x[-delay:]
    assert find_delay(x, deg, 2048) == delay
    r, d, found = align(x, deg, 2048)
    assert found == delay
    assert len(r) == len(d)
    assert len(r) == len(x) - max(0, -delay)
    assert snr_db(r, d) == float("inf")


def test_align_respects_max_delay():
    rng = np.random.default_rng(3)
    x = music_like(rng)
    deg = np.concatenate([np.zeros((500, 2), np.float32), x])
    assert abs(find_delay(x, deg, 100)) <= 100


@pytest.mark.parametrize("target", [0.0, 10.0, 30.0])
def test_snr_of_white_noise_at_known_level(target):
    rng = np.random.default_rng(4)
    x = music_like(rng, seconds=2.0)
    y = add_noise(rng, x, target)
    assert abs(snr_db(x, y) - target) < 0.1


def test_mel_and_lsd_grow_with_noise():
    rng = np.random.default_rng(5)
    x = music_like(rng)
    mels, lsds = [], []
    for snr in (40, 30, 20, 10, 0):
        y = add_noise(rng, x, snr)
        mels.append(mel_distance(x, y, SR))
        lsds.append(log_spectral_distance(x, y, SR))
    assert mels[0] > 0
    assert all(a < b for a, b in zip(mels, mels[1:])), mels
    assert all(a < b for a, b in zip(lsds, lsds[1:])), lsds


def test_si_sdr_tracks_snr_for_unscaled_noise():
    rng = np.random.default_rng(6)
    x = music_like(rng)
    y = add_noise(rng, x, 15)
    assert abs(si_sdr_db(x, y) - 15) < 0.5
