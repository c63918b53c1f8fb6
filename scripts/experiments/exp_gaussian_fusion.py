"""Musly's timbre similarity from embed-v3's own descriptors, alone and fused with the vector's cosine (issue 25).

    .venv/bin/python -m scripts.experiments.exp_gaussian_fusion

embed-v3's descriptor holds a single-Gaussian timbre model (the mean of c1..c11 and the matrix logarithm of
their covariance, muzip/library/descriptors.py). Read back as Gaussians, compared by the symmetric
Kullback-Leibler divergence (as Musly's timbre method), optionally through mutual proximity (MP), and fused
with the recipe vector's cosine as z-scored similarities: cos + w x MP. On each held-out fold (the recipe
refitted without the fold's corpus, from the exp_embed_v3 --coded descriptor cache): 1-NN accuracy and
macro-F1, segment P@1, AP NMI (columns in that order), as scripts/bench/library_loco.py computes them.
"""
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402
from scipy.linalg import expm  # noqa: E402
from scipy.stats import norm  # noqa: E402

from muzip.library import descriptors as D  # noqa: E402
from muzip.library.cluster import _ap  # noqa: E402, PLC2701 - the same AP settings as `muzip cluster`
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import _splits  # noqa: E402
from scripts.experiments.exp_embed_v3 import held_out_fold, unit  # noqa: E402

K = D.COV_CEPSTRA - 1  # the Gaussian is over c1..c11
COV_AT = 2 * (D.CEPSTRA - 1)  # the log-covariance follows the cepstra's means and deviations
UPPER = np.triu_indices(K)


def gaussian(d: np.ndarray):
    """(mean, covariance, its inverse) of a descriptor's cepstral Gaussian (descriptors._log_spd undone)."""
    L_ = np.zeros((K, K))
    L_[UPPER] = d[COV_AT:COV_AT + len(UPPER[0])]
    L_ = (L_ + L_.T - np.diag(np.diag(L_))) / (np.sqrt(2.0) - (np.sqrt(2.0) - 1.0) * np.eye(K))
    C = expm(L_)
    return d[:K], C, np.linalg.inv(C)


def symmetric_kl(G) -> np.ndarray:
    n = len(G)
    out = np.zeros((n, n))
    for i in range(n):
        mi, Ci, Ii = G[i]
        for j in range(i + 1, n):
            mj, Cj, Ij = G[j]
            dm = mi - mj
            out[i, j] = out[j, i] = 0.25 * (np.trace(Ii @ Cj) + np.trace(Ij @ Ci) + dm @ (Ii + Ij) @ dm - 2 * K)
    return out


def mutual_proximity(dist: np.ndarray) -> np.ndarray:
    """Similarity: the chance that each of two items is, for the other, nearer than a random item (Gaussian)."""
    off = ~np.eye(len(dist), dtype=bool)
    mu = np.array([row[o].mean() for row, o in zip(dist, off)])
    sd = np.array([row[o].std() for row, o in zip(dist, off)]) + 1e-9
    return norm.sf(dist, mu[:, None], sd[:, None]) * norm.sf(dist, mu[None, :], sd[None, :])


def zscored(S: np.ndarray) -> np.ndarray:
    v = S[~np.eye(len(S), dtype=bool)]
    return (S - v.mean()) / (v.std() + 1e-9)


def scores(S: np.ndarray, y: np.ndarray) -> tuple:
    """1-NN accuracy and macro-F1, segment P@1, AP NMI from a similarity over [excerpts; first; last segments]."""
    from sklearn.metrics import accuracy_score, f1_score, normalized_mutual_info_score
    n = len(y)
    SX = S[:n, :n]
    pred = np.empty_like(y)
    for tr, te in _splits(y):
        pred[te] = y[tr][np.argmax(SX[np.ix_(te, tr)], axis=1)]
    SAB = S[n:, n:].copy()
    np.fill_diagonal(SAB, -np.inf)
    pair = np.concatenate([np.arange(n, 2 * n), np.arange(n)])
    labels, _ = _ap(SX, None, 0)
    return (accuracy_score(y, pred), f1_score(y, pred, average="macro"), np.mean(np.argmax(SAB, 1) == pair),
            normalized_mutual_info_score(y, labels))


def main():
    tot = {}
    for fold in L.FOLDS:
        f = held_out_fold(fold)
        E = np.concatenate([f["X"], f["A"], f["B"]])
        V = unit(((E - f["mc"]) / f["sc"]) @ f["W"])
        cos = V @ V.T
        kl = symmetric_kl([gaussian(d) for d in E])
        mp = mutual_proximity(kl)
        for name, S in (("cos", cos), ("kl-mp", mp), ("kl", zscored(-kl)), ("cos+0.5mp", zscored(cos) + 0.5 * zscored(mp)),
                        ("cos+1mp", zscored(cos) + zscored(mp)), ("cos+0.3mp", zscored(cos) + 0.3 * zscored(mp))):
            r = scores(S, f["y"])
            tot.setdefault(name, []).append(r)
            print(fold, name, " ".join(f"{v:.3f}" for v in r), flush=True)
    for k, v in tot.items():
        print("mean", k, " ".join(f"{x:.3f}" for x in np.mean(v, 0)))


if __name__ == "__main__":
    main()
