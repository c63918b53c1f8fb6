"""The restorer's configuration (no Keras here: the runtime reads it too)."""

DEFAULT_CONFIG = {
    "sample_rate": 44100,
    "hop": 256,
    "hidden": 192,
    "dilations": [1, 2, 4, 8, 1, 2, 4, 8],
    "kernel_size": 3,
    "noise_channels": 16,
    "cond_channels": 2,
    "compand_alpha": 0.5,
    "kind": "restorer",
}


def receptive_frames(cfg: dict) -> int:
    """Frames each side one output frame can see (for chunk overlaps)."""
    return sum(d * (cfg["kernel_size"] - 1) // 2 for d in cfg["dilations"]) + 1
