"""Sample-level steps of reading: the downmix of more than two channels, and clipping to full scale."""

from __future__ import annotations

import numpy as np

# Fixed downmix scale for 5.1: the worst case of L + 0.707*C + 0.707*Ls is
# 1 + 2*0.7071 = 2.414, so multiplying by 1/2.414 (~0.414, about -7.7 dB) can never
# clip.  Other channel counts are plain averages, which cannot clip (scale 1).
_M = 0.7071
DOWNMIX_51_SCALE = 1.0 / (1.0 + 2 * _M)


def downmix_to_stereo(x: np.ndarray) -> np.ndarray:
    """Mix (n, c>2) float32 to (n, 2).

    6 channels are taken as 5.1 in L R C LFE Ls Rs order: L' = L + .707C + .707Ls,
    R' = R + .707C + .707Rs, LFE dropped, then scaled by DOWNMIX_51_SCALE (fixed, no
    clipping possible).  Other counts: L' = mean of even channels, R' = mean of odd ones.
    """
    c = x.shape[1]
    if c <= 2:
        return x
    if c == 6:
        left = x[:, 0] + _M * x[:, 2] + _M * x[:, 4]
        right = x[:, 1] + _M * x[:, 2] + _M * x[:, 5]
        out = np.stack([left, right], axis=1) * DOWNMIX_51_SCALE
    else:
        out = np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1)
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
