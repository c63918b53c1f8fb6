"""Streaming resampler (soxr), used by the codec (input rate <-> model rate) and by
AudioSink for encoders with a fixed rate set (Opus, MP3)."""

from __future__ import annotations

import numpy as np


class StreamResampler:
    """Streaming resampler (soxr); identity pass-through when the rates are equal."""

    def __init__(self, in_rate: int, out_rate: int, channels: int, quality: str = "HQ"):
        self.in_rate, self.out_rate, self.channels = int(in_rate), int(out_rate), int(channels)
        self._rs = None
        if self.in_rate != self.out_rate:
            import soxr

            self._rs = soxr.ResampleStream(self.in_rate, self.out_rate, self.channels,
                                           dtype="float32", quality=quality)

    def process(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if self._rs is None:
            return x
        y = self._rs.resample_chunk(x, last=last)
        return np.ascontiguousarray(y, dtype=np.float32).reshape(-1, self.channels)
