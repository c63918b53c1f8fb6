"""A loaded codec model: what every backend shares (identity, config, entropy coders, steps, decoder noise).

Backends (onnx_model, keras_model) implement `_run_encoder(audio)` and `_run_decoder(latents, noise)`;
everything between the networks and the bitstream (quantizer steps, the MDCT synthesis of coefficient-output
models, band gains, the decoder's seeded noise) is computed here, identically for both."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..runtime.session import cpu_threads
from .band_gains import BandGains
from .config import ModelConfig
from .entropy import coder_for
from .envelope import TemporalEnvelope
from .fill_levels import FillLevels
from .quantizer import level_steps
from .transform import synthesize


def decoder_noise(cfg: dict, first_latent: int, count: int, channel: int = 0) -> np.ndarray:
    """The decoder's noise for absolute latent indices [first_latent, first_latent + count), shape (count, K).

    Drawn per frame from numpy's PCG64 seeded by (frame, audio channel), so any block partition of a file
    (whole-file, groups, seeks) sees the same noise for the same latent."""
    k, per = cfg.get("noise_channels", 0), cfg["frame_samples"] // cfg["hop"]
    out = np.empty((count, k), np.float32)
    f_first, f_last = first_latent // per, (first_latent + count - 1) // per
    for f in range(f_first, f_last + 1):
        block = _noise_block(f, channel, per, k)
        a, b = max(first_latent, f * per), min(first_latent + count, (f + 1) * per)
        out[a - first_latent:b - first_latent] = block[a - f * per:b - f * per]
    return out


@functools.lru_cache(maxsize=64)
def _noise_block(frame: int, channel: int, per: int, k: int) -> np.ndarray:
    # cached: the encoder's band-gain analysis and a decoder's group margins ask for a frame's block again
    block = np.random.default_rng([0x6D757A, frame + 2, channel]).uniform(-1, 1, (per, k)).astype(np.float32)
    block.flags.writeable = False
    return block


def receptive_latents(cfg: dict) -> int:
    """How many latents on each side one latent's computation can see (for context margins)."""
    per_block = (cfg["kernel_size"] - 1) // 2
    return per_block * max(cfg["encoder_blocks"], cfg["decoder_blocks"]) + 1


class CodecModel:
    """A loaded codec model. Backends implement `_run_encoder(audio)` and `_run_decoder(latents, noise)`."""

    backend = "base"

    def __init__(self, name: str, config: ModelConfig, digest: bytes, counts: np.ndarray, gain_counts=None):
        self.name, self.config, self.digest, self.counts = name, config, digest, counts
        self._coder = None
        self._steps = level_steps(config)
        self.gain_counts = gain_counts  # band-gain tables (config "band_gains")
        self._gains = None
        self._envelope = self._fill = None
        self._encode_pool = self._decode_pool = None

    @property
    def sha256(self) -> str:
        return self.digest.hex()

    @property
    def coder(self):
        """The entropy coder for this model's tables, built once (its constriction models are cached)."""
        if self._coder is None:
            self._coder = coder_for(self.config, self.counts)
        return self._coder

    @property
    def band_gains(self):
        """The band-gain codec (codec.band_gains) of a model whose config has "band_gains", else None."""
        if self._gains is None and self.config.band_gains is not None:
            self._gains = BandGains(self.config, self.gain_counts)
        return self._gains

    @property
    def envelope(self):
        """The temporal-envelope codec (codec.envelope) of a model whose config has "envelope", else None."""
        if self._envelope is None and self.config.envelope is not None:
            self._envelope = TemporalEnvelope(self.config)
        return self._envelope

    @property
    def fill_levels(self):
        """The coded fill levels (codec.fill_levels) of a model whose config has "fill_levels", else None."""
        if self._fill is None and self.config.fill_levels is not None:
            self._fill = FillLevels(self.config)
        return self._fill

    def steps(self) -> np.ndarray:
        return self._steps

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """(A, T, 1) float32 -> latents (A, T/hop + 1, C) float32."""
        return np.asarray(self._run_encoder(np.ascontiguousarray(audio, np.float32)), np.float32)

    def decode(self, latents: np.ndarray, first_latent: int, gains: np.ndarray | None = None,
               envelope: np.ndarray | None = None) -> np.ndarray:
        """(A, N, C) float32 whose first latent has absolute index first_latent -> audio (A, (N-1)*hop).

        gains (A, N, bands) int: band-gain symbols for models with "band_gains" (None: no correction);
        envelope (N, blocks) int: temporal-envelope codes for models with "envelope" (None: none).
        Zero latents (silence, concealed frames) decode to exact zeros."""
        out = self.decode_coefficients(latents, first_latent) if self.coefficient_decoder else None
        if out is None:
            noise = self._noise(latents.shape, first_latent)
            return np.asarray(self._run_decoder(np.ascontiguousarray(latents, np.float32), noise), np.float32)[:, :, 0]
        if gains is not None:
            out = np.stack([self.band_gains.apply(out[a], gains[a], self.band_gains.noise_for(first_latent, a), latents[a] != 0)
                            for a in range(len(out))])
        audio = synthesize(out, self.config.hop)
        if envelope is not None and self.envelope is not None:
            audio = self.envelope.apply(audio, out, envelope)
        return audio

    @property
    def coefficient_decoder(self) -> bool:
        """True where the decoder network stops before the (fixed MDCT) synthesis, which runs here."""
        return self.config.coefficient_decoder

    def decode_coefficients(self, latents: np.ndarray, first_latent: int) -> np.ndarray:
        """Coefficient-output models: (A, N, C) latents -> the decoder's MDCT coefficients (A, N, C)."""
        noise = self._noise(latents.shape, first_latent)
        return np.asarray(self._run_decoder(np.ascontiguousarray(latents, np.float32), noise), np.float32)

    def _noise(self, shape, first_latent):
        return np.stack([decoder_noise(self.config, first_latent, shape[1], a) for a in range(shape[0])])

    # Backends whose calls spend their time outside the GIL (onnxruntime, numpy and scipy on whole groups) run
    # them in worker threads, beside the caller's entropy coding; the Keras reference runs them inline.
    threaded = False

    def submit_encode(self, audio: np.ndarray):
        """encode() as a future-like object (see submit_decode): one call in flight while the caller
        entropy-codes the group before it (see codec.encode._encode_groups)."""
        if not self.threaded or cpu_threads() < 2:
            return DoneFuture(self.encode(audio))
        self._prepare("encoder")
        if self._encode_pool is None:
            self._encode_pool = ThreadPoolExecutor(1, thread_name_prefix="muzip-encode")
        return self._encode_pool.submit(self.encode, audio)

    def decode_concurrency(self) -> int:
        """How many decode() calls may usefully run at once (see submit_decode)."""
        return cpu_threads() if self.threaded else 1

    def submit_decode(self, latents: np.ndarray, first_latent: int, gains: np.ndarray | None = None,
                      envelope: np.ndarray | None = None):
        """decode() as a future-like object with .result(): threaded backends run one call per core at once,
        overlapping the caller's entropy decoding (measured on onnxruntime: 10 minutes decode in ~25% less
        time on 2 cores than with calls one after another; docs/EXPERIMENTS.md); others run it now."""
        if not self.threaded or cpu_threads() < 2:
            return DoneFuture(self.decode(latents, first_latent, gains, envelope))
        self._prepare("decoder")
        if self._decode_pool is None:
            self._decode_pool = ThreadPoolExecutor(cpu_threads(), thread_name_prefix="muzip-decode")
        return self._decode_pool.submit(self.decode, latents, first_latent, gains, envelope)

    def forget_threads(self) -> None:
        """In a forked child: the parent's pool threads do not exist here, so pools start afresh."""
        self._encode_pool = self._decode_pool = None

    def _prepare(self, part: str) -> None:
        """Made here, once, before the pool's threads race to it (an onnxruntime session)."""


class DoneFuture:
    """A future whose work ran when it was made (the call in the caller's thread)."""

    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value

    def cancel(self):
        return False
