"""Measures a listener would check: pre-echo and attack sharpness, noise before music after silence,
fine low-frequency spectral detail and tonality (numpy, with muzip.metrics' STFT framing; definitions in docs/EVAL.md).

ViSQOL and the mel distance reward band energies restored with noise and barely see smeared attacks; these
look at what they miss. All take a reference and a degraded signal, (n,) or (n, channels), at the same rate
and already aligned (signals of different lengths are compared over the common leading part, as in
:mod:`muzip.metrics`). Channels are combined by averaging their *powers* (per frame, or per STFT bin), never
by a mono mix, so out-of-phase content does not cancel; a sample is digital silence when it is below 1e-5 in
every channel.

:class:`ListeningStream` computes all of them in one pass over blocks; the functions are that stream fed the
whole signal. The stream keeps framed copies of at most :attr:`ListeningStream.CHUNK` samples and only the
envelope frames a later attack can look back to: about 12 MB and 1.1 CPU s per minute of stereo 44.1 kHz
audio, whatever the length (the functions hold the whole arrays they are given, as float64).
"""

import numpy as np

from .metrics import paired, take_frames

FLOOR_DB = -100.0                # levels are floored here (dB re full scale), so digital silence is finite
_FLOOR = 10.0 ** (FLOOR_DB / 10.0)
SILENCE = 1e-5                   # |x| below this in every channel: digital silence
HOP_44K = 64                     # envelope hop at 44.1 kHz (1.45 ms); scaled with the sample rate
HIGH_BAND = (5000.0, 16000.0)    # attacks are found and measured here (clipped to below Nyquist)
ATTACK_RISE_DB = 12.0            # rise over the minimum of the previous PRE_MS that makes an attack
ATTACK_MIN_DB = -60.0            # ... and the band level it must reach
PRE_MS, GUARD_MS, POST_MS = 20.0, 4.0, 4.0   # pre window [t-20, t-4] ms; peak over [t, t+4] ms
REFRACTORY_MS = 50.0             # an attack at least this long after the previous one
MIN_GAP_MS = 100.0               # digital silence at least this long counts as a gap
ONSET_DB = -60.0                 # deg level (full band) above which the silence is broken
LSD_FMAX = 8000.0
TONAL_BAND = (2000.0, 8000.0)


def envelope_hop(sr) -> int:
    """Samples per envelope hop: 64 at 44.1 kHz (1.45 ms), scaled with the rate."""
    return max(1, int(round(HOP_44K * sr / 44100.0)))


def fine_n_fft(sr) -> int:
    """The fine STFT's size: the next power of two >= sr / 11 (about 11 Hz per bin; 4096 at 44.1 kHz)."""
    return 1 << int(np.ceil(np.log2(sr / 11.0)))


def _hann(n):
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic (librosa's and scipy's fftbins)


def _db(power):
    return 10.0 * np.log10(np.maximum(power, _FLOOR))


class _Framer:
    """Centred frames (n_fft // 2 zeros padded on each side) of a (ch, n) signal arriving in blocks:
    (ch, k, n_fft) out per push, 1 + n_total // hop frames in all (n_fft even)."""

    def __init__(self, n_fft, hop, channels):
        self.n_fft, self.hop = n_fft, hop
        self._buf = np.zeros((channels, n_fft // 2))

    def push(self, x):
        self._buf = np.concatenate([self._buf, x], axis=1)
        return self._take()

    def finish(self):
        return self.push(np.zeros((self._buf.shape[0], self.n_fft // 2)))

    def _take(self):
        frames, self._buf = take_frames(self._buf, self.n_fft, self.hop)
        return frames


class ListeningStream:
    """All the listening measures of aligned (ref, deg) blocks fed in order; :meth:`finish` returns
    dict(attacks, pre_attack_db, rise_db, source_rise_db, gaps, early_ms, mean_early_ms, lsd_low_db,
    tonality_error), the values the functions below give for the whole signal."""

    CHUNK = 1 << 15  # samples per internal step (bounds the framed copies: ~8 MB for the fine STFT, stereo)

    def __init__(self, sr, channels, fmax=LSD_FMAX, band=TONAL_BAND):
        self.sr, self.ch = int(sr), int(channels)
        self.n = 0
        # high-band envelope: hann frames of 2 hops, hop 1.45 ms, centred
        self.hop = envelope_hop(sr)
        n_env = 2 * self.hop
        f = np.fft.rfftfreq(n_env, 1.0 / sr)
        lo, hi = HIGH_BAND[0], min(HIGH_BAND[1], sr / 2.0)
        self._env_bins = (f >= lo) & (f < hi) & (f > 0) & (f < sr / 2.0)
        self._env_win = _hann(n_env)
        self._env_scale = 2.0 / (n_env * float(np.sum(self._env_win ** 2)))  # band power -> mean square
        self._env = _Framer(n_env, self.hop, 2 * self.ch)
        frames = [max(1, int(round(ms * sr / 1000.0 / self.hop))) for ms in (PRE_MS, GUARD_MS, POST_MS, REFRACTORY_MS)]
        self._pre, self._guard, self._post, self._refractory = frames
        # ref and deg band levels (dB) of envelope frames lv0, lv0 + 1, ...: the frames a later attack may need
        self._lv, self._lv0 = (np.zeros(0), np.zeros(0)), 0
        self._scan_from, self._last_attack = self._pre, -self._refractory  # next candidate frame, last attack
        self._att = np.zeros(4)  # attacks, sums of pre-attack dB, rise dB, source rise dB
        # full-band deg level in consecutive hop-long frames from sample 0, and the ref's silent gaps
        self._tail = np.zeros(0)  # deg power (mean over channels) of the unfinished frame
        self._frames_done, self._last_quiet = 0, -1  # complete frames; the last one at or below ONSET_DB
        self._last_loud = -1  # the last sample of the reference that is not digital silence
        self._early = []  # ms per gap
        # fine STFT
        self.n_fft = fine_n_fft(sr)
        f = np.fft.rfftfreq(self.n_fft, 1.0 / sr)
        self._lsd_bins = f < fmax
        self._tonal_bins = (f >= band[0]) & (f < min(band[1], sr / 2.0))
        self._top = int(np.flatnonzero(self._lsd_bins | self._tonal_bins).max(initial=0)) + 1  # bins used
        self._fine_win = _hann(self.n_fft)
        self._fine = _Framer(self.n_fft, self.n_fft // 4, 2 * self.ch)
        self._lsd = self._tonal = 0.0
        self._fine_frames = 0

    def update(self, ref, deg) -> None:
        """Feed the next aligned samples: (n,) or (n, ch) each, the same shape."""
        ref, deg = (np.asarray(x, np.float64) for x in (ref, deg))
        ref, deg = (x[:, None] if x.ndim == 1 else x for x in (ref, deg))
        if ref.ndim != 2 or ref.shape != deg.shape or ref.shape[1] != self.ch:
            raise ValueError(f"incompatible blocks {ref.shape} and {deg.shape}")
        for i in range(0, len(ref), self.CHUNK):
            r, d = ref[i:i + self.CHUNK], deg[i:i + self.CHUNK]
            self._gaps_and_onset(r, d)
            x = np.concatenate([r, d], axis=1).T.copy()
            self._envelope(self._env.push(x))
            self._spectral(self._fine.push(x))
            self.n += len(r)

    def _gaps_and_onset(self, r, d):
        hop = self.hop
        p = np.concatenate([self._tail, np.mean(d * d, axis=1)])
        k = len(p) // hop
        self._tail = p[k * hop:]
        f0 = self._frames_done  # global index of the first new frame
        quiet = _db(p[:k * hop].reshape(k, hop).mean(axis=1)) <= ONSET_DB
        # per new frame: the last frame at or below the threshold up to it (its run of loud frames starts after)
        last_quiet = np.maximum.accumulate(np.where(quiet, np.arange(f0, f0 + k), self._last_quiet))
        carry = self._last_quiet
        self._frames_done += k
        self._last_quiet = int(last_quiet[-1]) if k else carry
        loud = np.flatnonzero(np.any(np.abs(r) >= SILENCE, axis=1)) + self.n
        if not len(loud):
            return
        prev = np.concatenate([[self._last_loud], loud[:-1]])
        self._last_loud = int(loud[-1])
        min_gap = int(round(MIN_GAP_MS * self.sr / 1000.0))
        for i in np.flatnonzero(loud - prev - 1 >= min_gap):
            start, resume = int(prev[i]) + 1, int(loud[i])
            j = resume // hop - 1  # the last whole frame before the one where the music resumes: f0 - 1 or later
            before = carry if j < f0 else int(last_quiet[j - f0])
            first = max(before + 1, -(-start // hop))  # the deg run above ONSET_DB, within the gap
            self._early.append(0.0 if j < 0 or first > j else (resume - first * hop) * 1000.0 / self.sr)

    def _envelope(self, frames):
        if frames.shape[1] == 0:
            return
        ch = self.ch
        levels = []
        for part in (frames[:ch], frames[ch:]):  # separate identical calls: identical in, identical out
            spec = np.fft.rfft(part * self._env_win, axis=-1)[..., self._env_bins]
            levels.append(_db(np.sum(spec.real ** 2 + spec.imag ** 2, axis=-1).mean(axis=0) * self._env_scale))
        self._lv = tuple(np.concatenate([a, b]) for a, b in zip(self._lv, levels))
        if self._env_bins.any():
            self._scan()

    def _scan(self):
        """Find and measure the attacks among the frames whose peak window is complete; keep only the frames a
        later attack may look back to."""
        pre, guard, post = self._pre, self._guard, self._post
        lr, ld = self._lv
        a, b = self._scan_from - self._lv0, len(lr) - post  # candidates: buffer indices [a, b)
        if b <= a:
            return
        # frame i (centred at i * hop) rises when its level beats the minimum of the previous `pre` frames
        past_min = np.lib.stride_tricks.sliding_window_view(lr[a - pre:b - 1], pre).min(axis=1)
        cand = np.flatnonzero((lr[a:b] - past_min >= ATTACK_RISE_DB) & (lr[a:b] >= ATTACK_MIN_DB)) + a
        for t in cand:
            if t + self._lv0 - self._last_attack < self._refractory:
                continue
            self._last_attack = int(t + self._lv0)
            w = slice(t - pre, t - guard + 1)  # [t - 20 ms, t - 4 ms]
            self._att += (1.0, float(np.mean(ld[w] - lr[w])), float(np.max(ld[t:t + post + 1]) - np.min(ld[w])),
                          float(np.max(lr[t:t + post + 1]) - np.min(lr[w])))
        self._scan_from = b + self._lv0
        keep = b - pre
        self._lv = (lr[keep:].copy(), ld[keep:].copy())
        self._lv0 += keep

    def _spectral(self, frames):
        k = frames.shape[1]
        if k == 0:
            return
        ch = self.ch
        # skip frames where the reference is digital silence (max and min: no |x| temporary)
        keep = (np.max(frames[:ch], axis=(0, 2)) >= SILENCE) | (np.min(frames[:ch], axis=(0, 2)) <= -SILENCE)
        if not keep.any():
            return
        parts = (frames[:ch], frames[ch:]) if keep.all() else (frames[:ch, keep], frames[ch:, keep])
        powers = []
        for part in parts:
            spec = np.fft.rfft(part * self._fine_win, axis=-1)[..., :self._top]
            powers.append(np.maximum((spec.real ** 2 + spec.imag ** 2).mean(axis=0), _FLOOR))
        lsd_bins, tonal_bins = self._lsd_bins[:self._top], self._tonal_bins[:self._top]
        lr, ld = (10.0 * np.log10(p[:, lsd_bins]) for p in powers)
        self._lsd += float(np.sum(np.sqrt(np.mean((lr - ld) ** 2, axis=1))))
        flat = [np.exp(np.mean(np.log(p[:, tonal_bins]), axis=1)) / np.mean(p[:, tonal_bins], axis=1)
                for p in powers]
        self._tonal += float(np.sum(np.abs(flat[1] - flat[0])))
        self._fine_frames += int(keep.sum())

    def finish(self) -> dict:
        """The measures (see docs/EVAL.md); None where there is nothing to measure. ValueError if empty."""
        if self.n == 0:
            raise ValueError("empty signal")
        self._envelope(self._env.finish())
        self._spectral(self._fine.finish())
        n, pre_db, rise, src = self._att
        out = dict(attacks=int(n), pre_attack_db=float(pre_db / n) if n else None,
                   rise_db=float(rise / n) if n else None, source_rise_db=float(src / n) if n else None)
        early = self._early
        out.update(gaps=len(early), early_ms=float(max(early)) if early else None,
                   mean_early_ms=float(np.mean(early)) if early else None)
        nf = self._fine_frames
        out["lsd_low_db"] = self._lsd / nf if nf and self._lsd_bins.any() else None
        out["tonality_error"] = self._tonal / nf if nf and self._tonal_bins.any() else None
        return out


def listening_measures(ref, deg, sr, fmax=LSD_FMAX, band=TONAL_BAND) -> dict:
    """Every measure in one pass: the keys of :meth:`ListeningStream.finish`."""
    ref, deg = paired(ref, deg)
    stream = ListeningStream(sr, ref.shape[1], fmax=fmax, band=band)
    stream.update(ref, deg)
    return stream.finish()


def attack_measures(ref, deg, sr) -> dict:
    """Attacks of the reference in the 5-16 kHz band and what the degraded signal does around them:
    dict(attacks, pre_attack_db, rise_db, source_rise_db); the means over attacks, None when there is none.
    pre_attack_db > 0: the degraded signal has energy before the attack (pre-echo); rise_db < source_rise_db:
    the attack is smeared or softened."""
    m = listening_measures(ref, deg, sr)
    return {k: m[k] for k in ("attacks", "pre_attack_db", "rise_db", "source_rise_db")}


def silence_onset_ms(ref, deg, sr) -> dict:
    """For each stretch of digital silence in the reference (>= 100 ms) followed by music: how many ms before
    the music resumes the degraded signal is already above -60 dBFS. dict(gaps, early_ms (the worst),
    mean_early_ms); None without gaps. Resolution: one 1.45-ms frame."""
    m = listening_measures(ref, deg, sr)
    return {k: m[k] for k in ("gaps", "early_ms", "mean_early_ms")}


def fine_lsd_low(ref, deg, sr, fmax=LSD_FMAX):
    """Log-spectral distance (dB) with about 11 Hz resolution below ``fmax``, over frames where the reference
    is not digital silence; None if it is silent throughout. 0 for identical signals; lower is better."""
    return listening_measures(ref, deg, sr, fmax=fmax)["lsd_low_db"]


def tonality_error(ref, deg, sr, band=TONAL_BAND):
    """Mean |spectral flatness(deg) - spectral flatness(ref)| over ``band`` (Hz), per fine-STFT frame where the
    reference is not silent; 0 = the same tonality, large = partials replaced by noise (or noise by partials).
    None if the reference is silent throughout."""
    return listening_measures(ref, deg, sr, band=band)["tonality_error"]
