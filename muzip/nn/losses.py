"""GAN and reconstruction losses in keras.ops (any backend)."""

import numpy as np
from keras import ops

# DAC's multi-scale mel settings (muzip.metrics.mel_distance measures with all seven; the two smallest
# windows add little gradient and many frames, so training uses the five largest by default).
MEL_SCALES = ((128, 20), (256, 40), (512, 80), (1024, 160), (2048, 320))


def lsgan_discriminator_loss(real_logits, fake_logits):
    return sum(ops.mean((1.0 - r) ** 2) + ops.mean(f ** 2) for r, f in zip(real_logits, fake_logits)) / len(real_logits)


def lsgan_generator_loss(fake_logits):
    return sum(ops.mean((1.0 - f) ** 2) for f in fake_logits) / len(fake_logits)


def feature_matching_loss(real_feats, fake_feats):
    return sum(ops.mean(ops.abs(ops.stop_gradient(r) - f)) for r, f in zip(real_feats, fake_feats)) / len(real_feats)


class MultiScaleMelLoss:
    """L1 between log10(clamp(mel, 1e-5)^2) spectrograms at several window sizes, summed over scales
    (as muzip.metrics.mel_distance and DAC's MelSpectrogramLoss)."""

    def __init__(self, sample_rate=44100, scales=MEL_SCALES):
        import librosa
        self.scales = [(w, ops.convert_to_tensor(
            librosa.filters.mel(sr=sample_rate, n_fft=w, n_mels=m, fmin=0.0, fmax=sample_rate / 2).T.astype(np.float32)))
            for w, m in scales]

    def __call__(self, y, y_hat):
        """y, y_hat: (B, T, 1) waveforms."""
        total = 0.0
        for w, basis in self.scales:
            logs = []
            for x in (y, y_hat):
                re, im = ops.stft(x[..., 0], w, w // 4, w, window="hann", center=True)
                mel = ops.matmul(ops.sqrt(re * re + im * im + 1e-12), basis)
                logs.append(2.0 * ops.log10(ops.maximum(mel, 1e-5)))
            total = total + ops.mean(ops.abs(logs[0] - logs[1]))
        return total
