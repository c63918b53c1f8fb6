"""A collection where some tracks are low-rate files (session 51): where does each belong for `cluster` and
`map`, which read one vector per track?

    .venv/bin/python -m scripts.experiments.exp_low_rate_collection [--rate 16000] [--share 0.5] [--k 3]

Per leave-one-corpus-out fold (embed-v5's recipe fitted per fold), a random SHARE of the fold's excerpts are
replaced by their copies at RATE (exp_speed_robustness.low_rate_audio; seeded). Each track's vector is (a) its
embedding, as `muzip index` stores it, or (b) for a low-rate track, the mean embedding of its K nearest
full-rate tracks in the band-limited view (muzip.library.band_limited), normalized: where the bands it keeps
put it. Scored as the benchmark scores a collection: NMI of Affinity Propagation clusters against the labels,
and leave-one-out 1-NN label accuracy; the all-audio collection's for scale.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.band_limited import top_hz, view  # noqa: E402
from muzip.library.cluster import affinity_clusters  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.experiments.exp_embed_v3 import unit  # noqa: E402
from scripts.experiments.exp_low_rate_neighbours import fold_setup, low_rate_descriptors  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402


def scored(V: np.ndarray, y: np.ndarray) -> str:
    from sklearn.metrics import normalized_mutual_info_score
    labels, _ = affinity_clusters(V)
    sim = V @ V.T
    np.fill_diagonal(sim, -np.inf)
    return f"NMI {normalized_mutual_info_score(y, labels):.3f}, 1-NN {np.mean(y[np.argmax(sim, axis=1)] == y):.3f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--k", type=int, default=3)
    a = ap.parse_args()
    embed_v3_data.PATTERNS, embed_v3_data.PATTERN_FLOOR_DB = True, 10.0
    top = top_hz(a.rate)
    for fold in L.FOLDS:
        tracks, y, X, mc, sc, W = fold_setup(fold)
        Xr = low_rate_descriptors(tracks, a.rate)
        low = np.random.default_rng(0).random(len(tracks)) < a.share
        M = np.where(low[:, None], Xr, X)  # the collection as a user has it
        m2, s2 = M.mean(axis=0), M.std(axis=0) + 1e-9  # standardized by its own tracks, as a catalog is
        V = unit(((M - m2) / s2) @ W)
        N = view(M, top)
        N = unit((N - N.mean(axis=0)) / (N.std(axis=0) + 1e-9))
        placed = V.copy()
        full = np.flatnonzero(~low)
        for i in np.flatnonzero(low):
            near = full[np.argsort(-(N[full] @ N[i]))[:a.k]]
            placed[i] = V[near].mean(axis=0)
        placed = unit(placed)
        audio = unit(((X - mc) / sc) @ W)
        print(f"{fold} ({len(tracks)} tracks, {int(low.sum())} at {a.rate} Hz): audio {scored(audio, y)}; "
              f"as stored {scored(V, y)}; placed by the bands they keep {scored(placed, y)}", flush=True)


if __name__ == "__main__":
    main()
