"""How a codec model cuts audio into frames, latents and network calls (shared by encode and decode)."""

from __future__ import annotations

import math

from .model import receptive_latents

GROUP = 16  # frames per network call: bounds memory, amortises call overhead


class FrameLayout:
    def __init__(self, model):
        cfg = model.config
        self.rate, self.F, self.H = cfg.model_rate, cfg.frame_samples, cfg.hop
        self.per_frame = self.F // self.H
        # Context each side of a group, in latents: past what any output latent can see, so a group's
        # output equals the whole file's. (1.0 used a whole frame each side: 25% more network work.)
        self.margin = receptive_latents(cfg) + 4

    def latents_in_frame(self, num_samples: int, last: bool) -> int:
        return math.ceil(num_samples / self.H) + 1 if last else self.per_frame
