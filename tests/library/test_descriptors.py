"""muzip.library.descriptors on synthetic signals: what each statistic is meant to see."""

import numpy as np
import pytest

from muzip.library import descriptors as D

RATE = 44100


def tone_plus_noise(rng, hz=440.0, seconds=8.0, noise=0.01):
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * hz * t) + noise * rng.standard_normal(len(t))
    return np.stack([x, x], axis=1).astype(np.float32)


def parts(d):
    """Slices of the descriptor, in descriptor()'s order."""
    sizes = {"ceps_mean": D.CEPSTRA - 1, "ceps_std": D.CEPSTRA - 1,
             "cov": (D.COV_CEPSTRA - 1) * D.COV_CEPSTRA // 2, "shape": D.BANDS, "band_std": D.BANDS,
             "flux": D.FLUX_GROUPS, "dynamics": 3, "rhythm": len(D.RHYTHM_LAGS_S), "onset_cv": 1, "chroma": 12,
             "key_free": 6, "chroma_stats": 2, "flatness": 2 * (len(D.FLATNESS_OCTAVES) - 1), "stereo": D.STEREO_BANDS}
    out, i = {}, 0
    for k, n in sizes.items():
        out[k] = d[i:i + n]
        i += n
    assert i == len(d) == D.DIM
    return out


@pytest.mark.parametrize("bins", [252, 882])
def test_every_band_has_a_bin_at_every_model_resolution(bins):
    M = D.band_matrix(bins, RATE)
    assert M.shape == (bins, D.BANDS)
    assert np.all(M.sum(axis=0) >= 1)
    assert np.all(M.sum(axis=1) <= 1)


def test_a_tone_fills_one_pitch_class_and_noise_spreads(rng):
    tone = parts(D.audio_descriptor(tone_plus_noise(rng), RATE))
    noise = parts(D.audio_descriptor(0.1 * rng.standard_normal((8 * RATE, 2)).astype(np.float32), RATE))
    assert tone["chroma"][0] > 0.6  # rotated: the strongest class first (the rest: the MDCT's leakage)
    assert noise["chroma"][0] < 0.2
    assert tone["flatness"][0] < 0.1 < 0.4 < noise["flatness"][0]  # the tone's octave (250-500 Hz), mean flatness


def test_level_does_not_move_timbre_or_shape(rng):
    x = tone_plus_noise(rng, noise=0.05)
    a, b = parts(D.audio_descriptor(x, RATE)), parts(D.audio_descriptor(x * 0.25, RATE))
    for key in ("ceps_mean", "shape", "chroma", "rhythm"):
        np.testing.assert_allclose(a[key], b[key], atol=1e-4)


def test_a_click_train_shows_its_period_in_the_rhythm(rng):
    x = 0.001 * rng.standard_normal(10 * RATE)
    period = 0.6  # 15 frames of two 882-sample hops
    x[::int(period * RATE)] += 1.0
    d = parts(D.audio_descriptor(np.stack([x, x], 1).astype(np.float32), RATE))
    frames = np.rint(D.RHYTHM_LAGS_S / (2 * 882 / RATE))
    on_beat = np.abs(frames / 15 - np.rint(frames / 15)) * 15 <= 1
    on_beat &= frames >= 14
    assert on_beat.sum() >= 2
    assert d["rhythm"][on_beat].mean() > d["rhythm"][~on_beat].mean() + 0.3


def test_stereo_width_reads_in_the_side_bands(rng):
    left = 0.1 * rng.standard_normal(6 * RATE)
    wide = np.stack([left, 0.1 * rng.standard_normal(6 * RATE)], 1).astype(np.float32)
    mono = np.stack([left, left], 1).astype(np.float32)
    w, m = parts(D.audio_descriptor(wide, RATE)), parts(D.audio_descriptor(mono, RATE))
    assert np.all(w["stereo"] > -0.5) and np.all(m["stereo"] < -5)


def test_coefficients_of_other_bin_counts_land_in_the_same_space(rng):
    x = tone_plus_noise(rng, seconds=6)
    a = D.audio_descriptor(x, RATE, hop=882)
    b = D.audio_descriptor(x, RATE, hop=252)
    assert a.shape == b.shape == (D.DIM,)
    # above the lowest bands (where a 252-bin MDCT has 87.5-Hz bins), the spectral shapes agree
    resolved = slice(8, None)  # bands from ~700 Hz
    assert np.corrcoef(parts(a)["shape"][resolved], parts(b)["shape"][resolved])[0, 1] > 0.95


def test_too_short_is_an_error():
    with pytest.raises(ValueError):
        D.descriptor(np.zeros((1, 3, 882), np.float32), RATE)
