"""The restorer network (Keras 3, keras.ops only): lossy audio -> restored audio, one channel at a time.

    audio --MDCT (fixed, hop H)--> coefficients --weight, compand--> x
    [x, condition, noise z] --Conv1x1--> h --dilated ResBlocks--> h --Conv1x1 (starts at 0)--> r
    x + r --expand, unweight--> coefficients --inverse MDCT--> audio

The generator predicts a residual in the companded MDCT domain, so before training it returns its
input exactly (restored == input): training can only move it away from "no change" when the losses
say that is better. The condition (2 channels per frame) says what the input is: log2(kbps / 32) and
the detected bandwidth / (rate / 2). The noise z (Z channels per frame) makes it stochastic
(Lattner & Nistal); z = 0 gives the deterministic variant.
"""

import keras

from ..nn.layers import Analysis, ChannelScale, Compand, DilatedResBlock, Gelu, Synthesis
from .config import DEFAULT_CONFIG, receptive_frames  # noqa: F401 - one place for both

def build_restorer(cfg: dict) -> keras.Model:
    """Inputs: audio (B, T, 1) with T % hop == 0; cond (B, T/hop + 1, 2); noise (B, T/hop + 1, Z)."""
    hop, hidden = cfg["hop"], cfg["hidden"]
    audio = keras.Input(shape=(None, 1), name="audio")
    cond = keras.Input(shape=(None, cfg["cond_channels"]), name="cond")
    noise = keras.Input(shape=(None, cfg["noise_channels"]), name="noise")
    analysis = Analysis(hop, hop, name="analysis")
    analysis.trainable = False
    x = Compand(cfg["compand_alpha"], name="compand")(ChannelScale(name="weight")(analysis(audio)))
    h = keras.layers.Conv1D(hidden, 1, name="proj_in")(keras.layers.Concatenate()([x, cond, noise]))
    side = keras.layers.Concatenate()([cond, noise])
    for i, d in enumerate(cfg["dilations"]):
        h = DilatedResBlock(hidden, hidden, cfg["kernel_size"], d, name=f"block{i}")(h, side)
    r = keras.layers.Conv1D(hop, 1, kernel_initializer="zeros", name="proj_out")(Gelu(name="gelu_out")(h))
    y = keras.layers.Add()([x, r])
    y = ChannelScale(inverse=True, name="unweight")(Compand(cfg["compand_alpha"], inverse=True, name="expand")(y))
    synthesis = Synthesis(hop, hop, name="synthesis")
    synthesis.trainable = False
    return keras.Model([audio, cond, noise], synthesis(y), name="restorer")
