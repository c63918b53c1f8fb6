"""Track embeddings from the codec's latents: a `.mz` is embedded without running any network.

The codec's latents are weighted, companded MDCT coefficients (muzip.nn.codec_net). A `.mz` frame is
entropy-decoded and dequantized (no decoder network); an audio file goes through the encoder (the
analysis transform, onnxruntime) to the same latents, unquantized. From up to MAX_FRAMES one-second
frames spread over the track (in runs of 4), the embedding is statistics of the mid channel's band energies:

* per band (B log-spaced groups of the latent channels): mean and standard deviation over time of the
  log energy, and the mean absolute frame-to-frame change (spectral flux);
* the side/mid energy ratio in 6 coarse bands (stereo image);
* the autocorrelation of the loudness envelope at 16 lags from 0.25 to 2 s (rhythm);

standardized with the statistics shipped in models/embed-v0 (computed on the training corpus by
scripts/models/library_stats.py) and L2-normalized, so cosine similarity is a dot product.
"""

from __future__ import annotations

import numpy as np

MAX_FRAMES = 48  # frames sampled per track: the cost of a track does not grow with its length
RUN = 4  # ... in runs of consecutive frames
BANDS = 36
EPS = 1e-2  # energy floor: near the quantizer step at usual bitrates, so zeroed latents (78% at 64 kbps) and small
# unquantized ones read alike (a track and its .mz: cosine 0.98 with this floor, 0.33 with 1e-7)
RHYTHM_LAGS_S = np.geomspace(0.25, 2.0, 16)


def band_edges(channels: int, bands: int = BANDS) -> np.ndarray:
    """Mel-spaced groups of the latent channels (channel c is a frequency bin of width rate/2/C), each at
    least one channel wide: (bands + 1,) increasing edges from 0 to channels."""
    mel = np.linspace(0.0, np.log1p(channels / 8.0), bands + 1)  # mel-like: linear, then logarithmic
    target = np.expm1(mel) * 8.0
    edges = np.zeros(bands + 1, int)
    for i in range(1, bands + 1):
        edges[i] = max(edges[i - 1] + 1, int(round(target[i])))
    edges[-1] = channels
    if np.any(np.diff(edges) < 1):
        raise ValueError(f"{channels} channels cannot make {bands} bands")
    return edges


def frame_runs(n_frames: int, max_frames: int = MAX_FRAMES, run: int = RUN) -> list[np.ndarray]:
    """Runs of `run` consecutive frame indices spread evenly over the track (4-s windows: long enough for
    the rhythm lags), at most max_frames frames in all; a short track is one run of all its frames."""
    if n_frames <= max_frames:
        return [np.arange(n_frames)] if n_frames else []
    starts = np.unique(np.linspace(0, n_frames - run, max_frames // run).round().astype(int))
    return [np.arange(s, s + run) for s in starts]


def features(latents: list[np.ndarray], latent_rate: float) -> np.ndarray:
    """Raw feature vector from the latents of each run of frames, each (A, n, C) (A = 1 mono, 2 mid/side)."""
    C = latents[0].shape[-1]
    edges = band_edges(C)
    counts = np.diff(edges).astype(np.float64)
    energies, fluxes, side_ratio, env = [], [], [], []
    coarse = np.linspace(0, len(edges) - 1, 7).round().astype(int)
    for lat in latents:
        p = lat.astype(np.float64) ** 2
        mid = np.add.reduceat(p[0], edges[:-1], axis=1) / counts  # (n, B)
        e = np.log(mid + EPS)
        energies.append(e)
        fluxes.append(np.abs(np.diff(e, axis=0)))
        env.append(np.log(mid.sum(axis=1) + EPS))
        if lat.shape[0] > 1:
            side = np.add.reduceat(p[1], edges[:-1], axis=1) / counts
            m_sum = np.add.reduceat(mid.sum(axis=0), coarse[:-1])
            s_sum = np.add.reduceat(side.sum(axis=0), coarse[:-1])
            side_ratio.append(np.log((s_sum + EPS) / (m_sum + EPS)))
    e = np.concatenate(energies)
    flux = np.concatenate(fluxes) if fluxes else np.zeros((1, len(counts)))
    ratio = np.mean(side_ratio, axis=0) if side_ratio else np.full(6, np.log(EPS))
    rhythm = np.mean([_rhythm(v, latent_rate) for v in env], axis=0)
    return np.concatenate([e.mean(axis=0), e.std(axis=0), flux.mean(axis=0), ratio, rhythm]).astype(np.float32)


def _rhythm(envelope: np.ndarray, rate: float) -> np.ndarray:
    """Normalized autocorrelation of one frame's loudness envelope at RHYTHM_LAGS_S (0 where too short)."""
    x = envelope - envelope.mean()
    denom = float(np.dot(x, x)) + 1e-9
    out = np.zeros(len(RHYTHM_LAGS_S))
    for i, lag_s in enumerate(RHYTHM_LAGS_S):
        lag = int(round(lag_s * rate))
        if 0 < lag < len(x):
            out[i] = float(np.dot(x[:-lag], x[lag:])) / denom
    return out


def feature_dim(channels: int) -> int:
    return 3 * (len(band_edges(channels)) - 1) + 6 + len(RHYTHM_LAGS_S)


class Normalizer:
    """Standardize with shipped statistics, then L2-normalize."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean, self.std = np.asarray(mean, np.float32), np.maximum(np.asarray(std, np.float32), 1e-6)

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        z = (np.asarray(raw, np.float32) - self.mean) / self.std
        return (z / max(float(np.linalg.norm(z)), 1e-9)).astype(np.float32)


# The trained embedder (embed-v1, muzip.library.net) reads a sequence rather than statistics: per POOL latent
# steps (23 ms at 44.1 kHz), the log energy of the mid channel in SEQ_BANDS bands and of the side channel in
# SIDE_BANDS coarse ones (log EPS where there is no side: mono).
POOL = 4
SEQ_BANDS = 64
SIDE_BANDS = 8


def band_sequence(lat: np.ndarray) -> np.ndarray:
    """(T, SEQ_BANDS + SIDE_BANDS) float32 log band energies of latents (A, n, C); T = n // POOL."""
    A, n, C = lat.shape
    T = n // POOL
    out = np.full((T, SEQ_BANDS + SIDE_BANDS), np.log(EPS), np.float32)
    if T == 0:
        return out
    p = (lat[:, :T * POOL].astype(np.float32) ** 2).reshape(A, T, POOL, C).mean(axis=2)
    for a, (bands, col) in enumerate(((SEQ_BANDS, 0), (SIDE_BANDS, SEQ_BANDS))[:A]):
        edges = band_edges(C, bands)
        e = np.add.reduceat(p[a], edges[:-1], axis=1) / np.diff(edges).astype(np.float32)
        out[:, col:col + bands] = np.log(e + EPS)
    return out


FEATURES = {"latent band sequence v1": SEQ_BANDS + SIDE_BANDS,
            "latent band and pitch sequence v2": SEQ_BANDS + SIDE_BANDS + 60}  # + muzip.library.pitch.PITCH_DIM


def feature_sequence(lat: np.ndarray, features: str) -> np.ndarray:
    """The embedder's input sequence of latents (A, n, C) by the name in its config: v1 band energies, or
    v2 band energies and the pitch features (muzip.library.pitch) of the mid channel."""
    seq = band_sequence(lat)
    if features == "latent band sequence v1":
        return seq
    if features == "latent band and pitch sequence v2":
        from .pitch import pitch_sequence
        return np.concatenate([seq, pitch_sequence(lat[0], POOL, len(seq))], axis=1)
    raise ValueError(f"unknown features '{features}'")
