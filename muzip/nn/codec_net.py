"""The codec network: a Keras 3 Conv1D transform codec on the raw waveform (backend-agnostic, keras.ops only).

Data path (one audio channel at the model rate):

    samples --Analysis(Conv1D k=2H, s=H)--> coefficients --compand--> weight --ResBlocks--> latent y
    latent y --quantize(step)--> integers --(entropy coder, elsewhere)
    integers*step --ResBlocks--> unweight --expand--> Synthesis(Conv1DTranspose k=2H, s=H) --> samples

Latent n describes samples [(n-1)H, (n+1)H). The filterbank starts as an MDCT with a sine window,
so the untrained model is already a perfect-reconstruction transform; training learns the
per-channel weighting (where to spend bits) and the residual blocks (how to undo quantization).
Everything is fully convolutional over time, so blocks with a frame of context on each side give
the same latents as the whole file.
"""

import keras
import numpy as np
from keras import ops

from .filterbank import fixed_basis, mdct_basis


def _filterbank_initializer(hop: int, channels: int):
    """The MDCT basis as a (2*hop, 1, hop) kernel when the shapes allow, else Glorot."""
    if channels != hop:
        return "glorot_uniform"
    basis = mdct_basis(hop)[:, None, :]
    return lambda shape, dtype=None: ops.convert_to_tensor(basis, dtype)


@keras.saving.register_keras_serializable(package="muzip")
class Analysis(keras.layers.Layer):
    """Strided Conv1D filterbank: (B, T, 1) with T % hop == 0 -> (B, T/hop + 1, channels)."""

    def __init__(self, hop, channels, fixed=False, **kwargs):
        super().__init__(**kwargs)
        self.hop, self.channels, self.fixed = hop, channels, fixed
        if fixed:  # a constant, not a weight, so not stored in the weights file
            self.kernel = fixed_basis(hop)[:, None, :]
        else:
            self.conv = keras.layers.Conv1D(channels, 2 * hop, strides=hop, use_bias=False,
                                            kernel_initializer=_filterbank_initializer(hop, channels),
                                            name="filterbank")

    def call(self, x):
        x = ops.pad(x, [[0, 0], [self.hop, self.hop], [0, 0]])
        if self.fixed:
            return ops.conv(x, ops.convert_to_tensor(self.kernel, x.dtype), strides=self.hop, padding="valid")
        return self.conv(x)

    def get_config(self):
        return {**super().get_config(), "hop": self.hop, "channels": self.channels, "fixed": self.fixed}


@keras.saving.register_keras_serializable(package="muzip")
class Synthesis(keras.layers.Layer):
    """Transposed-conv filterbank with overlap-add: (B, N, channels) -> (B, (N-1)*hop, 1)."""

    def __init__(self, hop, channels, fixed=False, **kwargs):
        super().__init__(**kwargs)
        self.hop, self.channels, self.fixed = hop, channels, fixed
        if fixed:
            self.kernel = fixed_basis(hop)[:, None, :]  # (2H, 1 output, C inputs), as Conv1DTranspose's kernel
        else:
            self.conv = keras.layers.Conv1DTranspose(1, 2 * hop, strides=hop, use_bias=False,
                                                     kernel_initializer=_filterbank_initializer(hop, channels),
                                                     name="filterbank")

    def call(self, z):
        if self.fixed:
            y = ops.conv_transpose(z, ops.convert_to_tensor(self.kernel, z.dtype), strides=self.hop, padding="valid")
        else:
            y = self.conv(z)  # (B, (N+1)*hop, 1): latent n lands on [(n-1)H, (n+1)H) after the crop
        return y[:, self.hop:-self.hop]

    def get_config(self):
        return {**super().get_config(), "hop": self.hop, "channels": self.channels, "fixed": self.fixed}


@keras.saving.register_keras_serializable(package="muzip")
class Compand(keras.layers.Layer):
    """Power-law companding sign(x)|x|^alpha (AAC-style), shifted to be smooth at 0; invertible."""

    def __init__(self, alpha, inverse=False, eps=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.alpha, self.inverse, self.eps = alpha, inverse, eps

    def call(self, x):
        a, e = self.alpha, self.eps
        if not self.inverse:
            return ops.sign(x) * (ops.power(ops.abs(x) + e, a) - e ** a)
        return ops.sign(x) * (ops.power(ops.abs(x) + e ** a, 1.0 / a) - e)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "inverse": self.inverse, "eps": self.eps}


@keras.saving.register_keras_serializable(package="muzip")
class ChannelScale(keras.layers.Layer):
    """Learned per-channel gain (log-parameterised): the codec's spectral weighting."""

    def __init__(self, inverse=False, **kwargs):
        super().__init__(**kwargs)
        self.inverse = inverse

    def build(self, input_shape):
        self.log_gain = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="log_gain")

    def call(self, x):
        return x * ops.exp(-self.log_gain if self.inverse else self.log_gain)

    def get_config(self):
        return {**super().get_config(), "inverse": self.inverse}


@keras.saving.register_keras_serializable(package="muzip")
class ResBlock(keras.layers.Layer):
    """x + Conv1D_1x1(gelu(Conv1D_k([x, cond]))); the last conv starts at zero so the block starts as identity.

    `cond` (optional) is extra input the block may use but not pass on: the decoder's noise channels."""

    def __init__(self, channels, hidden, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.hidden, self.kernel_size = channels, hidden, kernel_size
        # No biases: zero latents decode to exact silence (digital silence, concealed frames).
        self.inner = keras.layers.Conv1D(hidden, kernel_size, padding="same", use_bias=False, name="inner")
        self.outer = keras.layers.Conv1D(channels, 1, kernel_initializer="zeros", use_bias=False, name="outer")

    def call(self, x, cond=None):
        h = x if cond is None else ops.concatenate([x, cond], axis=-1)
        return x + self.outer(ops.gelu(self.inner(h)))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "hidden": self.hidden, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="muzip")
class NoiseGate(keras.layers.Layer):
    """Zero the noise wherever every latent channel quantized to zero (silence stays silent)."""

    def call(self, z, noise):
        active = ops.cast(ops.max(ops.abs(z), axis=-1, keepdims=True) > 0, noise.dtype)
        return noise * active


def fixed_mdct(cfg: dict) -> bool:
    """`"filterbank": "mdct"`: the frozen MDCT as a constant (fixed_basis). muzip-v1 keeps its copy as a weight."""
    return cfg.get("filterbank") == "mdct"


def build_encoder(cfg: dict) -> keras.Model:
    hop, ch = cfg["hop"], cfg["latent_channels"]
    x = keras.Input(shape=(None, 1), name="audio")
    analysis = Analysis(hop, ch, fixed=fixed_mdct(cfg), name="analysis")
    analysis.trainable = cfg.get("train_filterbank", True)
    y = analysis(x)
    y = Compand(cfg["compand_alpha"], name="compand")(y)
    y = ChannelScale(name="weight")(y)
    for i in range(cfg["encoder_blocks"]):
        y = ResBlock(ch, cfg["hidden"], cfg["kernel_size"], name=f"enc_block{i}")(y)
    return keras.Model(x, y, name="encoder")


def build_decoder(cfg: dict) -> keras.Model:
    """Inputs: dequantized latents (B, N, C) and uniform noise (B, N, noise_channels) in [-1, 1].

    The noise lets the decoder fill what quantization zeroed with texture at a plausible level
    (noise filling) instead of spectral holes; the codec draws it from a seeded generator."""
    hop, ch = cfg["hop"], cfg["latent_channels"]
    z = keras.Input(shape=(None, ch), name="latent")
    noise_in = keras.Input(shape=(None, cfg.get("noise_channels", 0)), name="noise")
    noise = NoiseGate(name="noise_gate")(z, noise_in)
    y = z
    for i in range(cfg["decoder_blocks"]):
        y = ResBlock(ch, cfg["hidden"], cfg["kernel_size"], name=f"dec_block{i}")(y, noise if cfg.get("noise_channels") else None)
    y = ChannelScale(inverse=True, name="unweight")(y)
    y = Compand(cfg["compand_alpha"], inverse=True, name="expand")(y)
    if cfg.get("decoder_output") == "coefficients":  # the runtime runs the fixed synthesis (band gains go between)
        return keras.Model([z, noise_in], y, name="decoder")
    synthesis = Synthesis(hop, ch, fixed=fixed_mdct(cfg), name="synthesis")
    synthesis.trainable = cfg.get("train_filterbank", True)
    y = synthesis(y)
    return keras.Model([z, noise_in], y, name="decoder")


DEFAULT_CONFIG = {
    "model_rate": 44100,
    "frame_samples": 44100,
    "hop": 252,
    "latent_channels": 252,
    "hidden": 256,
    "kernel_size": 3,
    "encoder_blocks": 0,
    "decoder_blocks": 3,
    "noise_channels": 16,
    "train_filterbank": False,
    "compand_alpha": 0.75,
    "num_levels": 64,
    "levels_per_octave": 4,
    "min_step": 2.0 ** -10,
    "alphabet_radius": 31,
}

assert DEFAULT_CONFIG["frame_samples"] % DEFAULT_CONFIG["hop"] == 0
LATENTS_PER_FRAME = DEFAULT_CONFIG["frame_samples"] // DEFAULT_CONFIG["hop"]
