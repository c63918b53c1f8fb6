"""Issue 23: samples outside full scale (float WAV at 1e4..1e12 x full scale, +-Inf, NaN) are clipped to [-1, 1]
(NaN -> 0) where audio is read, with one warning giving their count; audio within full scale is untouched, and so
is a lossy decoder's small overshoot of it (up to MAX_OVERSHOOT), as before."""

import io
import struct
import warnings

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.audio.samples import MAX_OVERSHOOT, clip_full_scale, clipped_warning


def music_like(n=20000, channels=2, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 44100
    x = 0.5 * np.sin(2 * np.pi * 220 * t)[:, None] + 0.1 * rng.standard_normal((n, channels))
    x[:500] = 0.0  # some exact zeros: never beyond full scale, whatever the gain
    return x.astype(np.float32)


def read_all(path, **kw):
    with AudioSource(str(path), **kw) as src:
        y = np.concatenate(list(src.blocks(4096)))
    return y, src.warnings


@pytest.mark.parametrize("scale", [1e4, 1e8, 1e12])
def test_float_wav_far_beyond_full_scale_is_clipped_with_one_warning(tmp_path, scale):
    x = music_like() * np.float32(scale)
    sf.write(tmp_path / "loud.wav", x, 44100, subtype="FLOAT")
    y, notes = read_all(tmp_path / "loud.wav")
    outside = int(np.count_nonzero(np.abs(x) > 1))
    assert outside > 0.9 * np.count_nonzero(x)
    assert notes == [clipped_warning(outside)] and f"clipped {outside} samples" in notes[0]
    assert y.dtype == np.float32 and np.abs(y).max() <= 1.0
    np.testing.assert_array_equal(y, np.clip(x, -1, 1))


def test_nan_inf_and_overs_are_clipped_and_counted_together(tmp_path):
    x = music_like(3000)
    x[10, 0], x[20, 1], x[30, 0], x[40, 1], x[50, 0] = np.nan, np.inf, -np.inf, 1.0001, -7.0
    x[60, 0], x[61, 1] = 1.0, -1.0  # exactly full scale: not clipped
    sf.write(tmp_path / "f.wav", x, 44100, subtype="FLOAT")
    y, notes = read_all(tmp_path / "f.wav")
    assert [y[10, 0], y[20, 1], y[30, 0], y[40, 1], y[50, 0], y[60, 0], y[61, 1]] == [0, 1, -1, 1, -1, 1, -1]
    assert notes == ["clipped 5 samples outside full scale to [-1, 1] (|x| > 1, Inf or NaN; NaN -> 0)"]


def test_clipping_happens_before_the_surround_downmix(tmp_path):
    x = np.zeros((100, 6), np.float32)
    x[5, 2], x[6, 0] = 1e9, np.nan  # a centre channel at 1e9 must not reach the mix
    sf.write(tmp_path / "s.wav", x, 48000, subtype="FLOAT")
    y, notes = read_all(tmp_path / "s.wav", downmix=True)
    assert np.abs(y).max() <= 1.0 and notes == [clipped_warning(2)]


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_audio_within_full_scale_is_untouched(tmp_path, subtype):
    x = np.clip(music_like(), -1, 1)
    x[100, 0], x[101, 1] = 1.0, -1.0
    sf.write(tmp_path / "a.wav", x, 44100, subtype=subtype)
    y, notes = read_all(tmp_path / "a.wav")
    np.testing.assert_array_equal(y, sf.read(tmp_path / "a.wav", dtype="float32", always_2d=True)[0])
    assert notes == []


def test_clip_full_scale_passes_in_range_blocks_through_uncopied():
    x = music_like(1000)
    y, n = clip_full_scale(x)
    assert y is x and n == 0
    y, n = clip_full_scale(np.zeros((0, 2), np.float32))
    assert n == 0
    z = np.array([[np.nan, 2.0], [-np.inf, 0.5]], np.float32)
    y, n = clip_full_scale(z)
    assert n == 3 and y.dtype == np.float32 and y.tolist() == [[0.0, 1.0], [-1.0, 0.5]]
    assert np.isnan(z[0, 0])  # the caller's block is not modified
    assert clipped_warning(1).startswith("clipped 1 sample outside")


def _float64_wav(x: np.ndarray, rate=44100) -> bytes:
    data = x.astype("<f8").tobytes()
    fmt = struct.pack("<HHIIHH", 3, x.shape[1], rate, rate * 8 * x.shape[1], 8 * x.shape[1], 64)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_float64_wav_on_stdin_beyond_float32_range_is_clipped_without_numpy_warnings():
    x = np.zeros((1000, 2))
    x[3, 0], x[4, 1], x[5, 0], x[6, 1] = 1e300, -1e300, np.nan, 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "overflow encountered in cast" would be a second stderr line
        with AudioSource("-", stdin=io.BytesIO(_float64_wav(x))) as src:
            y = np.concatenate(list(src.blocks(256)))
    assert (y[3, 0], y[4, 1], y[5, 0], y[6, 1]) == (1.0, -1.0, 0.0, 0.25)
    assert src.warnings == [clipped_warning(3)]


@pytest.mark.parametrize("fmt,subtype", [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")])
def test_a_lossy_decoders_overshoot_is_passed_on_unchanged_without_a_warning(tmp_path, fmt, subtype):
    rng, t = np.random.default_rng(8), np.arange(44100) / 44100  # a loud master: saturated, near full scale
    x = np.tanh(3 * (0.6 * np.sin(2 * np.pi * 110 * t) + 0.4 * np.sin(2 * np.pi * 1234 * t)
                     + 0.2 * rng.standard_normal(len(t))))
    x = 0.99 * np.stack([x, x[::-1]], axis=1)
    path = tmp_path / f"loud.{fmt.lower()}"
    sf.write(path, x.astype(np.float32), 44100, format=fmt, subtype=subtype)
    ref = sf.read(path, dtype="float32", always_2d=True)[0]
    assert np.abs(ref).max() > 1.0  # the decoder overshoots: what this test is about
    y, notes = read_all(path)
    np.testing.assert_array_equal(y, ref)
    assert notes == []


def test_beyond_the_overshoot_allowed_lossy_output_is_clipped_there():
    block = np.array([[1.5, -1.75], [2.5, np.nan], [-np.inf, 0.125]], np.float32)
    y, n = clip_full_scale(block, MAX_OVERSHOOT)
    assert n == 3 and y.tolist() == [[1.5, -1.75], [2.0, 0.0], [-2.0, 0.125]]
    assert clipped_warning(3, MAX_OVERSHOOT) == "clipped 3 samples to [-2, 2] (|x| > 2, Inf or NaN; NaN -> 0)"
