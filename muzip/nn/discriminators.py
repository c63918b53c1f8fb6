"""GAN critics on waveforms (B, T, 1): multi-period (HiFi-GAN) and multi-resolution STFT (UnivNet/DAC style).

Each returns a list, one entry per sub-discriminator, of (logits, [feature maps]) for feature matching.
Channel counts are small on purpose: muzip trains on CPUs."""

import keras
from keras import ops


def _leaky(x):
    return ops.leaky_relu(x, negative_slope=0.1)


@keras.saving.register_keras_serializable(package="muzip")
class PeriodDiscriminator(keras.layers.Layer):
    """Folds the waveform into (T/p, p) and looks along time with (k, 1) kernels: periodic structure."""

    def __init__(self, period, channels=(8, 16, 32, 64), **kwargs):
        super().__init__(**kwargs)
        self.period, self.channels = period, tuple(channels)
        self.convs = [keras.layers.Conv2D(c, (5, 1), strides=(3, 1), padding="same", name=f"conv{i}")
                      for i, c in enumerate(self.channels)]
        self.post = keras.layers.Conv2D(1, (3, 1), padding="same", name="post")

    def call(self, x):
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        pad = (-t) % self.period
        x = ops.pad(x, [[0, 0], [0, pad], [0, 0]], mode="reflect")
        h = ops.reshape(x, (b, (t + pad) // self.period, self.period, 1))
        feats = []
        for conv in self.convs:
            h = _leaky(conv(h))
            feats.append(h)
        return self.post(h), feats

    def get_config(self):
        return {**super().get_config(), "period": self.period, "channels": list(self.channels)}


@keras.saving.register_keras_serializable(package="muzip")
class STFTDiscriminator(keras.layers.Layer):
    """2D convolutions over the log-magnitude spectrogram at one resolution."""

    def __init__(self, n_fft, channels=16, **kwargs):
        super().__init__(**kwargs)
        self.n_fft, self.ch = n_fft, channels
        self.convs = [keras.layers.Conv2D(channels, (3, 9), padding="same", name="conv0")] + [
            keras.layers.Conv2D(channels, (3, 9), strides=(1, 2), padding="same", name=f"conv{i}") for i in (1, 2, 3)] + [
            keras.layers.Conv2D(channels, (3, 3), padding="same", name="conv4")]
        self.post = keras.layers.Conv2D(1, (3, 3), padding="same", name="post")

    def call(self, x):
        re, im = ops.stft(x[..., 0], self.n_fft, self.n_fft // 4, self.n_fft, window="hann", center=True)
        h = ops.log(ops.sqrt(re * re + im * im + 1e-9) + 1e-5)[..., None]  # (B, frames, bins, 1)
        feats = []
        for conv in self.convs:
            h = _leaky(conv(h))
            feats.append(h)
        return self.post(h), feats

    def get_config(self):
        return {**super().get_config(), "n_fft": self.n_fft, "channels": self.ch}


def build_discriminator(periods=(2, 3, 5, 7), ffts=(512, 1024, 2048), name="discriminator") -> keras.Model:
    """All critics as one model: waveform (B, T, 1) -> flat list [logits_0, feats_0..., logits_1, ...]."""
    x = keras.Input(shape=(None, 1), name="audio")
    subs = [PeriodDiscriminator(p, name=f"mpd{p}") for p in periods] + [STFTDiscriminator(n, name=f"stft{n}") for n in ffts]
    outs = [sub(x) for sub in subs]
    model = keras.Model(x, [o[0] for o in outs] + [f for o in outs for f in o[1]], name=name)
    model.num_critics = len(subs)
    return model


def split_outputs(outputs, num_critics: int):
    """The flat output list of build_discriminator -> (logits list, feature-map list)."""
    return list(outputs[:num_critics]), list(outputs[num_critics:])
