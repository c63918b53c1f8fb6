"""Training pairs: clean audio -> LAME MP3 (lameenc) -> decoded, back at the clean rate, sample-aligned.

libsndfile's MP3 decoder (mpg123) outputs LAME's encoder delay (576) plus the decoder's (529) before
the first sample: 1105 samples at the MP3's own rate, whatever the bitrate (measured; tested by
tests/restore/test_restore.py with a click). LAME picks a lower rate for low bitrates (16 kbps stereo: 8 kHz),
as a user's file has; the decoded audio is resampled back to the clean rate with soxr.
"""

from __future__ import annotations

import io

import numpy as np

MP3_DELAY = 1105  # samples at the MP3's rate
TRAIN_KBPS = (16, 24, 32, 48, 64)


def mp3_bytes(x: np.ndarray, rate: int, kbps: int, quality: int = 2) -> bytes:
    """x (n, ch) float in [-1, 1], ch 1 or 2 -> a CBR MP3 as LAME (lameenc) makes it."""
    import lameenc
    enc = lameenc.Encoder()
    enc.set_bit_rate(int(kbps))
    enc.set_in_sample_rate(int(rate))
    enc.set_channels(x.shape[1])
    enc.set_quality(quality)
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())


def decode_mp3(data: bytes, rate: int, length: int) -> np.ndarray:
    """Decode, drop the codec delay, resample to `rate`, and cut/pad to `length` samples: (length, ch)."""
    import soundfile as sf
    import soxr
    y, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    y = y[MP3_DELAY:]
    if sr != rate:
        y = soxr.resample(y, sr, rate, quality="HQ").astype(np.float32)
    out = np.zeros((length, y.shape[1]), np.float32)
    out[:min(length, len(y))] = y[:length]
    return out


def mp3_pair(x: np.ndarray, rate: int, kbps: int) -> np.ndarray:
    """The MP3 version of x (n, ch), aligned with x and at x's rate."""
    return decode_mp3(mp3_bytes(x, rate, kbps), rate, len(x))
