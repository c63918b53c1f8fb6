"""Objective quality metrics for codec evaluation (numpy/scipy/librosa only; no TensorFlow).

All functions take a reference and a degraded signal, mono (n,) or multichannel (n, ch), at the same
sample rate and already time-aligned (use :func:`align` first when the codec adds delay). Signals of
different lengths are compared over the common leading part.

These whole-array functions are the definitions. :class:`MetricStream` accumulates the same values block
by block in bounded memory (``muzip eval``); tests hold it to them on real music.
"""

import warnings

import librosa
import numpy as np
from scipy import signal as sps
from scipy import sparse

#: Multi-scale mel distance settings of the DAC paper (descript-audio-codec, conf/base.yml).
MEL_WINDOW_LENGTHS = (32, 64, 128, 256, 512, 1024, 2048)
MEL_N_MELS = (5, 10, 20, 40, 80, 160, 320)
MEL_CLAMP_EPS = 1e-5
MEL_POW = 2.0

_EPS = 1e-20


def paired(ref, deg):
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
    ref, deg = paired(ref, deg)
    noise = float(np.sum((ref - deg) ** 2))
    power = float(np.sum(ref ** 2))
    if noise == 0.0:
        return float("inf")
    return float(10.0 * np.log10(max(power, _EPS) / noise))


def si_sdr_db(ref, deg) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), per channel then averaged over channels:
    both signals mean-removed, target = a*ref with a = <deg, ref>/<ref, ref>,
    SI-SDR = 10*log10(|target|^2 / |deg - target|^2). +inf for an exact scaled copy. Higher is better."""
    ref, deg = paired(ref, deg)
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
    ref, deg = paired(ref, deg)
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
    ref, deg = paired(ref, deg)
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


def find_delay(ref, deg, max_delay: int, either_polarity: bool = False):
    """Lag d in [-max_delay, max_delay] maximising sum_n ref[n] * deg[n + d] (channels summed to mono).
    d > 0 means deg lags ref by d samples (deg[n + d] ~ ref[n]). either_polarity: maximise its magnitude
    instead, and return (d, +1 or -1): a copy with its polarity inverted (inaudible) lines up too."""
    r, d = np.asarray(ref), np.asarray(deg)
    max_delay = int(max_delay)
    if max_delay <= 0 or len(r) == 0 or len(d) == 0:
        return (0, 1) if either_polarity else 0

    def mono(x, a, b):  # float64 mono of x[a:b], zeros outside x
        seg = np.asarray(x[max(a, 0):max(b, 0)], np.float64)
        seg = seg.mean(axis=1) if seg.ndim == 2 else seg
        return np.pad(seg, (max(0, -a), b - a - len(seg) - max(0, -a)))

    # block by block (FFTs of a block plus the lag range), so memory does not grow with the length:
    # corr[j] = sum over the block's n of d[n + j - max_delay] r[n]
    corr = np.zeros(2 * max_delay + 1)
    block = max(1 << 16, 4 * max_delay)
    for s in range(0, len(r), block):
        rb = mono(r, s, min(s + block, len(r)))
        corr += sps.correlate(mono(d, s - max_delay, s + len(rb) + max_delay), rb, mode="valid", method="fft")
    lo, hi = max(-max_delay, -(len(r) - 1)), min(max_delay, len(d) - 1)
    window = corr[max_delay + lo: max_delay + hi + 1]
    if not either_polarity:
        return int(lo + int(np.argmax(window)))
    k = int(np.argmax(np.abs(window)))
    return int(lo + k), (-1 if window[k] < 0 else 1)


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


# -- streaming: the same metrics accumulated block by block, in memory independent of the length ----


def take_frames(buf: np.ndarray, n_fft: int, hop: int):
    """(every whole frame of buf (C, n) at hop, as (C, k, n_fft) views; the samples left for the next frame)."""
    if buf.shape[1] < n_fft:
        return np.zeros((buf.shape[0], 0, n_fft)), buf
    k = (buf.shape[1] - n_fft) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(buf[:, :(k - 1) * hop + n_fft], n_fft, axis=-1)[:, ::hop]
    return frames, buf[:, k * hop:]


class StftFramer:
    """Frames of a centred STFT (librosa.stft(center=True, pad_mode="reflect")) of a signal that arrives
    in blocks of any size: (C, n) in, (C, k, n_fft) frames out, 1 + n_total // hop frames in all."""

    def __init__(self, n_fft: int, hop: int):
        # the kept tail (>= n_fft - hop samples) must hold the n_fft//2 + 1 samples the right edge reflects
        assert n_fft - hop >= n_fft // 2 + 1
        self.n_fft, self.hop, self.pad = n_fft, hop, n_fft // 2
        self._buf = None  # padded-signal samples not yet framed, once the left edge is known
        self._head, self._n = [], 0

    def push(self, x: np.ndarray) -> np.ndarray:
        if self._buf is None:  # wait for pad + 1 samples: the left edge reflects x[1..pad]
            self._head.append(x)
            self._n += x.shape[1]
            if self._n <= self.pad:
                return np.zeros((x.shape[0], 0, self.n_fft))
            raw = np.concatenate(self._head, axis=1)
            self._head = None
            self._buf = np.concatenate([raw[:, self.pad:0:-1], raw], axis=1)
        else:
            self._buf = np.concatenate([self._buf, x], axis=1)
        return self._take()

    def finish(self, channels: int) -> np.ndarray:
        if self._buf is None:  # shorter than pad + 1: librosa pads the whole signal (repeated reflection)
            if self._n == 0:
                return np.zeros((channels, 0, self.n_fft))
            self._buf = np.pad(np.concatenate(self._head, axis=1), ((0, 0), (self.pad, self.pad)), mode="reflect")
        else:
            self._buf = np.concatenate([self._buf, self._buf[:, -2:-self.pad - 2:-1]], axis=1)
        return self._take()

    def _take(self):
        frames, self._buf = take_frames(self._buf, self.n_fft, self.hop)
        return frames


class MetricStream:
    """snr_db, si_sdr_db, log_spectral_distance and mel_distance of aligned (ref, deg) blocks fed in order;
    finish() gives the values the whole-signal functions give for the concatenation (to rounding).

    SI-SDR needs the means and the scale a over the whole signal; it accumulates plain sums of the
    signal and of the residual e = d - a0*r for a provisional a0 (from the first block), from which the
    exact centred terms follow without the cancellation of sum(d^2) - <d,r>^2/<r,r> near a perfect copy.
    The 2048/512 STFT of the LSD is also the largest mel scale's; ``on_spectrum(ref_X, deg_X)``, if given,
    receives those spectra, (ch, k, 1025) complex, per chunk (the spectrogram plot)."""

    CHUNK = 1 << 15  # samples per internal step: bounds the framed copies (~20 MB at the 32-sample scale)

    def __init__(self, sr: int, channels: int, on_spectrum=None):
        self.ch, self.on_spectrum = channels, on_spectrum
        self.n = 0
        self._sums = None  # SNR and SI-SDR sums, float64 per channel
        self._a0 = self._c0 = None
        scales = {(w, w // 4): m for w, m in zip(MEL_WINDOW_LENGTHS, MEL_N_MELS)}
        self._lsd_key = (2048, 512)
        scales.setdefault(self._lsd_key, 0)
        # one STFT per (n_fft, hop): framer, periodic hann window (librosa's), mel basis^T or None. The
        # basis is sparse (each bin feeds at most 2 bands): no BLAS call, whose idle threads would spin
        # for more CPU time than these small products take, and ~m/2 times fewer operations
        self._stfts = {key: (StftFramer(*key), sps.get_window("hann", key[0], fftbins=True),
                             sparse.csr_array(_mel_basis(sr, key[0], m).astype(np.float64).T) if m else None)
                       for key, m in scales.items()}
        self._mel = {key: np.zeros(channels) for key in self._stfts}
        self._mel_count = dict.fromkeys(self._stfts, 0)
        self._lsd, self._lsd_frames = np.zeros(channels), 0

    def update(self, ref, deg) -> None:
        """Feed the next aligned samples: (n,) or (n, ch) each, the same shape."""
        ref, deg = (np.asarray(x, np.float64).reshape(len(x), -1) for x in (ref, deg))
        if ref.shape != deg.shape or ref.shape[1] != self.ch:
            raise ValueError(f"incompatible blocks {ref.shape} and {deg.shape}")
        if len(ref) == 0:
            return
        if self._a0 is None:
            self._c0 = (ref.mean(axis=0), deg.mean(axis=0))
            u, v = ref - self._c0[0], deg - self._c0[1]
            self._a0 = np.sum(u * v, axis=0) / np.maximum(np.sum(u * u, axis=0), _EPS)
        for i in range(0, len(ref), self.CHUNK):
            r, d = ref[i:i + self.CHUNK], deg[i:i + self.CHUNK]
            self._time_sums(r, d)
            x = np.concatenate([r, d], axis=1).T.copy()  # channel-major: frames are contiguous rows
            for key, (framer, win, basis) in self._stfts.items():
                self._spectral(key, framer.push(x), win, basis)

    def _time_sums(self, r, d):
        u, v = r - self._c0[0], d - self._c0[1]
        e = v - self._a0 * u
        s = np.stack([np.sum(r * r, axis=0), np.sum((r - d) ** 2, axis=0), u.sum(axis=0), np.sum(u * u, axis=0),
                      e.sum(axis=0), np.sum(e * e, axis=0), np.sum(e * u, axis=0)])
        self._sums = s if self._sums is None else self._sums + s
        self.n += len(r)

    def _spectral(self, key, frames, win, basis):
        k = frames.shape[1]
        if k == 0:
            return
        ch = self.ch
        # ref and deg in separate, identically shaped FFT and matmul calls: identical inputs give
        # bit-identical outputs, so identical signals score exactly 0
        spec = [np.fft.rfft(frames[:ch] * win, axis=-1), np.fft.rfft(frames[ch:] * win, axis=-1)]
        mags = [np.abs(s) for s in spec]
        if basis is not None:
            mel = [m.reshape(-1, m.shape[-1]) @ basis for m in mags]
            ratio = np.maximum(mel[0], MEL_CLAMP_EPS) / np.maximum(mel[1], MEL_CLAMP_EPS)
            self._mel[key] += MEL_POW * np.abs(np.log10(ratio)).reshape(ch, -1).sum(axis=1)
            self._mel_count[key] += k * basis.shape[1]
        if key == self._lsd_key:
            ratio = np.maximum(mags[0] ** 2, 1e-10) / np.maximum(mags[1] ** 2, 1e-10)
            self._lsd += np.sqrt(np.mean((10.0 * np.log10(ratio)) ** 2, axis=-1)).sum(axis=1)
            self._lsd_frames += k
            if self.on_spectrum is not None:
                self.on_spectrum(*spec)

    def finish(self) -> dict:
        """The four metrics (keys as in evaluate's result). ValueError if nothing was fed."""
        if self.n == 0:
            raise ValueError("empty signal")
        for key, (framer, win, basis) in self._stfts.items():
            self._spectral(key, framer.finish(2 * self.ch), win, basis)
        power, noise, su, suu, se, see, seu = self._sums
        n = self.n
        rr = suu - su * su / n  # centred sums: sum(r'^2), sum(e'^2), sum(e' r')
        ee = see - se * se / n
        er = seu - se * su / n
        a = (er + self._a0 * rr) / np.maximum(rr, _EPS)  # <d', r'> / <r', r'>
        delta = a - self._a0
        err = ee - 2 * delta * er + delta * delta * rr  # sum((d' - a r')^2)
        sdr = [float("inf") if e <= 0.0 else 10.0 * np.log10(max(t, _EPS) / e) for t, e in zip(a * a * rr, err)]
        noise = float(noise.sum())
        mel = sum(self._mel[k] / self._mel_count[k] for k in self._stfts if self._stfts[k][2] is not None)
        return {"mel_distance": float(np.mean(mel)), "si_sdr_db": float(np.mean(sdr)),
                "lsd_db": float(np.mean(self._lsd / self._lsd_frames)),
                "snr_db": float("inf") if noise == 0.0 else float(10.0 * np.log10(max(float(power.sum()), _EPS) / noise))}
