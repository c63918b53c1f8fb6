"""Does hubness reduction help the held-out vectors' nearest-neighbour label? (issue 25: 1-NN, session 54)

    .venv/bin/python -m scripts.experiments.exp_hubness [--vectors docs/logs/embed_v5_loco_s47_vectors.npz]
    # log: docs/logs/hubness_s54.log

Musly rescales its distances by mutual proximity (Schnitzer et al. 2012), which keeps a few "hub" tracks from
being everybody's nearest neighbour in a high-dimensional space. This reads each fold's 60-s excerpt vectors of
the held-out embed-v5 recipe (the map's vectors: exp_embed_v3 --vectors) and scores the label of each track's
nearest other track (leave one track out) by cosine, by CSLS (cosine less each side's mean to its k nearest)
and by mutual proximity (empirical, and Gaussian as Musly's), with the largest number of tracks any one track
is nearest to (a hub's count).
"""

from __future__ import annotations

import argparse

import numpy as np


def nearest_label_accuracy(S: np.ndarray, y: np.ndarray) -> float:
    S = S.copy()
    np.fill_diagonal(S, -np.inf)
    return float(np.mean(y[np.argmax(S, axis=1)] == y))


def csls(S: np.ndarray, k: int) -> np.ndarray:
    T = S.copy()
    np.fill_diagonal(T, -np.inf)
    r = np.sort(T, axis=1)[:, -k:].mean(axis=1)
    return 2 * S - r[:, None] - r[None, :]


def mutual_proximity(S: np.ndarray) -> np.ndarray:
    """The share of each side's other similarities under s_ij, multiplied (empirical MP)."""
    T = S.copy()
    np.fill_diagonal(T, np.nan)
    below = np.nanmean(T[:, None, :] < S[:, :, None], axis=2)  # [i, j]: share of i's similarities under s_ij
    return below * below.T


def mutual_proximity_gauss(S: np.ndarray) -> np.ndarray:
    from scipy.stats import norm
    T = S.copy()
    np.fill_diagonal(T, np.nan)
    m, s = np.nanmean(T, axis=1), np.nanstd(T, axis=1)
    return norm.cdf(S, m[:, None], s[:, None]) * norm.cdf(S, m[None, :], s[None, :])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vectors", default="docs/logs/embed_v5_loco_s47_vectors.npz")
    a = ap.parse_args()
    d = np.load(a.vectors, allow_pickle=False)
    print("| fold | tracks | cosine | CSLS k=5 | CSLS k=10 | MP | MP (Gaussian) | largest hub |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for key in d.files:
        if not key.endswith("/vectors"):
            continue
        fold = key.split("/")[0]
        X, y = d[key], d[f"{fold}/labels"]
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
        S = X @ X.T
        hub = np.bincount(np.argmax(np.where(np.eye(len(S), dtype=bool), -np.inf, S), axis=1), minlength=len(S)).max()
        scores = [nearest_label_accuracy(M, y) for M in
                  (S, csls(S, 5), csls(S, 10), mutual_proximity(S), mutual_proximity_gauss(S))]
        print(f"| {fold} | {len(y)} | " + " | ".join(f"{v:.3f}" for v in scores) + f" | {hub} |")


if __name__ == "__main__":
    main()
