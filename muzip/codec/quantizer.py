"""The quantizer: one step size per level, log-spaced (a level is 1.5 dB at 4 levels per octave).

Takes a ModelConfig or a plain config dict (training builds configs before there is a model folder)."""

import numpy as np


def level_steps(cfg: dict) -> np.ndarray:
    """Quantizer step for each level: log-spaced, `levels_per_octave` per doubling."""
    levels = np.arange(cfg["num_levels"])
    return (cfg["min_step"] * 2.0 ** (levels / cfg["levels_per_octave"])).astype(np.float64)

