"""Where `cluster` should stop running dense Affinity Propagation (issue 25: cluster of 10,000 tracks < 60 s).

    .venv/bin/python -m scripts.experiments.exp_cluster_threshold [--dense-max 2000] [--sizes 1000,2000,...]
    # log: docs/logs/cluster_threshold_s54.log

Up to cluster.DENSE_MAX tracks AP runs on the tracks themselves (its time grows as N^2 per iteration, and the
iterations it needs vary with the catalog), above it on k-means centroids. Catalogs of each size are drawn from
exp_map_speed's vectors (the default embedder's prior, 50 overlapping clusters: spread 1.5), and each is
clustered as `muzip cluster` clusters it, with DENSE_MAX as given: wall time, clusters found, AP iterations.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dense-max", type=int, default=None, help="cluster.DENSE_MAX for this run (default: as shipped)")
    ap.add_argument("--sizes", default="1000,2000,2001,3000,4000,5000,5001,10000")
    ap.add_argument("--draws", type=int, default=2, help="catalogs drawn at each size")
    a = ap.parse_args()
    from muzip.library import cluster as C
    from scripts.experiments.exp_map_speed import vectors
    if a.dense_max is not None:
        C.DENSE_MAX = a.dense_max
    emb, _ = vectors(10000, spread=1.5)
    print(f"DENSE_MAX {C.DENSE_MAX}, CENTROIDS {C.CENTROIDS}")
    print("| tracks | path | clusters | wall s |")
    print("|---:|---|---|---|")
    for n in map(int, a.sizes.split(",")):
        found, walls = [], []
        for draw in range(a.draws):
            sub = emb[np.random.default_rng(draw).choice(len(emb), n, replace=False)]
            t = time.perf_counter()
            _, exemplars = C.affinity_clusters(sub)
            walls.append(time.perf_counter() - t)
            found.append(len(exemplars))
        path = "dense" if n <= C.DENSE_MAX else "centroids"
        print(f"| {n:,} | {path} | {' / '.join(map(str, found))} | {' / '.join(f'{w:.1f}' for w in walls)} |",
              flush=True)


if __name__ == "__main__":
    main()
