"""Does the product's sampling cost embed-v3 anything? `muzip index` describes a track from up to 48 one-second
frames in runs of 4 s spread over it (muzip.library.embed.frame_runs); the leave-one-corpus-out experiment
(exp_embed_v3.py) describes each 60-s excerpt as one run. Here each excerpt is described from 48 s in runs of
R s (R = 48: one run) and scored with the fold's held-out recipe (held_out_fold), the collection statistics
from the same descriptors; the 15-s segments (P@1) are one run either way.

    .venv/bin/python -m scripts.experiments.exp_run_length [--runs 4,8,12,16,48]
    .venv/bin/python -m scripts.experiments.exp_run_length --runs 4,8,48 --patterns   # session 46
    .venv/bin/python -m scripts.experiments.exp_run_length --runs 4,8,48 --patterns --pattern-floor 10   # embed-v5

--patterns: the descriptors with onset patterns (muzip/library/onset_patterns.py, whose 5.12-s windows a 4-s
run holds only zero-padded), the recipe's training segments also played faster or slower (--varied 0.04), and
the classifier reading the descriptor without the patterns.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import VERSION  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402
from scripts.experiments import exp_embed_v3  # noqa: E402
from scripts.experiments.exp_embed_v3 import classifier_features, held_out_fold, unit  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, describe, floor_key  # noqa: E402

SAMPLED_S = 48


def runs_descriptor(path: str, run_s: int) -> np.ndarray:
    """The excerpt's descriptor from SAMPLED_S seconds in runs of run_s seconds spread evenly over it."""
    x = L.excerpt(path)
    n = len(x) // L.RATE
    if n <= SAMPLED_S:
        return describe(_coeffs(x), L.RATE)
    starts = np.unique(np.linspace(0, n - run_s, SAMPLED_S // run_s).round().astype(int))
    return describe([_coeffs(x[s * L.RATE:(s + run_s) * L.RATE]) for s in starts], L.RATE)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="4,8,12,16,48", help="run lengths in seconds")
    ap.add_argument("--patterns", action="store_true")
    ap.add_argument("--pattern-floor", type=float, help="with --patterns: their floor (onset_patterns.FLOOR_DB; "
                    "10: version 2, embed-v5)")
    a = ap.parse_args()
    lengths = [int(r) for r in a.runs.split(",")]
    embed_v3_data.PATTERNS = a.patterns
    embed_v3_data.PATTERN_FLOOR_DB = a.pattern_floor
    exp_embed_v3.LR_PATTERNS = not a.patterns
    res = {}
    for fold in L.FOLDS:
        h = held_out_fold(fold, varied=0.04 if a.patterns else 0.0)
        for R in lengths:
            XR = np.array([cached(f"{floor_key()}runs{VERSION}:{R}:" + p, lambda p=p, R=R: runs_descriptor(p, R))
                           for _, p in h["tracks"]])
            E = np.concatenate([XR, h["A"], h["B"]])
            mc, sc = E.mean(axis=0), E.std(axis=0) + 1e-9
            V = [unit(((v - mc) / sc) @ h["W"]) for v in (XR, h["A"], h["B"])]
            res[fold, R] = score_vectors(*V, h["y"], features=classifier_features(XR, h["W"], mc, sc))
            print(fold, R, " ".join(f"{m} {res[fold, R][m]:.3f}" for m in METRICS), flush=True)
    for R in lengths:
        print("mean", R, " ".join(f"{m} {np.mean([res[f, R][m] for f in L.FOLDS]):.3f}" for m in METRICS))


if __name__ == "__main__":
    main()
