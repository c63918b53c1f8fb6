"""The quantizer: one step size per level, log-spaced (a level is 1.5 dB at 4 levels per octave), and the
dequantizer both the decoder and the encoder's analysis by synthesis run.

Takes a ModelConfig or a plain config dict (training builds configs before there is a model folder)."""

import functools

import numpy as np

from .fill_levels import tilt_gains


def level_steps(cfg: dict) -> np.ndarray:
    """Quantizer step for each level: log-spaced, `levels_per_octave` per doubling."""
    levels = np.arange(cfg["num_levels"])
    return (cfg["min_step"] * 2.0 ** (levels / cfg["levels_per_octave"])).astype(np.float64)


def dequantize(q: np.ndarray, steps: np.ndarray, frame: int, cfg, fill=None) -> np.ndarray:
    """A frame's integer latents q (A, n, C) and each audio channel's step (A,) -> float32 latents.

    Models with "noise_fill" (a fraction of the step, no decoder network to fill holes) give every zero latent
    in a band-gain band that has a non-zero latent in the same vector seeded uniform noise of
    +-noise_fill x step: the quantizer sent those to zero from within half a step, and a spectral hole there
    costs fine structure (docs/EXPERIMENTS.md). The band gains, measured by the encoder after this, then
    correct each band's level. The noise is drawn per (frame, audio channel), so it is the same whichever
    group or seek decodes the frame. Models with "fill_levels" code the level per frame and audio channel
    (codec.fill_levels): `fill` (A,) replaces noise_fill there, and where they also tilt the precision
    (fill_levels.tilt) the result is divided by the encoder's tilt_gains."""
    deq = _filled(q, steps, frame, cfg, fill)
    gains = tilt_gains(cfg, fill) if fill is not None else None
    return deq if gains is None else deq / gains[:, None, :]


def _filled(q, steps, frame, cfg, fill):
    deq = q * np.asarray(steps, np.float32)[:, None, None]
    alpha = np.full(q.shape[0], float(cfg.get("noise_fill") or 0.0)) if fill is None else np.asarray(fill, float)
    if not np.any(alpha > 0) or not q.any():
        return deq
    edges = np.asarray(cfg["band_gains"]["edges"])
    coded = q != 0
    banded = np.repeat(np.add.reduceat(coded, edges[:-1], axis=-1) > 0, np.diff(edges), axis=-1)
    holes = banded & ~coded
    for a in range(q.shape[0]):
        if alpha[a] > 0:
            noise = _fill_noise(frame, a, q.shape[1], q.shape[2])
            deq[a] = np.where(holes[a], noise * np.float32(alpha[a] * steps[a]), deq[a])
    return deq


@functools.lru_cache(maxsize=8)
def _fill_noise(frame: int, channel: int, n: int, C: int) -> np.ndarray:
    # cached: the encoder's level search and its gain analysis dequantize the same frame
    block = np.random.default_rng([0x6E6F6973, frame, channel]).uniform(-1, 1, (n, C)).astype(np.float32)
    block.flags.writeable = False
    return block
