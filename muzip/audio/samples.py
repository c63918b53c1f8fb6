"""Sample-level steps of reading: the downmix of more than two channels, and clipping to full scale."""

from __future__ import annotations

import numpy as np

from .layouts import WAV_ORDER

_M = 0.7071  # a centre or surround channel's share of a side (ITU-R BS.775); the LFE is left out
# 5.1's worst case, L + 0.707*C + 0.707*Ls = 2.414, scaled to full scale (about -7.7 dB): no downmix can clip
DOWNMIX_51_SCALE = 1.0 / (1.0 + 2 * _M)

_SHARE = {"FL": (1, 0), "FR": (0, 1), "FLC": (1, 0), "FRC": (0, 1), "FC": (_M, _M), "LFE": (0, 0),
          "BL": (_M, 0), "BR": (0, _M), "SL": (_M, 0), "SR": (0, _M), "BC": (_M, _M), "TC": (_M, _M),
          "TFL": (_M, 0), "TFC": (_M, _M), "TFR": (0, _M), "TBL": (_M, 0), "TBC": (_M, _M), "TBR": (0, _M)}


def downmix_weights(channels: int, layout=None) -> np.ndarray | None:
    """(channels, 2) weights of each channel in the left and right of a stereo mix, scaled so that no mix can
    clip; None where the layout is not known (more than 8 channels, none stated)."""
    layout = layout or WAV_ORDER.get(channels)
    if layout is None or len(layout) != channels:
        return None
    w = np.array([_SHARE.get(s, (_M, _M)) for s in layout], np.float32)
    return w / max(1.0, float(w.sum(axis=0).max()))


def downmix_to_stereo(x: np.ndarray, layout=None) -> np.ndarray:
    """Mix (n, c>2) float32 to (n, 2) by where each channel plays (`layout`: speaker names as in
    MASK_SPEAKERS, else the WAV order of its count): a side's own channels whole, its surrounds and the centre
    at 0.707, the LFE left out, scaled so that nothing can clip (5.1: L' = (L + .707C + .707Ls) / 2.414). An
    unknown layout (over 8 channels): L' the mean of the even channels, R' of the odd ones. (Before session 62
    every count but 6 was mixed that way: a 3-channel file's centre went to the left only.)"""
    c = x.shape[1]
    if c <= 2:
        return x
    w = downmix_weights(c, layout)
    out = np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1) if w is None else x @ w
    return np.ascontiguousarray(out, dtype=np.float32)


# Lossy decoders overshoot full scale a little near it (the coded signal's peaks between samples): their
# output is passed on up to here, as ever (the codec codes it honestly); the encoder clips every caller's
# samples here too (codec.encode). Beyond it lies only damage, or a float file at the wrong scale.
MAX_OVERSHOOT = 2.0


def clip_full_scale(block: np.ndarray, limit: float = 1.0) -> tuple[np.ndarray, int]:
    """(block clipped to [-limit, limit] with NaN -> 0, number of samples that were outside or NaN).
    Blocks within the limit (all PCM input) come back as they are, untouched and uncopied: clipping never
    alters ordinary audio. AudioSource applies it (limit 1, or MAX_OVERSHOOT for lossy decoders' output)
    and codec.encode.compress_blocks again for every caller (MAX_OVERSHOOT)."""
    if block.size == 0:
        return block, 0
    hi, lo = block.max(), block.min()  # NaN anywhere makes both NaN: caught by the comparisons
    if hi <= limit and lo >= -limit:
        return block, 0
    outside = int(np.count_nonzero(~(np.abs(block) <= limit)))  # |x| > limit, +-Inf and NaN
    clipped = np.clip(np.nan_to_num(block, nan=0.0, posinf=limit, neginf=-limit), -limit, limit)
    return clipped.astype(block.dtype, copy=False), outside


def clipped_warning(n: int, limit: float = 1.0) -> str:
    """The one warning line for n clipped samples (no file name)."""
    samples = f"{n} sample{'s' if n != 1 else ''}"
    if limit == 1.0:
        return f"clipped {samples} outside full scale to [-1, 1] (|x| > 1, Inf or NaN; NaN -> 0)"
    return f"clipped {samples} to [-{limit:g}, {limit:g}] (|x| > {limit:g}, Inf or NaN; NaN -> 0)"
