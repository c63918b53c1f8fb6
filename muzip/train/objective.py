"""The training objective of muzip's codec transform, shared by scripts/models/train.py and `muzip train`.

A keras.Model whose compute_loss is the rate-distortion loss: multi-scale log-mel L1 + log-STFT L1 +
5 x waveform L1 + lambda x bits per sample (a Laplace rate proxy with additive uniform noise), the
decoder seeing straight-through rounding at a quantizer step drawn per example. Written in keras.ops
only, so KERAS_BACKEND=jax trains the same code on a GPU.
"""

from __future__ import annotations

import numpy as np


def build_training_model(cfg, lam):
    import keras
    from keras import ops

    import librosa

    from ..nn.codec_net import build_decoder, build_encoder

    mel_scales = [(64, 10), (256, 40), (1024, 80), (2048, 160)]
    mel_banks = {w: librosa.filters.mel(sr=cfg["model_rate"], n_fft=w, n_mels=m).T.astype("float32") for w, m in mel_scales}

    def log_spectra(x, w):
        re, im = ops.stft(x, w, w // 4, w, window="hann", center=True)
        mag = ops.sqrt(re * re + im * im + 1e-12)
        mel = ops.matmul(mag, ops.convert_to_tensor(mel_banks[w]))
        return ops.log10(ops.maximum(mag, 1e-5)), ops.log10(ops.maximum(mel, 1e-5))

    class TrainingModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = build_encoder(cfg)
            self.decoder = build_decoder(cfg)
            self.log_scale = self.add_weight(shape=(cfg["latent_channels"],), initializer=keras.initializers.Constant(-3.0), name="rate_log_scale")
            self.seeds = keras.random.SeedGenerator(1)

        def call(self, inputs, training=False):
            x, log_step = inputs
            step = ops.exp(log_step)  # (B, 1, 1)
            y = self.encoder(x)
            u = y / step
            # Rate: discretised Laplace mass around the noisy latent (the differentiable proxy of rounding).
            noisy = u + keras.random.uniform(ops.shape(u), -0.5, 0.5, seed=self.seeds)
            scale = ops.exp(self.log_scale) / step
            def cdf(t):
                return 0.5 + 0.5 * ops.sign(t) * (1.0 - ops.exp(-ops.abs(t) / scale))
            mass = ops.maximum(cdf(noisy + 0.5) - cdf(noisy - 0.5), 1e-9)
            bits = -ops.sum(ops.log2(mass), axis=(1, 2))
            # Decoder sees true rounding, gradients pass straight through.
            y_hat = (u + ops.stop_gradient(ops.round(u) - u)) * step
            k = cfg.get("noise_channels", 0)
            noise = keras.random.uniform(ops.shape(y_hat)[:2] + (k,), -1.0, 1.0, seed=self.seeds)
            return self.decoder([y_hat, noise]), bits

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            audio = x[0][:, :, 0]
            decoded, bits = y_pred
            decoded = decoded[:, :, 0]
            dist = 5.0 * ops.mean(ops.abs(decoded - audio))
            for w, _ in mel_scales:
                (lin_a, mel_a), (lin_d, mel_d) = log_spectra(audio, w), log_spectra(decoded, w)
                dist = dist + ops.mean(ops.abs(mel_a - mel_d))
                if w >= 512:
                    dist = dist + 0.5 * ops.mean(ops.abs(lin_a - lin_d))
            rate = ops.mean(bits) / ops.cast(ops.shape(audio)[1], "float32")  # bits per sample
            return dist + lam * rate

    return TrainingModel()


def rd_measure(model, cfg, audio, levels=(22, 30)) -> list[tuple[int, float, float]]:
    """[(level, bits per sample, mel distance)] at fixed quantizer levels on held-out audio (B, T, 1).

    Bits are the empirical per-channel entropy of the quantized latents (what integer tables would
    achieve), so a change that merely shrinks latents shows up as a move along the curve, not a gain."""
    from ..metrics import mel_distance
    from ..codec.model import decoder_noise
    from ..codec.quantizer import level_steps

    y = np.asarray(model.encoder(audio, training=False))
    steps = level_steps(cfg)
    points = []
    for level in levels:
        q = np.round(y / steps[level]).astype(np.int64)
        bits = 0.0
        for c in range(q.shape[-1]):
            _, counts = np.unique(q[..., c], return_counts=True)
            p = counts / counts.sum()
            bits -= float((counts * np.log2(p)).sum())
        noise = np.stack([decoder_noise(cfg, 0, y.shape[1], i) for i in range(len(y))])
        decoded = np.asarray(model.decoder([(q * steps[level]).astype("float32"), noise], training=False))
        n = min(decoded.shape[1], audio.shape[1])
        mel = np.mean([mel_distance(audio[i, :n, 0], decoded[i, :n, 0], cfg["model_rate"]) for i in range(len(audio))])
        points.append((int(level), bits / audio.size, float(mel)))
    return points


def rd_points(model, cfg, audio, levels=(22, 30)) -> str:
    """rd_measure as the log line scripts/models/train.py writes (and export --snapshot best parses)."""
    return " ".join(f"L{lv}: {b:.3f} b/smp mel {m:.3f}" for lv, b, m in rd_measure(model, cfg, audio, levels))
