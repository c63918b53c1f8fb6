"""What freezing embed-v3's collection statistics costs (muzip/library/collection.py: from FREEZE_AT tracks a
catalog projects new tracks with the statistics of the tracks it had, until it has doubled).

    .venv/bin/python -m scripts.experiments.exp_frozen_stats [--shares 0.5,0.75] [--draws 5]

On each leave-one-corpus-out fold (the embed-v3 recipe refitted without the fold's corpus, as
scripts/experiments/exp_embed_v3.py --coded, whose descriptor cache it reads): the collection standardized by
the statistics of a random share of its tracks (their excerpts and segments), as a catalog that froze them
when it held that share, against all of them. Scores as scripts/bench/library_loco.py, mean over draws.
"""
import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402
from scripts.experiments.exp_embed_v3 import classifier_features, held_out_fold, unit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shares", default="0.5,0.75")
    ap.add_argument("--draws", type=int, default=5)
    a = ap.parse_args()
    shares = [1.0] + [float(s) for s in a.shares.split(",")]
    means = {s: [] for s in shares}
    for fold in L.FOLDS:
        f = held_out_fold(fold)
        W, y, X, A, B = (f[k] for k in ("W", "y", "X", "A", "B"))
        for share in shares:
            rows = []
            for draw in range(a.draws if share < 1 else 1):
                keep = np.random.default_rng(draw).permutation(len(X))[:max(2, int(round(share * len(X))))]
                E = np.concatenate([X[keep], A[keep], B[keep]])
                m, s = E.mean(axis=0), E.std(axis=0) + 1e-9
                r = score_vectors(*(unit(((v - m) / s) @ W) for v in (X, A, B)), y,
                                  features=classifier_features(X, W, m, s))
                rows.append([r[k] for k in METRICS])
            means[share].append(np.mean(rows, axis=0))
            print(fold, f"statistics of {share:.0%} of the tracks:",
                  " ".join(f"{k} {v:.3f}" for k, v in zip(METRICS, np.mean(rows, axis=0))), flush=True)
    for share in shares:
        print(f"mean, statistics of {share:.0%}:", " ".join(f"{k} {v:.3f}" for k, v in
                                                         zip(METRICS, np.mean(means[share], axis=0))))


if __name__ == "__main__":
    main()
