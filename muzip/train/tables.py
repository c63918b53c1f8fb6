"""Integer entropy tables for a trained transform: histograms of its quantized latents, at every level.

Per role (mid, side), level and latent channel, the symbols -R..R plus an escape, counted on training
audio (never held-out audio) and turned into integer counts summing to 2**24 (muzip.codec.entropy), so
decoding is exact on any machine.
"""

from __future__ import annotations

import numpy as np


def count_tables(encoder, cfg: dict, roles) -> np.ndarray:
    """roles: two iterables (mid, side) of 1-D model-rate signals -> counts (2, levels, C, 2R + 2)."""
    from ..codec.entropy.ans import counts_from_histogram
    from ..codec.quantizer import level_steps

    steps = level_steps(cfg)
    R, C = cfg["alphabet_radius"], cfg["latent_channels"]
    K = 2 * R + 2
    hist = np.zeros((2, len(steps), C, K), np.float64)
    for role, signals in enumerate(roles):
        for sig in signals:
            n = len(sig) // cfg["hop"] * cfg["hop"]
            if n == 0:
                continue
            y = np.asarray(encoder(np.asarray(sig[None, :n, None], np.float32), training=False))[0]
            for level, step in enumerate(steps):
                q = np.round(y / step).astype(np.int64)
                idx = np.where(np.abs(q) > R, K - 1, q + R)
                flat = np.arange(C)[None, :] * K + idx
                hist[role, level] += np.bincount(flat.ravel(), minlength=C * K).reshape(C, K)
    return counts_from_histogram(hist + 0.5)  # +0.5: every symbol stays codable


CONTEXT_LEVELS = range(16, 48, 2)  # v1's rate control uses levels 17..45 from 6 to 96 kbps (5-95 %)


def context_tables(encode, cfg: dict, signals, levels) -> tuple[np.ndarray, int]:
    """Context-adaptive or banded tables (codec.entropy) for a transform: (counts, frames seen).

    encode: (A, T, 1) float32 -> latents (A, T/hop + 1, C); signals: (A, T) mid/side arrays at the model
    rate, cut into whole frames (contexts restart each frame, as in the coder) and quantized at every
    level in `levels`, pooled: the context, not the level, carries the scale."""
    from ..codec.entropy import count_latent_tables
    from ..codec.quantizer import level_steps

    steps, F = level_steps(cfg), cfg["frame_samples"]
    P = F // cfg["hop"]
    seen = [0]

    def blocks():
        for sig in signals:
            for start in range(0, sig.shape[1] - F + 1, F):
                y = np.asarray(encode(np.ascontiguousarray(sig[:, start:start + F, None], np.float32)))[:, :P]
                seen[0] += 1
                for level in levels:
                    for role in range(len(y)):
                        yield role, np.rint(y[role] / steps[level]).astype(np.int32)
    return count_latent_tables(blocks(), cfg), seen[0]
