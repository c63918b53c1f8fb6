"""Track descriptors from MDCT coefficients: timbre, dynamics, rhythm, harmony and stereo statistics.

The input is what every `filterbank: mdct` codec model's latents are once their weighting and companding
are undone, and what the codec's own analysis (codec.transform.analyze) gives from audio: (A, n, C)
coefficients, mid (and side) channels, C bins of rate / 2 / C Hz at one frame per C samples. Every
statistic is read through bands defined in Hz, so models with other bin counts land in the same space.

From the mid channel, in frames of two MDCT hops (an MDCT bin's power swings with phase; two hops halve it):
- timbre: log energies of BANDS mel-spaced bands; their DCT (cepstrum c1..c19, level-free) mean, standard
  deviation and the log-Euclidean covariance of c1..c11 (a single-Gaussian timbre model, as Musly's); the mean spectral
  shape (energies minus each frame's mean), each band's standard deviation over time, positive flux;
- dynamics: the spread of the frame level (standard deviation, 90th - 10th percentile), the share of near-silent frames;
- rhythm: the autocorrelation of the onset envelope (positive flux summed over bands) at lags 0.1-3 s;
- harmony: a chroma from the bins of 110 Hz-5 kHz in half-second blocks: the mean profile rotated so its
  strongest pitch class comes first, the magnitudes of its circular DFT (key-free), entropy and change;
- tonality: spectral flatness in five octaves from 250 Hz (mean and standard deviation);
- stereo: side/mid energy in six bands (zero for mono).
"""

from __future__ import annotations

import functools

import numpy as np

BANDS = 40
LOW_HZ, HIGH_HZ = 50.0, 16000.0
CEPSTRA = 20  # c0 (the level) dropped: c1..c19
COV_CEPSTRA = 12
FLUX_GROUPS = 10
RHYTHM_LAGS_S = np.geomspace(0.1, 3.0, 24)
CHROMA_HZ = (110.0, 5000.0)
CHROMA_BLOCK_S = 0.5
FLATNESS_OCTAVES = (250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
STEREO_BANDS = 6
EPS = 1e-10
VERSION = 2  # bumped whenever a statistic changes, so no cache or catalog mixes two kinds


def _mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, np.float64) / 700.0)


@functools.lru_cache(maxsize=8)
def band_matrix(bins: int, rate: int, bands: int = BANDS) -> np.ndarray:
    """(bins, bands) 0/1 matrix: which mel band (LOW_HZ-HIGH_HZ) each MDCT bin's centre falls in; a band
    narrower than a bin takes the nearest bin, so no band is empty at any bin count."""
    centres = (np.arange(bins) + 0.5) * rate / 2 / bins
    edges = 700.0 * (10 ** (np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), bands + 1) / 2595.0) - 1)
    M = np.zeros((bins, bands), np.float32)
    for b in range(bands):
        inside = np.flatnonzero((centres >= edges[b]) & (centres < edges[b + 1]))
        if inside.size == 0:
            inside = [int(np.argmin(np.abs(centres - (edges[b] + edges[b + 1]) / 2)))]
        M[inside, b] = 1.0
    return M


@functools.lru_cache(maxsize=8)
def _chroma_matrix(bins: int, rate: int) -> np.ndarray:
    centres = (np.arange(bins) + 0.5) * rate / 2 / bins
    M = np.zeros((bins, 12), np.float32)
    keep = np.flatnonzero((centres >= CHROMA_HZ[0]) & (centres < CHROMA_HZ[1]))
    M[keep, np.rint(12 * np.log2(centres[keep] / 440.0)).astype(int) % 12] = 1.0
    return M


def _dct_matrix(n: int, k: int) -> np.ndarray:
    i = np.arange(n)
    return np.cos(np.pi / n * (i[:, None] + 0.5) * np.arange(k)[None, :])


def _log_spd(cov: np.ndarray) -> np.ndarray:
    """The matrix logarithm of a covariance (regularized), its off-diagonal entries scaled by sqrt(2): the
    log-Euclidean embedding, in which a dot product compares two Gaussians' shapes, as Musly's divergence does."""
    w, V = np.linalg.eigh(cov + 1e-6 * np.trace(cov) / len(cov) * np.eye(len(cov)))
    L = (V * np.log(np.maximum(w, 1e-12))) @ V.T
    return L * (np.sqrt(2.0) - (np.sqrt(2.0) - 1.0) * np.eye(len(L)))


def _pairs(power: np.ndarray) -> np.ndarray:
    """Sum of consecutive frames' power: (n, C) -> (n // 2, C)."""
    n = len(power) // 2 * 2
    return power[:n:2] + power[1:n:2]


def _autocorr(x: np.ndarray, lags: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    d = float(np.dot(x, x)) + EPS
    return np.array([float(np.dot(x[:-lag], x[lag:])) / d if 0 < lag < len(x) else 0.0 for lag in lags])


def _run_frames(coeffs: np.ndarray, rate: int) -> dict | None:
    """The frame-level quantities of one contiguous run (A, n, C); None if it is under four frame pairs."""
    A, n, C = coeffs.shape
    mid = _pairs(np.asarray(coeffs[0], np.float64) ** 2)
    if len(mid) < 4:
        return None
    frame_s = 2 * C / rate
    B = mid @ band_matrix(C, rate)
    logE = np.log10(B + EPS)
    flux = np.maximum(np.diff(logE, axis=0), 0.0)
    onset = flux.sum(axis=1)
    block = max(1, int(round(CHROMA_BLOCK_S / frame_s)))
    chroma = mid @ _chroma_matrix(C, rate)
    chroma = chroma[:len(chroma) // block * block].reshape(-1, block, 12).sum(axis=1) if len(chroma) >= block else chroma
    chroma = chroma / (chroma.sum(axis=1, keepdims=True) + EPS)
    centres = (np.arange(C) + 0.5) * rate / 2 / C
    flat = []
    for lo, hi in zip(FLATNESS_OCTAVES[:-1], FLATNESS_OCTAVES[1:]):
        p = mid[:, (centres >= lo) & (centres < hi)] + EPS
        flat.append(np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1))
    side = _pairs(np.asarray(coeffs[1], np.float64) ** 2) @ band_matrix(C, rate) if A > 1 else None
    return {"B": B, "logE": logE, "flux": flux, "onset": onset, "level": np.log10(mid.sum(axis=1) + EPS),
            "rhythm": _autocorr(onset, np.maximum(1, np.rint(RHYTHM_LAGS_S / frame_s).astype(int))),
            "chroma": chroma, "change": np.abs(np.diff(chroma, axis=0)).sum(axis=1), "flat": np.stack(flat, axis=1),
            "side": side}


def descriptor(coeffs, rate: int) -> np.ndarray:
    """MDCT coefficients (A, n, C) (one frame per C samples at `rate`), or a list of such runs of one track
    (statistics pooled over their frames; differences and autocorrelations taken inside each run) ->
    float64 descriptor vector (DIM,)."""
    runs = [coeffs] if isinstance(coeffs, np.ndarray) else list(coeffs)
    frames = [f for f in (_run_frames(r, rate) for r in runs) if f is not None]
    if not frames:
        raise ValueError("too short to describe")

    def pooled(key):
        return np.concatenate([f[key] for f in frames])
    logE, flux, onset, level, chroma, B = (pooled(k) for k in ("logE", "flux", "onset", "level", "chroma", "B"))
    ceps = logE @ _dct_matrix(BANDS, CEPSTRA)[:, 1:]
    cov = _log_spd(np.cov(ceps[:, :COV_CEPSTRA - 1].T))
    groups = np.array_split(np.arange(BANDS), FLUX_GROUPS)
    weights = np.array([len(f["onset"]) for f in frames], np.float64)
    rhythm = np.average(np.stack([f["rhythm"] for f in frames]), axis=0, weights=weights)
    profile = chroma.mean(axis=0)
    rotated = np.roll(profile, -int(np.argmax(profile)))
    key_free = np.abs(np.fft.rfft(profile))[1:7]
    entropy = -np.sum(chroma * np.log(chroma + EPS), axis=1)
    change = pooled("change")
    flat = pooled("flat")
    if all(f["side"] is not None for f in frames):
        side = pooled("side")
        split = np.array_split(np.arange(BANDS), STEREO_BANDS)
        stereo = [np.log10((side[:, g].sum() + EPS) / (B[:, g].sum() + EPS)) for g in split]
    else:
        stereo = [-10.0] * STEREO_BANDS
    quiet = float(np.mean(level < np.median(level) - 2.0))
    return np.concatenate([
        ceps.mean(axis=0), ceps.std(axis=0), cov[np.triu_indices(COV_CEPSTRA - 1)],
        (logE - logE.mean(axis=1, keepdims=True)).mean(axis=0), logE.std(axis=0),
        [flux[:, g].mean() for g in groups],
        [level.std(), np.percentile(level, 90) - np.percentile(level, 10), quiet],
        rhythm, [onset.std() / (onset.mean() + EPS)],
        rotated, key_free, [entropy.mean(), change.mean() if len(change) else 0.0],
        np.stack([flat.mean(axis=0), flat.std(axis=0)], axis=1).ravel(), stereo])


DIM = 2 * (CEPSTRA - 1) + (COV_CEPSTRA - 1) * COV_CEPSTRA // 2 + 2 * BANDS + FLUX_GROUPS + 3 + len(RHYTHM_LAGS_S) \
    + 1 + 12 + 6 + 2 + 2 * (len(FLATNESS_OCTAVES) - 1) + STEREO_BANDS
# Side under mid by this much (log10 of the energy ratio) in each of the lowest MONO_BANDS stereo bands (50 Hz to
# 3.1 kHz): a mono recording, whatever its channel count (two equal channels gave -8 to -14, stereo music -2.4 to
# +0.4 on 12 wesnoth tracks; session 56). Higher up, a lossy coder that codes left and right apart adds side of
# its own: an AAC of two equal channels measured -3.2 to -1.4 in the top three bands, -9.5 to -7.4 below.
MONO_WIDTH = -4.0
MONO_BANDS = 3


def is_mono(X: np.ndarray) -> np.ndarray:
    """(N,) True where raw descriptors (N, >= DIM) are of mono audio: one channel, or two that are the same."""
    lowest = DIM - STEREO_BANDS
    return np.asarray(X)[:, lowest:lowest + MONO_BANDS].max(axis=1) < MONO_WIDTH


# Where the spread of the frame level sits (its 90th - 10th percentile, log10 of power): wide where a tenth of the
# frames or more are silent (typicality.SILENT_SPREAD).
LEVEL_SPREAD_DIM = 2 * (CEPSTRA - 1) + (COV_CEPSTRA - 1) * COV_CEPSTRA // 2 + 2 * BANDS + FLUX_GROUPS + 1

# Where the flatness per octave sits (before the stereo bands): what a codec's noise fill changes most
# (docs/EXPERIMENTS.md, sessions 38 and 42), so a classifier leaves it out.
FLATNESS_DIMS = np.arange(DIM - STEREO_BANDS - 2 * (len(FLATNESS_OCTAVES) - 1), DIM - STEREO_BANDS)


def audio_descriptor(x: np.ndarray, rate: int, hop: int = 882) -> np.ndarray:
    """Descriptor of audio (n, ch) at `rate` through the codec's MDCT (mid/side, `hop` bins)."""
    from ..codec.transform import analyze, to_mid_side
    ms = to_mid_side(np.asarray(x, np.float32))
    ms = np.pad(ms, ((0, 0), (hop, hop)))
    return descriptor(analyze(ms, hop), rate)
