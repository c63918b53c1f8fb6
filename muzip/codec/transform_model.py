"""A codec model with no network blocks, run in numpy: no session, no network file.

A model whose encoder and decoder have no residual blocks (config "encoder_blocks" and "decoder_blocks" 0,
the frozen MDCT, coefficient output: ModelConfig.network_free) is a fixed transform with two learned
vectors: the encoder's per-channel weighting after power-law companding, and the decoder's un-weighting
before the expansion. Both run here as numpy (the MDCT as scipy's DCT-IV, codec.transform.analyze), read
from tables.npz ("encoder_log_gain", "decoder_log_gain", written beside the Keras weights they equal by
scripts/models/make_transform_model.py), so loading one costs no onnxruntime session.

Why a model without a decoder network: with band gains and the temporal envelope coded, muzip-v2.2's
2.7-million-parameter decoder network made ViSQOL at most 0.05 better and the mel distance up to 0.35 worse
from 48 kbps up; what it did that mattered, filling the holes between coded bins, the dequantizer's
noise_fill does instead (codec.quantizer; docs/EXPERIMENTS.md, "muzip 2.0, lever 2").
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .model import CodecModel
from .transform import analyze

LOG_GAIN_KEYS = ("encoder_log_gain", "decoder_log_gain")


def compand(x: np.ndarray, alpha: float, eps: float = 1e-3) -> np.ndarray:
    """nn.codec_net.Compand: sign(x) ((|x| + eps)^alpha - eps^alpha)."""
    return np.sign(x) * (np.power(np.abs(x) + eps, alpha) - eps ** alpha)


def expand(y: np.ndarray, alpha: float, eps: float = 1e-3) -> np.ndarray:
    """nn.codec_net.Compand(inverse=True): the inverse of compand()."""
    return np.sign(y) * (np.power(np.abs(y) + eps ** alpha, 1.0 / alpha) - eps)


class TransformCodecModel(CodecModel):
    backend = "numpy"
    threaded = True  # numpy and scipy.fft release the GIL on whole groups

    def __init__(self, name, config, digest, counts, log_gains, gain_counts=None):
        super().__init__(name, config, digest, counts, gain_counts)
        enc, dec = (np.asarray(g, np.float32) for g in log_gains)
        if enc.shape != (config.latent_channels,) or dec.shape != enc.shape or not np.all(np.isfinite(enc + dec)):
            raise ModelError(f"model '{name}': its channel weightings do not match its config")
        self._weight, self._unweight = np.exp(enc), np.exp(-dec)

    def _run_encoder(self, audio):
        hop = self.config.hop
        x = np.pad(audio[:, :, 0], ((0, 0), (hop, hop)))  # as nn.codec_net.Analysis: latent n centred at n*hop
        return (compand(analyze(x, hop), self.config.compand_alpha) * self._weight).astype(np.float32)

    def _run_decoder(self, latents, noise):
        return expand(latents * self._unweight, self.config.compand_alpha).astype(np.float32)

    def _noise(self, shape, first_latent):
        return None  # no network to feed
