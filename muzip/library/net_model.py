"""The embed-v1 network in Keras 3 (backend-agnostic: keras.ops only) and its contrastive loss.

Input: a window of the codec latents' log band energies (muzip.library.embed.band_sequence, 43.75
frames/s). A small Conv1D stack with pooling, then the mean and standard deviation over time (so any
length works), then two dense layers: a DIM-d segment embedding. Only training and export import this
module; the runtime runs the ONNX export (muzip.library.net).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ..nn.layers import Gelu  # tanh-approximated: exports to ONNX (erf's Erfc does not)

DEFAULT_CONFIG = {"kind": "embedder", "features": "latent band sequence v1", "in_dim": 72, "channels": 128,
                  "blocks": 3, "dim": 128, "window": 175, "temperature": 0.1}


@keras.saving.register_keras_serializable("muzip")
class FeatureNorm(layers.Layer):
    """(x - mean) / std with fixed statistics of the training data (set once, saved with the weights)."""

    def build(self, input_shape):
        d = input_shape[-1]
        self.mean = self.add_weight(shape=(d,), initializer="zeros", trainable=False, name="mean")
        self.std = self.add_weight(shape=(d,), initializer="ones", trainable=False, name="std")

    def call(self, x):
        return (x - self.mean) / self.std


@keras.saving.register_keras_serializable("muzip")
class MeanStdPool(layers.Layer):
    """Mean and standard deviation over time: (B, T, C) -> (B, 2C)."""

    def call(self, x):
        m = ops.mean(x, axis=1)
        s = ops.sqrt(ops.mean(ops.square(x - m[:, None, :]), axis=1) + 1e-5)
        return ops.concatenate([m, s], axis=-1)


def build_embed_net(cfg: dict) -> keras.Model:
    ch = cfg["channels"]
    inp = keras.Input((None, cfg["in_dim"]), name="bands")
    x = FeatureNorm(name="norm")(inp)
    x = Gelu(name="stem_act")(layers.Conv1D(ch, 5, padding="same", name="stem")(x))
    for i in range(cfg["blocks"]):
        # residual pair of convolutions, then halve the time axis (receptive field ~1.5 s at the top)
        y = Gelu(name=f"b{i}_a_act")(layers.Conv1D(ch, 3, padding="same", name=f"b{i}_a")(x))
        y = layers.Conv1D(ch, 3, padding="same", name=f"b{i}_b")(y)
        x = Gelu(name=f"b{i}_act")(layers.Add(name=f"b{i}_add")([x, y]))
        x = layers.MaxPooling1D(2, padding="same", name=f"b{i}_pool")(x)
    x = Gelu(name="top_act")(layers.Conv1D(2 * ch, 3, padding="same", name="top")(x))
    x = MeanStdPool(name="pool")(x)
    x = Gelu(name="fc_act")(layers.Dense(2 * ch, name="fc")(x))
    out = layers.Dense(cfg["dim"], name="embedding")(x)
    return keras.Model(inp, out, name="embed_net")


def nt_xent(z_a, z_b, temperature: float):
    """Contrastive loss over a batch of B pairs: each view must pick its partner among the other 2B - 1."""
    z = ops.concatenate([z_a, z_b], axis=0)
    z = z / ops.sqrt(ops.sum(ops.square(z), axis=-1, keepdims=True) + 1e-12)
    n = ops.shape(z)[0]
    b = n // 2
    sim = ops.matmul(z, ops.transpose(z)) / temperature
    sim = sim - 1e9 * ops.eye(n, dtype=sim.dtype)  # a view is not its own positive
    target = ops.concatenate([ops.arange(b, n), ops.arange(0, b)], axis=0)
    logp = sim - ops.logsumexp(sim, axis=-1, keepdims=True)
    return -ops.mean(ops.take_along_axis(logp, target[:, None], axis=1))


def masked_label_loss(logits, labels):
    """Cross-entropy over the views whose track has a label (label -1: none, no loss)."""
    mask = ops.cast(labels >= 0, logits.dtype)
    ce = ops.sparse_categorical_crossentropy(ops.maximum(labels, 0), logits, from_logits=True)
    return ops.sum(ce * mask) / ops.maximum(ops.sum(mask), 1.0)


class ContrastiveModel(keras.Model):
    """Wraps the embedding net for model.fit: input (B, 2, T, F) pairs of views, output the loss per batch.

    With n_classes, a linear head on the unit embedding also predicts each view's label (y: (B,) ints, -1 for
    an unlabelled track), weighted by label_weight: the head is dropped at export, its pull on the embedding
    stays (tracks of one label gather, which is what classify, cluster and similar read)."""

    def __init__(self, net: keras.Model, temperature: float, n_classes: int = 0, label_weight: float = 0.0, **kw):
        super().__init__(**kw)
        self.net, self.temperature, self.label_weight = net, temperature, label_weight
        self.head = layers.Dense(n_classes, name="label_head") if n_classes and label_weight else None

    def call(self, pairs):
        shape = ops.shape(pairs)
        flat = ops.reshape(pairs, (-1, shape[2], shape[3]))
        z = ops.reshape(self.net(flat), (shape[0], 2, self.net.output_shape[-1]))
        if self.head is None:
            return z
        unit = z / ops.sqrt(ops.sum(ops.square(z), axis=-1, keepdims=True) + 1e-12)
        return z, self.head(unit)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if self.head is None:
            return nt_xent(y_pred[:, 0], y_pred[:, 1], self.temperature)
        z, logits = y_pred
        labels = ops.reshape(ops.repeat(ops.cast(y, "int32")[:, None], 2, axis=1), (-1,))
        logits = ops.reshape(logits, (-1, ops.shape(logits)[-1]))
        return (nt_xent(z[:, 0], z[:, 1], self.temperature)
                + self.label_weight * masked_label_loss(logits, labels))
