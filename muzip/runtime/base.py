"""What every backend's codec model shares: identity, config, entropy tables, steps and decoder noise."""

from __future__ import annotations

import numpy as np


def level_steps(cfg: dict) -> np.ndarray:
    """Quantizer step for each level: log-spaced, `levels_per_octave` per doubling."""
    levels = np.arange(cfg["num_levels"])
    return (cfg["min_step"] * 2.0 ** (levels / cfg["levels_per_octave"])).astype(np.float64)


def decoder_noise(cfg: dict, first_latent: int, count: int, channel: int = 0) -> np.ndarray:
    """The decoder's noise for absolute latent indices [first_latent, first_latent + count), shape (count, K).

    Drawn per frame from numpy's PCG64 seeded by (frame, audio channel), so any block partition of a file
    (whole-file, groups, seeks) sees the same noise for the same latent."""
    k, per = cfg.get("noise_channels", 0), cfg["frame_samples"] // cfg["hop"]
    out = np.empty((count, k), np.float32)
    f_first, f_last = first_latent // per, (first_latent + count - 1) // per
    for f in range(f_first, f_last + 1):
        block = np.random.default_rng([0x6D757A, f + 2, channel]).uniform(-1, 1, (per, k)).astype(np.float32)
        a, b = max(first_latent, f * per), min(first_latent + count, (f + 1) * per)
        out[a - first_latent:b - first_latent] = block[a - f * per:b - f * per]
    return out


def receptive_latents(cfg: dict) -> int:
    """How many latents on each side one latent's computation can see (for context margins)."""
    per_block = (cfg["kernel_size"] - 1) // 2
    return per_block * max(cfg["encoder_blocks"], cfg["decoder_blocks"]) + 1


class CodecModelBase:
    """A loaded codec model. Backends implement `_run_encoder(audio)` and `_run_decoder(latents, noise)`."""

    backend = "base"

    def __init__(self, name: str, config: dict, digest: bytes, counts: np.ndarray):
        self.name, self.config, self.digest, self.counts = name, config, digest, counts
        self._coder = None
        self._steps = level_steps(config)

    @property
    def sha256(self) -> str:
        return self.digest.hex()

    @property
    def coder(self):
        """The entropy coder for this model's tables, built once (its constriction models are cached)."""
        if self._coder is None:
            from ..entropy import coder_for
            self._coder = coder_for(self.config, self.counts)
        return self._coder

    def steps(self) -> np.ndarray:
        return self._steps

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """(A, T, 1) float32 -> latents (A, T/hop + 1, C) float32."""
        return np.asarray(self._run_encoder(np.ascontiguousarray(audio, np.float32)), np.float32)

    def decode(self, latents: np.ndarray, first_latent: int) -> np.ndarray:
        """(A, N, C) float32 whose first latent has absolute index first_latent -> audio (A, (N-1)*hop).

        Zero latents (silence, concealed frames) decode to exact zeros."""
        noise = np.stack([decoder_noise(self.config, first_latent, latents.shape[1], a)
                          for a in range(latents.shape[0])])
        out = self._run_decoder(np.ascontiguousarray(latents, np.float32), noise)
        return np.asarray(out, np.float32)[:, :, 0]

    def submit_encode(self, audio: np.ndarray):
        """encode() as a future-like object (see submit_decode); here it simply runs now."""
        return _Done(self.encode(audio))

    def decode_concurrency(self) -> int:
        """How many decode() calls may usefully run at once (see submit_decode)."""
        return 1

    def submit_decode(self, latents: np.ndarray, first_latent: int):
        """decode() as a future-like object with .result(): backends that can run several calls at once
        overlap them with the caller's entropy decoding; here it simply runs now."""
        return _Done(self.decode(latents, first_latent))


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value

    def cancel(self):
        return False
