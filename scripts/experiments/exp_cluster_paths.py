"""Could one clustering serve every catalog size (issue 25, session 57: `cluster` changes granularity at
cluster.DENSE_MAX = 2,000 tracks)?

    .venv/bin/python -m scripts.experiments.exp_cluster_paths   # log: docs/logs/cluster_paths_s57.log

Two ways of making the paths agree, each measured against labels:
1. the centroids' path at every size: on the held-out folds' excerpt vectors of the embed-v5 recipe
   (docs/logs/embed_v5_loco_s47_vectors.npz; label = soundtrack or style), whole and in random subsets of 12-30
   tracks (10 draws), dense AP against AP on k-means centroids (K = N/5 as shipped above DENSE_MAX, and N/3),
   the k-means drawn with 5 seeds: clusters found, NMI and ARI, mean and spread over seeds and draws;
2. a centroids' path that imitates dense AP above the threshold (weighted AP: each centroid's similarities
   counted once per track it holds, its preference the tracks' median similarity), against dense AP and the
   shipped path on exp_map_speed's synthetic catalogs (50 overlapping groups: the labels).
"""

from __future__ import annotations

import numpy as np


def _centroids(X, K, seed, full=True):
    from sklearn.cluster import KMeans, MiniBatchKMeans
    km = (KMeans(n_clusters=K, random_state=seed, n_init=10) if full else
          MiniBatchKMeans(n_clusters=K, random_state=seed, batch_size=4096, n_init=1)).fit(X)
    return km.labels_, km.cluster_centers_


def _ap_of_centroids(X, div, seed):
    from muzip.library import cluster as C
    lab, cents = _centroids(X, max(2, len(X) // div), seed)
    cents = cents / np.linalg.norm(cents, axis=1, keepdims=True)
    labels, exemplars = C._ap(cents @ cents.T, None, seed)
    return labels[lab], exemplars


def _weighted_ap(X, K, seed):
    """AP of K centroids standing for their tracks: s(i, k) = n_i * mean_i . c_k, and a centroid's own
    preference the median track similarity plus what its other members bring (n_i - 1) * mean_i . c_i."""
    from muzip.library import cluster as C
    lab, _ = _centroids(X, K, seed, full=False)
    n = np.bincount(lab, minlength=K).astype(np.float64)
    sums = np.zeros((K, X.shape[1]))
    np.add.at(sums, lab, X)
    means = sums / np.maximum(n, 1)[:, None]
    cents = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)
    sample = X[np.random.default_rng(seed).choice(len(X), min(2000, len(X)), replace=False)]
    S = n[:, None] * (means @ cents.T)
    np.fill_diagonal(S, np.median(sample @ sample.T) + (n - 1) * np.einsum("ij,ij->i", means, cents))
    labels, exemplars = C._ap(S, np.diag(S).copy(), seed)
    return labels[lab], exemplars


def _score(y, labels, exemplars):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    return len(exemplars), normalized_mutual_info_score(y, labels), adjusted_rand_score(y, labels)


def folds():
    from muzip.library import cluster as C
    z = np.load("docs/logs/embed_v5_loco_s47_vectors.npz")
    print("| fold | tracks | labels | path | clusters | NMI | ARI |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for fold in ("games-A", "games-B", "styles"):
        X0, y0 = z[fold + "/vectors"], z[fold + "/labels"]
        X0 = (X0 / np.linalg.norm(X0, axis=1, keepdims=True)).astype(np.float32)
        for n in (12, 20, 30, len(X0)):
            draws = [np.arange(n)] if n == len(X0) else [np.random.default_rng(d).choice(len(X0), n, replace=False)
                                                         for d in range(10)]
            got = {"dense AP": [], "centroids, K = N/5": [], "centroids, K = N/3": []}
            for i in draws:
                X, y = X0[i], y0[i]
                got["dense AP"].append(_score(y, *C._ap(X @ X.T, None, 0)))
                for div in (5, 3):
                    got[f"centroids, K = N/{div}"] += [_score(y, *_ap_of_centroids(X, div, s)) for s in range(5)]
            for path, rows in got.items():
                k, a, r = np.mean(rows, axis=0)
                sa, sr = np.std(rows, axis=0)[1:]
                print(f"| {fold} | {n}{'' if n == len(X0) else ' (10 draws)'} | {len(set(y0))} | {path} | {k:.1f} | "
                      f"{a:.3f} ± {sa:.3f} | {r:.3f} ± {sr:.3f} |", flush=True)


def synthetic():
    from muzip.library import cluster as C
    from scripts.experiments.exp_map_speed import vectors
    emb, which = vectors(10000, spread=1.5)
    print("\n| tracks | path | clusters | NMI | ARI |")
    print("|---:|---|---:|---:|---:|")
    for n in (1000, 2000, 3000, 5000, 10000):
        i = np.random.default_rng(0).choice(len(emb), n, replace=False)
        X, y = emb[i], which[i]
        rows = []
        if n <= 3000:
            rows.append(("dense AP", _score(y, *C._ap(X @ X.T, None, 0))))
        rows.append(("centroids as shipped (K = N/5, at most 1,000)", _score(y, *_ap_of_centroids_shipped(X))))
        rows.append(("weighted AP of centroids (imitating dense)", _score(y, *_weighted_ap(X, min(1000, n // 2), 0))))
        for path, (k, a, r) in rows:
            print(f"| {n:,} | {path} | {k} | {a:.3f} | {r:.3f} |", flush=True)


def _ap_of_centroids_shipped(X):
    from muzip.library import cluster as C
    saved, C.DENSE_MAX = C.DENSE_MAX, 0  # the centroids' path at any size
    try:
        return C.affinity_clusters(X)
    finally:
        C.DENSE_MAX = saved


if __name__ == "__main__":
    folds()
    synthetic()
