"""How like a classifier's training tracks an input is. A logistic regression is surest far from its training
data: silence, noise or music of another kind gets a label at 0.99. A classifier keeps its training inputs
(standardized, as its regression saw them), and an input further from every one of them than nearly all training
tracks are from their nearest other is said to be unlike them: its label is a guess."""

from __future__ import annotations

import numpy as np

# Training inputs kept, at most (float32 values: 8 MB); a larger training set keeps an even sample of its tracks.
MAX_REFERENCE_VALUES = 2_000_000
# An input is unlike the training tracks beyond this many times the distance that 99 % of training tracks have to
# their nearest other (leave-one-out): held-out tracks of the training labels fall within it, silence, noise and
# other corpora mostly not (scripts/experiments/exp_classifier_reach.py, docs/EXPERIMENTS.md session 56).
QUANTILE = 0.99
MARGIN = 1.25
# Noise sits among music in the classifier's space (the flatness per octave, which tells it, is left out there:
# classify.py). Noise is flat in every octave, and steadily so; music is tonal in some octave, or changes. An input
# whose steady flatness (steady_flatness) is beyond NOISE_FLATNESS, or MARGIN times the training tracks' greatest
# where that is more, is as flat as noise: white, pink and brown noise 0.43-0.48 where 95 corpus tracks reach 0.27
# (session 59); tonal music's can all be under 0 (a reach of MARGIN times it alone, a review found, called every
# other track noise), and a .mz's flatness runs lower than its audio's. A digitally silent frame's
# flatness is 1: a file a tenth or more of whose frames are silent (its level's 90th - 10th percentile spread over
# SILENT_SPREAD, 60 dB) is not judged so (noise 0.04-2.3, those corpus tracks 0.44-4.1, half of a file silent 11).
SILENT_SPREAD = 6.0
NOISE_FLATNESS = 0.35  # between the corpus tracks' greatest steady flatness and noise's least
SILENCE_FLATNESS = 0.65  # flatter: silence or dither (wesnoth's silence.ogg 0.75), left out of the training reach


def _standardized(X: np.ndarray, scale: np.ndarray) -> np.ndarray:
    mean, dev = scale
    return (np.asarray(X, np.float64) - mean) / dev / np.sqrt(X.shape[-1])  # RMS z-score per dimension


def nearest_distances(Z: np.ndarray, Q: np.ndarray, skip_self: bool = False, zz=None) -> np.ndarray:
    """Distance from each row of Q to its nearest row of Z (to its nearest other, Q being Z, with skip_self);
    zz: Z's squared row norms, where known."""
    out = np.empty(len(Q))
    zz = np.einsum("ij,ij->i", Z, Z) if zz is None else zz
    for a in range(0, len(Q), 1024):  # blocks: 1024 x N distances at a time
        q = Q[a:a + 1024]
        d2 = np.einsum("ij,ij->i", q, q)[:, None] + zz[None, :] - 2 * q @ Z.T
        if skip_self:
            d2[np.arange(len(q)), np.arange(a, a + len(q))] = np.inf
        out[a:a + 1024] = np.sqrt(np.maximum(d2.min(axis=1), 0))
    return out


def steady_flatness(raw: np.ndarray, rate: float | None = None) -> np.ndarray:
    """(N,) of raw descriptors (N, >= DIM): the least over the octaves of the spectral flatness's mean less its
    deviation over time (near 0.45 for noise, which is flat and steady; low where an octave is tonal or changes).
    With the files' sample `rate`, only the octaves under 90 % of its Nyquist frequency (noise at 8 kHz measured
    0.1 over the octaves it does not hold)."""
    from .descriptors import FLATNESS_DIMS, FLATNESS_OCTAVES
    raw = np.asarray(raw, np.float64)
    flat = raw[:, FLATNESS_DIMS[::2]] - raw[:, FLATNESS_DIMS[1::2]]  # each octave: mean, deviation
    held = np.asarray(FLATNESS_OCTAVES[1:]) <= 0.45 * rate if rate else np.ones(flat.shape[1], bool)
    return flat[:, held].min(axis=1) if held.any() else np.full(len(flat), -np.inf)


def noise_like(model: dict, raw: np.ndarray | None, rate: float | None = None) -> float | None:
    """The steady flatness of a raw descriptor (DIM,) of a file at sample `rate` beyond the classifier's "flat_reach",
    else None (also for a classifier made before session 59, no descriptor, or stretches of silence)."""
    from .descriptors import LEVEL_SPREAD_DIM
    if model.get("flat_reach") is None or raw is None or np.asarray(raw)[LEVEL_SPREAD_DIM] > SILENT_SPREAD:
        return None
    flat = float(steady_flatness(np.asarray(raw)[None], rate)[0])
    return flat if flat > model["flat_reach"] else None


def reference(X: np.ndarray, raw: np.ndarray | None = None) -> dict:
    """What a classifier keeps of its training inputs X (N, d): {"reference": standardized rows (float32),
    "scale": (2, d) mean and deviation, "bounds": (2, d) their least and greatest values, "reach": the distance
    beyond which an input is unlike them}, and with their raw descriptors (N, >= DIM), "flat_reach": the steady
    flatness beyond which an input is as flat as noise (noise_like)."""
    from .descriptors import LEVEL_SPREAD_DIM
    if raw is not None:
        raw = np.asarray(raw, np.float64)
        raw = raw[raw[:, LEVEL_SPREAD_DIM] <= SILENT_SPREAD]  # as noise_like judges
        flat = steady_flatness(raw)
        flat = flat[flat < SILENCE_FLATNESS]  # a silent track (dither) among them is no kind of music
    flat = {} if raw is None or not len(raw) else {
        "flat_reach": float(max(flat.max(initial=-np.inf) * MARGIN, NOISE_FLATNESS))}
    X = np.unique(np.asarray(X, np.float64), axis=0)  # a track under two labels is one point
    mean, dev = X.mean(axis=0), X.std(axis=0)
    scale = np.stack([mean, np.where(dev > 1e-9, dev, 1.0)])
    Z = _standardized(X, scale)
    if Z.size > MAX_REFERENCE_VALUES:
        Z = Z[np.linspace(0, len(Z) - 1, MAX_REFERENCE_VALUES // Z.shape[1]).astype(int)]
    loo = nearest_distances(Z, Z, skip_self=True) if len(Z) > 1 else np.zeros(1)
    return {"reference": Z.astype(np.float32), "scale": scale.astype(np.float32),
            "bounds": np.stack([X.min(axis=0), X.max(axis=0)]).astype(np.float32),
            "reach": float(np.quantile(loo, QUANTILE) * MARGIN), **flat}


def within_bounds(model: dict, emb: np.ndarray) -> np.ndarray:
    """`emb` with each value brought into the range the training inputs spanned, for the regression: a value far
    outside it (a mono copy's stereo width: log10 side/mid -8 to -14, stereo music's -2.4 to +0.4) would alone decide
    the label. On a mono downmix of 8 held-out tracks: 5 right where none were, held-out stereo tracks as before
    (docs/logs/classifier_reach_s56.log). How far the input itself lies is `distance`'s to say."""
    bounds = model.get("bounds")
    if bounds is None or emb.shape != (bounds.shape[1],):
        return emb
    return np.clip(emb, bounds[0], bounds[1]).astype(emb.dtype)


def distance(model: dict, emb: np.ndarray) -> float | None:
    """How far classifier input `emb` is from the nearest training track (None: a classifier made before
    session 56 keeps none)."""
    ref = model.get("reference")
    if ref is None or emb.shape != (ref.shape[1],):
        return None
    if "_reference64" not in model:  # once per classifier, not per file (100k catalog tracks)
        ref64 = ref.astype(np.float64)
        model["_reference64"] = (ref64, np.einsum("ij,ij->i", ref64, ref64), model["scale"].astype(np.float64))
    ref64, zz, scale = model["_reference64"]
    return float(nearest_distances(ref64, _standardized(emb[None].astype(np.float64), scale), zz=zz)[0])
