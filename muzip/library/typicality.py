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


def reference(X: np.ndarray) -> dict:
    """What a classifier keeps of its training inputs X (N, d): {"reference": standardized rows (float32),
    "scale": (2, d) mean and deviation, "bounds": (2, d) their least and greatest values, "reach": the distance
    beyond which an input is unlike them}."""
    X = np.unique(np.asarray(X, np.float64), axis=0)  # a track under two labels is one point
    mean, dev = X.mean(axis=0), X.std(axis=0)
    scale = np.stack([mean, np.where(dev > 1e-9, dev, 1.0)])
    Z = _standardized(X, scale)
    if Z.size > MAX_REFERENCE_VALUES:
        Z = Z[np.linspace(0, len(Z) - 1, MAX_REFERENCE_VALUES // Z.shape[1]).astype(int)]
    loo = nearest_distances(Z, Z, skip_self=True) if len(Z) > 1 else np.zeros(1)
    return {"reference": Z.astype(np.float32), "scale": scale.astype(np.float32),
            "bounds": np.stack([X.min(axis=0), X.max(axis=0)]).astype(np.float32),
            "reach": float(np.quantile(loo, QUANTILE) * MARGIN)}


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
