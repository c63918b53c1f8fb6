"""Which of `cluster`'s two granularities matches labelled music better (issue 25, session 55).

    .venv/bin/python -m scripts.experiments.exp_cluster_granularity   # log: docs/logs/cluster_granularity_s55.log

Dense Affinity Propagation (median preference, on the tracks: up to cluster.DENSE_MAX) finds far more clusters
than AP on k-means centroids (K = N/5: above it). On the held-out folds' excerpt vectors of the embed-v5 recipe
(docs/logs/embed_v5_loco_s47_vectors.npz; label = soundtrack or style), both paths are run on each fold at its
size (the centroids' path forced), with K = N/5 as shipped and N/2 as probed in session 54: clusters found, NMI
and adjusted Rand index against the labels (the centroids' path averaged over 5 k-means seeds).
"""

from __future__ import annotations

import numpy as np


def main():
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from muzip.library import cluster as C
    z = np.load("docs/logs/embed_v5_loco_s47_vectors.npz")
    sets = {f: (z[f + "/vectors"], z[f + "/labels"]) for f in ("games-A", "games-B", "styles")}
    sets["games-A+B"] = tuple(np.concatenate([sets["games-A"][k], sets["games-B"][k]]) for k in (0, 1))
    print("| fold | tracks | labels | path | clusters | NMI | ARI |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for name, (X, y) in sets.items():
        X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
        n, rows = len(X), []
        labels, exemplars = C._ap(X @ X.T, None, 0)
        rows.append(("dense AP", len(exemplars), normalized_mutual_info_score(y, labels),
                     adjusted_rand_score(y, labels)))
        for div in (5, 2):
            got = []
            for seed in range(5):
                km = MiniBatchKMeans(n_clusters=max(2, n // div), random_state=seed, batch_size=4096, n_init=1).fit(X)
                cents = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
                c_labels, c_exemplars = C._ap(cents @ cents.T, None, seed)
                labels = c_labels[km.labels_]
                got.append((len(c_exemplars), normalized_mutual_info_score(y, labels), adjusted_rand_score(y, labels)))
            rows.append((f"centroids, K = N/{div}", *np.mean(got, axis=0)))
        for path, k, a, r in rows:
            print(f"| {name} | {n} | {len(set(y))} | {path} | {k:.1f} | {a:.3f} | {r:.3f} |", flush=True)


if __name__ == "__main__":
    main()
