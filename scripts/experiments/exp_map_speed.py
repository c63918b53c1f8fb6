"""How much of a 10,000-track map's t-SNE can go before the map changes (issue 25: `map` of 10,000 tracks < 60 s).

    .venv/bin/python -m scripts.experiments.exp_map_speed [--tracks 10000] [--png DIR]   # docs/logs/map_speed_*.log

The vectors are library_speed's (the default embedder's prior, 50 clusters, projected as `index` projects them).
Each setting of scikit-learn's Barnes-Hut t-SNE (iterations, angle) is timed and scored against the embedding:
- kept: the share of each track's 10 nearest tracks (cosine) that are among its 10 nearest on the map;
- trust: sklearn.manifold.trustworthiness (10 neighbours), on a sample of 3,000 tracks' maps (it is O(N^2));
- same: the share of each track's 10 nearest on the map that come from its own cluster (the 50 centres);
- kl: t-SNE's own objective at its end (KL divergence, as scikit-learn's Barnes-Hut reckons it).
With --png, each map is drawn coloured by centre, to look at.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

SETTINGS = [(1000, 0.5), (1000, 0.7), (750, 0.5), (500, 0.5), (750, 0.6), (600, 0.6), (500, 0.7)]


def vectors(n: int, spread: float = 0.5, seed: int = 0):
    """(unit vectors (n, D), centre of each), drawn as scripts.bench.library_speed draws a catalog's (spread 0.5:
    50 clusters a map keeps apart; 1.5: clusters that overlap, as a collection's genres do)."""
    from muzip.library import load_embedder
    embed, _ = load_embedder()
    rng = np.random.default_rng(seed)
    sd = np.sqrt(embed.prior_var)
    centres = embed.prior_mean + sd * rng.standard_normal((50, sd.size))
    which = rng.integers(0, 50, n)
    raw = (centres[which] + spread * sd * rng.standard_normal((n, sd.size))).astype(np.float32)
    return embed.project(raw, embed.stats()).astype(np.float32), which


def nearest(points: np.ndarray, k: int, cosine: bool) -> np.ndarray:
    """(N, k) each row's k nearest other rows, in chunks (no N x N matrix)."""
    out = np.zeros((len(points), k), int)
    sq = (points ** 2).sum(1)
    for lo in range(0, len(points), 1000):
        block = points[lo:lo + 1000]
        d = -(block @ points.T) if cosine else sq[lo:lo + 1000, None] - 2 * block @ points.T + sq[None]
        d[np.arange(len(block)), np.arange(lo, lo + len(block))] = np.inf
        out[lo:lo + 1000] = np.argpartition(d, k, axis=1)[:, :k]
    return out


def score(emb: np.ndarray, xy: np.ndarray, which: np.ndarray, k: int = 10) -> dict:
    from sklearn.manifold import trustworthiness
    high, low = nearest(emb, k, True), nearest(xy, k, False)
    kept = np.mean([len(set(a) & set(b)) / k for a, b in zip(high.tolist(), low.tolist())])
    sample = np.random.default_rng(1).choice(len(emb), min(3000, len(emb)), replace=False)
    trust = trustworthiness(emb[sample], xy[sample], n_neighbors=k, metric="cosine")
    return {"kept": round(float(kept), 4), "trust": round(float(trust), 4),
            "same": round(float(np.mean(which[low] == which[:, None])), 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=10000)
    ap.add_argument("--png", help="a folder for each setting's map")
    ap.add_argument("--spread", type=float, default=0.5,
                    help="of each cluster, in the prior's sd (0.5: library_speed's)")
    ap.add_argument("--settings", default=",".join(f"{i}:{g}" for i, g in SETTINGS), help="ITER:ANGLE,...")
    a = ap.parse_args()
    from sklearn.manifold import TSNE
    emb, which = vectors(a.tracks, a.spread)
    for max_iter, angle in [(int(i), float(g)) for i, g in (x.split(":") for x in a.settings.split(","))]:
        t = time.perf_counter()
        tsne = TSNE(n_components=2, perplexity=30.0, metric="cosine", init="pca", random_state=0, max_iter=max_iter,
                    angle=angle)
        xy = tsne.fit_transform(emb)
        took = time.perf_counter() - t
        print(json.dumps({"spread": a.spread, "max_iter": max_iter, "angle": angle, "s": round(took, 1),
                          "kl": round(float(tsne.kl_divergence_), 4), **score(emb, xy, which)}), flush=True)
        draw_map(a, xy, which, max_iter, angle)
    from muzip.library import tsne_map
    t = time.perf_counter()
    xy = tsne_map.tsne_2d(emb)  # muzip's own: above LARGE_MAP, its iterations and its neighbour search
    print(json.dumps({"spread": a.spread, "muzip": f"tsne_2d ({tsne_map.LARGE_MAP_ITER} iterations above "
                      f"{tsne_map.LARGE_MAP} tracks)", "s": round(time.perf_counter() - t, 1),
                      **score(emb, xy, which)}), flush=True)
    draw_map(a, xy, which, "muzip", 0.5)


def draw_map(a, xy, which, max_iter, angle):
    if not a.png:
        return
    from muzip.library.tsne_map import draw
    os.makedirs(a.png, exist_ok=True)
    draw(xy, [f"centre {c:02d}" for c in which], {}, os.path.join(a.png, f"map_{a.spread}_{max_iter}_{angle}.png"),
         f"{a.tracks} tracks (spread {a.spread}), t-SNE {max_iter} iterations, angle {angle}")


if __name__ == "__main__":
    main()
