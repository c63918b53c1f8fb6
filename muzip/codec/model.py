"""What every backend's codec model shares: identity, config, entropy tables, steps and decoder noise."""

from __future__ import annotations

import functools

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


def mdct_basis(hop: int) -> np.ndarray:
    """Orthonormal MDCT basis with a sine window, shape (2*hop, hop)."""
    n = np.arange(2 * hop)[:, None]
    k = np.arange(hop)[None, :]
    window = np.sin(np.pi * (n + 0.5) / (2 * hop))
    return (window * np.sqrt(2.0 / hop) * np.cos(np.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5))).astype(np.float32)


@functools.lru_cache(maxsize=4)
def fixed_basis(hop: int) -> np.ndarray:
    """The constant filterbank of `"filterbank": "mdct"` models: the MDCT rounded to float16, the precision
    their ONNX files store it in (muzip.nn.half), so Keras and onnxruntime compute the same transform."""
    return mdct_basis(hop).astype(np.float16).astype(np.float32)


def analyze(audio: np.ndarray, hop: int) -> np.ndarray:
    """The MDCT analysis of "filterbank": "mdct" models: (A, (n+1)*hop) samples, the first starting one hop
    before latent 0's centre -> (A, n, hop) float32 coefficients (numpy twin of muzip.model.Analysis, fixed=True).

    As a folded DCT-IV (scipy's pocketfft) rather than a product with the basis: 4x faster, single-threaded
    (a BLAS product spawns threads that spin beside the codec's own: 60% more CPU per encode), and with the
    exact basis, where the network's is rounded to float16 (a -70 dB difference). hop must be even."""
    import scipy.fft  # here: 0.2 s to import, and only band-gain models need it
    n = audio.shape[1] // hop - 1
    z = np.lib.stride_tricks.sliding_window_view(audio, 2 * hop, axis=1)[:, ::hop][:, :n] * _window(hop)
    h = hop // 2
    a, b, c, d = z[..., :h], z[..., h:hop], z[..., hop:hop + h], z[..., hop + h:]
    folded = np.concatenate([-c[..., ::-1] - d, a - b[..., ::-1]], axis=-1)
    return (scipy.fft.dct(folded, type=4, axis=-1) * 0.5).astype(np.float32)


def synthesize(coeffs: np.ndarray, hop: int) -> np.ndarray:
    """The inverse of analyze() (muzip.model.Synthesis, fixed=True), overlap-added:
    (A, N, hop) coefficients -> audio (A, (N-1)*hop), starting at latent 0's centre."""
    import scipy.fft
    A, N, _ = coeffs.shape
    u = scipy.fft.dct(np.asarray(coeffs, np.float32), type=4, axis=-1) * 0.5
    h, w = hop // 2, _window(hop)
    u1, u2 = u[..., :h], u[..., h:]
    out = np.zeros((A, (N + 1) * hop), np.float32)
    out[:, :N * hop] += (np.concatenate([u2, -u2[..., ::-1]], axis=-1) * w[:hop]).reshape(A, -1)
    out[:, hop:] += (np.concatenate([-u1[..., ::-1], -u1], axis=-1) * w[hop:]).reshape(A, -1)
    return out[:, hop:-hop]


@functools.lru_cache(maxsize=4)
def _window(hop: int) -> np.ndarray:
    n = np.arange(2 * hop)
    return (np.sin(np.pi * (n + 0.5) / (2 * hop)) * np.sqrt(2.0 / hop)).astype(np.float32)


class CodecModelBase:
    """A loaded codec model. Backends implement `_run_encoder(audio)` and `_run_decoder(latents, noise)`."""

    backend = "base"

    def __init__(self, name: str, config: dict, digest: bytes, counts: np.ndarray):
        self.name, self.config, self.digest, self.counts = name, config, digest, counts
        self._coder = None
        self._steps = level_steps(config)
        self.gain_counts = None  # band-gain tables (config "band_gains"), set by the store
        self._gains = None

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

    @property
    def band_gains(self):
        """The band-gain codec (muzip.band_gains) of a model whose config has "band_gains", else None."""
        if self._gains is None and "band_gains" in self.config:
            from ..band_gains import BandGains
            self._gains = BandGains(self.config, self.gain_counts)
        return self._gains

    def steps(self) -> np.ndarray:
        return self._steps

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """(A, T, 1) float32 -> latents (A, T/hop + 1, C) float32."""
        return np.asarray(self._run_encoder(np.ascontiguousarray(audio, np.float32)), np.float32)

    def decode(self, latents: np.ndarray, first_latent: int, gains: np.ndarray | None = None) -> np.ndarray:
        """(A, N, C) float32 whose first latent has absolute index first_latent -> audio (A, (N-1)*hop).

        gains (A, N, bands) int: band-gain symbols for models with "band_gains" (None: no correction).
        Zero latents (silence, concealed frames) decode to exact zeros."""
        out = self.decode_coefficients(latents, first_latent) if self.coefficient_decoder else None
        if out is None:
            noise = self._noise(latents.shape, first_latent)
            return np.asarray(self._run_decoder(np.ascontiguousarray(latents, np.float32), noise), np.float32)[:, :, 0]
        if gains is not None:
            from ..band_gains import fill_rng
            out = np.stack([self.band_gains.apply(out[a], gains[a], fill_rng(first_latent, a)) for a in range(len(out))])
        return synthesize(out, self.config["hop"])

    @property
    def coefficient_decoder(self) -> bool:
        """True where the decoder network stops before the (fixed MDCT) synthesis, which runs here."""
        return self.config.get("decoder_output") == "coefficients"

    def decode_coefficients(self, latents: np.ndarray, first_latent: int) -> np.ndarray:
        """Coefficient-output models: (A, N, C) latents -> the decoder's MDCT coefficients (A, N, C)."""
        noise = self._noise(latents.shape, first_latent)
        return np.asarray(self._run_decoder(np.ascontiguousarray(latents, np.float32), noise), np.float32)

    def _noise(self, shape, first_latent):
        return np.stack([decoder_noise(self.config, first_latent, shape[1], a) for a in range(shape[0])])

    def submit_encode(self, audio: np.ndarray):
        """encode() as a future-like object (see submit_decode); here it simply runs now."""
        return _Done(self.encode(audio))

    def decode_concurrency(self) -> int:
        """How many decode() calls may usefully run at once (see submit_decode)."""
        return 1

    def submit_decode(self, latents: np.ndarray, first_latent: int, gains: np.ndarray | None = None):
        """decode() as a future-like object with .result(): backends that can run several calls at once
        overlap them with the caller's entropy decoding; here it simply runs now."""
        return _Done(self.decode(latents, first_latent, gains))


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value

    def cancel(self):
        return False
