"""What a lossy file is: codec and bitrate from the stream, effective bandwidth from the spectrum."""

from __future__ import annotations

import numpy as np

COPY_KBPS = 128  # at or above this (or lossless) the input is passed through unchanged
TOP_EDGE_DB = 30.0  # a cliff in the top CLIFF_HZ (a band-limited file's edge at Nyquist) lies within this of the music
CLIFF_HZ, CLIFF_DB = 250.0, 20.0  # an encoder's low-pass: this much lower everywhere from this far above it
DIGITAL_SILENCE = 2.0 ** -20  # about -120 dBFS: a decoder's zeros (a resampler's last ringing): nothing to restore


def bandwidth_hz(x: np.ndarray, rate: int, n_fft: int = 2048, max_frames: int = 2000) -> float:
    """Highest frequency with real content. Lossy encoders low-pass with a steep cliff, above which is only
    rounding noise: the last bin of the long-term spectrum within 50 dB of its 1-4 kHz level that is also
    CLIFF_DB above everything from CLIFF_HZ higher up (in the top CLIFF_HZ, with nothing above it, within
    TOP_EDGE_DB of that level); without such a cliff, the last bin within 50 dB.
    The cliff matters in short or quiet files, whose rounding noise comes within 50 dB of the music (a
    0.5-s 64-kbps MP3 read 19 kHz by the level alone; its cliff is at 11 kHz). Frames of digital silence are left
    out; 0 where nothing else is (a silent file: 22.1 kHz was read of its zeros)."""
    x = np.asarray(x, np.float32)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    if len(mono) < n_fft:
        return rate / 2
    hop = max(n_fft // 4, (len(mono) - n_fft) // max_frames)  # overlapping frames: short files get more of them
    starts = np.arange(0, len(mono) - n_fft + 1, hop)
    frames = mono[starts[:, None] + np.arange(n_fft)[None, :]]
    frames = frames[np.max(np.abs(frames), axis=1) > DIGITAL_SILENCE]  # a gap's zeros measure nothing
    if not len(frames):
        return 0.0  # silent: no band at all (restore_file restores nothing there)
    frames = frames * np.hanning(n_fft).astype(np.float32)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0) + 1e-20
    db = 10 * np.log10(np.convolve(power, np.ones(5) / 5, mode="same"))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    ref = np.median(db[(freqs >= 1000) & (freqs <= 4000)])
    loud = db > ref - 50.0
    gap = max(1, int(round(CLIFF_HZ / (freqs[1] - freqs[0]))))
    higher = np.maximum.accumulate(db[::-1])[::-1]  # the loudest bin at or above each ...
    higher = np.concatenate([higher[gap:], np.full(gap, ref - 100.0)])  # ... from `gap` bins up
    # a cliff only where what lies above it is also 20 dB under the music (a loud tonal peak is no low-pass)
    cliff = loud & (db - higher >= CLIFF_DB) & (higher < ref - 20.0)
    # in the top `gap` bins, with nothing measured above them, only at the music's level: a 0.5-s 32-kbps MP3's
    # rounding noise there, within 50 dB of its quiet 1-4 kHz, read as a 21.8-kHz band (session 60)
    cliff[-gap:] &= db[-gap:] > ref - TOP_EDGE_DB
    for edge in (np.nonzero(cliff)[0], np.nonzero(loud)[0]):
        if edge.size:
            return float(freqs[edge[-1]])
    return rate / 2


def condition(kbps: float, bandwidth: float, rate: int) -> np.ndarray:
    """The generator's 2 condition channels: log2(kbps / 32) and bandwidth / (rate / 2)."""
    return np.array([np.log2(max(kbps, 1.0) / 32.0), min(1.0, bandwidth / (rate / 2))], np.float32)
