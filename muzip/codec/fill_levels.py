"""Coded fill levels: how much noise the dequantizer puts in the holes of coded bands, per frame and audio
channel, following how noise-like the source is there (config "fill_levels"; docs/FORMAT.md).

A fixed level cannot suit both kinds of music: on game music (spectral flatness 0.02-0.14 over 2-8 kHz)
noise in the holes covers partials the listener hears as tones, on band recordings (0.26-0.34) too little
leaves holes (docs/EXPERIMENTS.md, "muzip 2.0, lever 4"). So each frame with coded latents carries one
byte per audio channel, level = byte / 255 x scale (a fraction of the quantizer step), and the encoder
picks it from the source: clip(a0 + a1 x flatness, lo, hi), with (a0, a1, lo, hi) chosen by bitrate.

The decoder reads only bytes; how they were chosen is the encoder's business (maps, window, band).

Optionally ("tilt") the same bytes also tilt the quantizer's precision across frequency: a frame whose
source is tonal gets finer steps in the high band (partials kept, docs/EXPERIMENTS.md "lever 5"), a
noise-like one finer steps in the low band. The encoder multiplies the frame's latents by tilt_gains()
before quantizing; the dequantizer divides by them.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import CorruptFileError
from .fft import rfft

CODE_MAX = 255


class FillLevels:
    """A model's "fill_levels": {"scale", "window", "hop", "band_hz": [lo, hi], "maps": [[kbps, a0, a1, lo, hi], ...]}."""

    def __init__(self, config):
        spec = config["fill_levels"]
        self.scale = float(spec["scale"])
        self.window, self.hop = int(spec["window"]), int(spec["hop"])
        self.band_hz = tuple(float(v) for v in spec["band_hz"])
        self.maps = sorted(tuple(float(v) for v in m) for m in spec["maps"])
        self.rate = int(config["model_rate"])
        if not 0 < self.scale <= 0.5 or not 0 < self.hop <= self.window or len(self.band_hz) != 2:
            raise ValueError("fill_levels needs 0 < scale <= 0.5, 0 < hop <= window and band_hz [lo, hi]")
        if not self.maps or any(len(m) != 5 or not 0 <= m[3] <= m[4] <= self.scale for m in self.maps):
            raise ValueError("fill_levels maps are [kbps, a0, a1, lo, hi] with 0 <= lo <= hi <= scale")
        tilt = spec.get("tilt")
        if tilt is not None:
            levels, db = list(tilt["levels"]), list(tilt["db_per_octave"])
            if len(levels) != len(db) or not levels or sorted(levels) != levels or not all(
                    abs(float(d)) <= 6 for d in db) or not 0 < float(tilt["lo_hz"]) <= float(tilt["pivot_hz"]) \
                    <= float(tilt["hi_hz"]):
                raise ValueError("fill_levels tilt needs increasing levels, as many db_per_octave (|x| <= 6), "
                                 "and 0 < lo_hz <= pivot_hz <= hi_hz")
        self._bins = None
        self._hann = None

    # ------------------------------------------------------------------ decoder side
    def parse(self, words: bytes, channels: int) -> tuple[np.ndarray, int]:
        """A frame's fill bytes -> (levels (channels,) float32, bytes used)."""
        if len(words) < channels:
            raise CorruptFileError("fill levels cut short")
        return self.levels(words[:channels]), channels

    def levels(self, codes: bytes) -> np.ndarray:
        """Fill bytes -> levels (float32, a fraction of the quantizer step)."""
        return np.frombuffer(codes, np.uint8).astype(np.float32) * np.float32(self.scale / CODE_MAX)

    # ------------------------------------------------------------------ encoder side
    def map_for(self, kbps: float) -> tuple:
        """(a0, a1, lo, hi) of the highest map whose bitrate is at most kbps (the lowest below them all)."""
        chosen = self.maps[0]
        for m in self.maps:
            if m[0] <= kbps:
                chosen = m
        return chosen[1:]

    def flatness(self, audio: np.ndarray) -> np.ndarray:
        """Mean spectral flatness over band_hz of Hann windows of each row of audio (A, n) -> (A,); 0 when
        the frame is shorter than one window (the level then sits at the map's floor)."""
        A, n = audio.shape
        if n < self.window:
            return np.zeros(A)
        if self._bins is None:
            f = np.fft.rfftfreq(self.window, 1 / self.rate)
            self._bins = np.flatnonzero((f >= self.band_hz[0]) & (f < self.band_hz[1]))
            self._hann = np.hanning(self.window).astype(np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(np.asarray(audio, np.float32), self.window, axis=-1)
        spectrum = rfft(frames[:, ::self.hop] * self._hann, axis=-1)[..., self._bins]
        power = spectrum.real ** 2 + spectrum.imag ** 2 + np.float32(1e-12)
        sf = np.exp(np.mean(np.log(power), axis=-1)) / np.mean(power, axis=-1)
        return np.mean(sf, axis=-1, dtype=np.float64)

    def codes_for(self, audio: np.ndarray, kbps: float) -> bytes:
        """The fill bytes of one frame from its model-rate source audio (A, n)."""
        a0, a1, lo, hi = self.map_for(kbps)
        level = np.clip(a0 + a1 * self.flatness(audio), lo, hi)
        return np.rint(level / self.scale * CODE_MAX).astype(np.uint8).tobytes()


def tilt_gains(config, levels) -> np.ndarray | None:
    """Each channel's precision factor (A, C) for a frame with these fill levels (A,), or None where the
    model has no "tilt" (or the frame no levels): (f / pivot_hz)^(t / 6.02), t dB per octave interpolated
    from the level, f each channel's centre frequency clipped to [lo_hz, hi_hz]."""
    tilt = (config.get("fill_levels") or {}).get("tilt")
    if tilt is None or levels is None:
        return None
    db = np.interp(np.asarray(levels, np.float64), tilt["levels"], tilt["db_per_octave"])
    octaves = _octaves(int(config["latent_channels"]), int(config["model_rate"]), float(tilt["pivot_hz"]),
                       float(tilt["lo_hz"]), float(tilt["hi_hz"]))
    return np.exp2(db[:, None] / (20 * np.log10(2.0)) * octaves[None, :]).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _octaves(channels: int, rate: int, pivot: float, lo: float, hi: float) -> np.ndarray:
    f = np.clip((np.arange(channels) + 0.5) * rate / 2 / channels, lo, hi)
    return np.log2(f / pivot)
