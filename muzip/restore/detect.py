"""What a lossy file is: codec and bitrate from the stream, effective bandwidth from the spectrum."""

from __future__ import annotations

import numpy as np

COPY_KBPS = 128  # at or above this (or lossless) the input is passed through unchanged


def bandwidth_hz(x: np.ndarray, rate: int, n_fft: int = 2048, max_frames: int = 2000) -> float:
    """Highest frequency with real content: the last bin of the long-term spectrum within 50 dB of its
    1-4 kHz level (lossy encoders low-pass with a steep cliff; above it there is only rounding noise)."""
    x = np.asarray(x, np.float32)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    if len(mono) < n_fft:
        return rate / 2
    hop = max(n_fft, (len(mono) - n_fft) // max_frames)
    starts = np.arange(0, len(mono) - n_fft + 1, hop)
    frames = mono[starts[:, None] + np.arange(n_fft)[None, :]] * np.hanning(n_fft).astype(np.float32)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-20
    db = 10 * np.log10(np.convolve(power, np.ones(5) / 5, mode="same"))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    ref = np.median(db[(freqs >= 1000) & (freqs <= 4000)])
    above = np.nonzero(db > ref - 50.0)[0]
    return float(freqs[above[-1]]) if above.size else rate / 2


def condition(kbps: float, bandwidth: float, rate: int) -> np.ndarray:
    """The generator's 2 condition channels: log2(kbps / 32) and bandwidth / (rate / 2)."""
    return np.array([np.log2(max(kbps, 1.0) / 32.0), min(1.0, bandwidth / (rate / 2))], np.float32)
