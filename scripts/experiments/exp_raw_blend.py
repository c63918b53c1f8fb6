"""The embedding beside the standardized raw descriptor it projects (session 51): does the unprojected
descriptor add to what 1-NN, P@1 and NMI read?

    .venv/bin/python -m scripts.experiments.exp_raw_blend [--weights 0.5,1,2]

exp_low_rate_neighbours found the standardized raw descriptors (band-limited, no projection) as good as the
embedding at leave-one-out 1-NN. Here, on embed-v5's held-out recipe (exp_embed_v3 --coded --varied 0.04
--dims 128 --mz 24 --patterns --lr-without-patterns --pattern-floor 10, audio only), the vectors compared are
unit([embedding, w * unit(standardized raw descriptor)]) for each weight w (0: the embedding alone, as
shipped), scored as scripts/bench/library_loco.py scores a method (the regression reads what `muzip
classify` reads, unchanged). Means over the folds, and each fold.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import score_vectors  # noqa: E402
from scripts.experiments import exp_embed_v3 as X3  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402

MEASURES = ("accuracy", "macro_f1", "accuracy_1nn", "macro_f1_1nn", "p_at_1", "nmi")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="0,0.5,1,2")
    a = ap.parse_args()
    embed_v3_data.PATTERNS, embed_v3_data.PATTERN_FLOOR_DB = True, 10.0
    X3.LR_PATTERNS = False
    weights = [float(w) for w in a.weights.split(",")]
    table = {w: [] for w in weights}
    for fold in L.FOLDS:
        f = X3.held_out_fold(fold, varied=0.04)
        mean, dev = f["mc"], f["sc"]
        feats = X3.classifier_features(f["X"], f["W"], mean, dev)

        def vectors(M, w):
            z = (M - mean) / dev
            return X3.unit(np.concatenate([X3.unit(z @ f["W"]), w * X3.unit(z)], axis=1))
        for w in weights:
            s = score_vectors(vectors(f["X"], w), vectors(f["A"], w), vectors(f["B"], w), f["y"], features=feats)
            table[w].append([s[m] for m in MEASURES])
            print(f"{fold} w={w:g}: " + " / ".join(f"{s[m]:.3f}" for m in MEASURES), flush=True)
    for w in weights:
        print(f"mean w={w:g}: " + " / ".join(f"{v:.3f}" for v in np.mean(table[w], axis=0)), flush=True)


if __name__ == "__main__":
    main()
