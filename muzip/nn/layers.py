"""Layers shared by muzip's networks (the codec's filterbank and companding live in muzip.nn.codec_net)."""

import keras
from keras import ops

from .codec_net import Analysis, ChannelScale, Compand, Synthesis  # noqa: F401 - re-exported for new models


@keras.saving.register_keras_serializable(package="muzip")
class DilatedResBlock(keras.layers.Layer):
    """x + Conv1D_1x1(gelu(Conv1D_k,dilated([x, cond]))); the last conv starts at zero (block = identity)."""

    def __init__(self, channels, hidden, kernel_size=3, dilation=1, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.hidden, self.kernel_size, self.dilation = channels, hidden, kernel_size, dilation
        self.inner = keras.layers.Conv1D(hidden, kernel_size, dilation_rate=dilation, padding="same", name="inner")
        self.outer = keras.layers.Conv1D(channels, 1, kernel_initializer="zeros", name="outer")

    def call(self, x, cond=None):
        h = x if cond is None else ops.concatenate([x, cond], axis=-1)
        return x + self.outer(ops.gelu(self.inner(h)))

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "hidden": self.hidden,
                "kernel_size": self.kernel_size, "dilation": self.dilation}


@keras.saving.register_keras_serializable(package="muzip")
class Gelu(keras.layers.Layer):
    """tanh-approximated GELU, as every muzip block uses (exports to ONNX opset 15, unlike erf's Erfc)."""

    def call(self, x):
        return ops.gelu(x, approximate=True)
