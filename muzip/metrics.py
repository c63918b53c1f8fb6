"""Objective quality metrics for codec evaluation (numpy/scipy/librosa only; no TensorFlow).

All functions take a reference and a degraded signal, mono (n,) or multichannel (n, ch), at the same
sample rate and already time-aligned (use :func:`align` first when the codec adds delay). Signals of
different lengths are compared over the common leading part.
"""

import warnings

import librosa
import numpy as np
from scipy import signal as sps

#: Multi-scale mel distance settings of the DAC paper (descript-audio-codec, conf/base.yml).
MEL_WINDOW_LENGTHS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_N_MELS = (5, 10, 20, 40, 80, 160, 320)
MEL_CLAMP_EPS = 1e-5
MEL_POW = 2.0

_EPS = 1e-20


def _pair(ref, deg):
    """float64 (n, ch) arrays trimmed to the common length; shapes must agree in channels."""
    ref = np.asarray(ref, dtype=np.float64)
    deg = np.asarray(deg, dtype=np.float64)
    if ref.ndim == 1:
        ref = ref[:, None]
    if deg.ndim == 1:
        deg = deg[:, None]
    if ref.ndim != 2 or deg.ndim != 2 or ref.shape[1] != deg.shape[1]:
        raise ValueError(f"incompatible shapes {ref.shape} and {deg.shape}")
    n = min(len(ref), len(deg))
    if n == 0:
        raise ValueError("empty signal")
    return ref[:n], deg[:n]


def snr_db(ref, deg) -> float:
    """Signal-to-noise ratio in dB: 10*log10(sum(ref^2) / sum((ref - deg)^2)), summed over all
    samples and channels together. +inf when the signals are identical. Higher is better."""
    ref, deg = _pair(ref, deg)
    noise = float(np.sum((ref - deg) ** 2))
    power = float(np.sum(ref ** 2))
    if noise == 0.0:
        return float("inf")
    return float(10.0 * np.log10(max(power, _EPS) / noise))


def si_sdr_db(ref, deg) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), per channel then averaged over channels:
    both signals mean-removed, target = a*ref with a = <deg, ref>/<ref, ref>,
    SI-SDR = 10*log10(|target|^2 / |deg - target|^2). +inf for an exact scaled copy. Higher is better."""
    ref, deg = _pair(ref, deg)
    ref = ref - ref.mean(axis=0)
    deg = deg - deg.mean(axis=0)
    values = []
    for c in range(ref.shape[1]):
        r, d = ref[:, c], deg[:, c]
        a = float(np.dot(d, r) / max(np.dot(r, r), _EPS))
        target = a * r
        err = float(np.sum((d - target) ** 2))
        values.append(float("inf") if err == 0.0 else 10.0 * np.log10(max(float(np.sum(target ** 2)), _EPS) / err))
    return float(np.mean(values))


def log_spectral_distance(ref, deg, sr, n_fft=2048, hop=512) -> float:
    """Log-spectral distance in dB: STFT (hann, n_fft 2048, hop 512, centred, reflect padding),
    power P = max(|X|^2, 1e-10), per frame sqrt(mean_f (10*log10 P_ref - 10*log10 P_deg)^2),
    mean over frames, then averaged over channels. 0 for identical signals. Lower is better.
    ``sr`` is accepted for a uniform signature (the value does not depend on it)."""
    del sr
    ref, deg = _pair(ref, deg)
    values = []
    for c in range(ref.shape[1]):
        specs = [np.abs(librosa.stft(x[:, c], n_fft=n_fft, hop_length=hop, window="hann", center=True, pad_mode="reflect")) ** 2
                 for x in (ref, deg)]
        lr, ld = (10.0 * np.log10(np.maximum(s, 1e-10)) for s in specs)
        values.append(float(np.mean(np.sqrt(np.mean((lr - ld) ** 2, axis=0)))))
    return float(np.mean(values))


def _mel_basis(sr, n_fft, n_mels):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa warns about empty filters for tiny n_fft
        return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=0.0, fmax=sr / 2.0)


def mel_distance(ref, deg, sr) -> float:
    """Multi-scale mel distance, as DAC's MelSpectrogramLoss with the DAC training configuration.

    For each of 7 scales (window w, n_mels m) in zip([32, 64, 128, 256, 512, 1024, 2048],
    [5, 10, 20, 40, 80, 160, 320]), per channel:

    * S = |STFT(x)|: n_fft = w, hop = w // 4, periodic hann window of length w, centred frames with
      reflect padding (torch.stft(center=True) as in audiotools), magnitude (not power);
    * M = B @ S with B = librosa.filters.mel(sr=sr, n_fft=w, n_mels=m, fmin=0, fmax=sr/2)
      (librosa defaults: Slaney mel scale, Slaney area normalisation);
    * L = log10(clamp(M, min=1e-5) ** 2);
    * scale term = mean over all (mel band, frame) cells of |L_ref - L_deg| (an L1 loss).

    The distance is the sum of the 7 scale terms (log_weight 1, mag_weight 0, clamp_eps 1e-5, pow 2),
    averaged over channels for (n, ch) input. 0 for identical signals. Lower is better. Absolute values
    depend on the sample rate; compare only at the same rate (the benchmark uses 44.1 kHz).
    """
    ref, deg = _pair(ref, deg)
    total = np.zeros(ref.shape[1])
    for w, m in zip(MEL_WINDOW_LENGTHS, MEL_N_MELS):
        basis = _mel_basis(sr, w, m)
        for c in range(ref.shape[1]):
            logs = []
            for x in (ref[:, c], deg[:, c]):
                mag = np.abs(librosa.stft(x, n_fft=w, hop_length=w // 4, window="hann", center=True, pad_mode="reflect"))
                mel = basis @ mag
                logs.append(MEL_POW * np.log10(np.maximum(mel, MEL_CLAMP_EPS)))
            total[c] += float(np.mean(np.abs(logs[0] - logs[1])))
    return float(np.mean(total))


def find_delay(ref, deg, max_delay: int) -> int:
    """Lag d in [-max_delay, max_delay] maximising sum_n ref[n] * deg[n + d] (channels summed to mono).
    d > 0 means deg lags ref by d samples (deg[n + d] ~ ref[n])."""
    r = np.asarray(ref, dtype=np.float64)
    d = np.asarray(deg, dtype=np.float64)
    r = r.mean(axis=1) if r.ndim == 2 else r
    d = d.mean(axis=1) if d.ndim == 2 else d
    max_delay = int(max_delay)
    if max_delay <= 0 or len(r) == 0 or len(d) == 0:
        return 0
    corr = sps.correlate(d, r, mode="full", method="fft")  # corr[k + len(r) - 1] = sum_n d[n + k] r[n]
    zero = len(r) - 1
    lo, hi = max(-max_delay, -(len(r) - 1)), min(max_delay, len(d) - 1)
    window = corr[zero + lo: zero + hi + 1]
    return int(lo + int(np.argmax(window)))


def align(ref, deg, max_delay: int):
    """Compensate a constant delay of deg against ref (found by cross-correlation within +-max_delay
    samples) and trim both to the same length. Returns (ref_aligned, deg_aligned, delay) with delay as
    in :func:`find_delay` (positive: deg was late by that many samples)."""
    ref = np.asarray(ref)
    deg = np.asarray(deg)
    delay = find_delay(ref, deg, max_delay)
    if delay > 0:
        deg = deg[delay:]
    elif delay < 0:
        ref = ref[-delay:]
    n = min(len(ref), len(deg))
    return ref[:n], deg[:n], delay
