"""Integer entropy tables for a trained transform: histograms of its quantized latents, at every level.

Per role (mid, side), level and latent channel, the symbols -R..R plus an escape, counted on training
audio (never held-out audio) and turned into integer counts summing to 2**24 (muzip.entropy), so
decoding is exact on any machine.
"""

from __future__ import annotations

import numpy as np


def count_tables(encoder, cfg: dict, roles) -> np.ndarray:
    """roles: two iterables (mid, side) of 1-D model-rate signals -> counts (2, levels, C, 2R + 2)."""
    from ..entropy import counts_from_histogram
    from ..model import level_steps

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
