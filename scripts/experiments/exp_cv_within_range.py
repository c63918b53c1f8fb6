"""What bringing each test input into its training split's range (as `muzip classify predict` does since
session 56) changes in the cross-validated logistic regression (session 57).

    .venv/bin/python -m scripts.experiments.exp_cv_within_range   # log: docs/logs/cv_within_range_s57.log

On the held-out embed-v5 recipe's excerpt vectors of each leave-one-corpus-out fold
(docs/logs/embed_v5_loco_s47_vectors.npz; the vectors only, not the descriptor the product's regression also
reads), muzip.library.classify.cross_validate with and without within_range.
"""

from __future__ import annotations

import numpy as np


def main():
    from muzip.library.classify import cross_validate
    z = np.load("docs/logs/embed_v5_loco_s47_vectors.npz")
    print("| fold | tracks | accuracy, as the benchmark | within range | macro-F1, as the benchmark | within range |")
    print("|---|---:|---:|---:|---:|---:|")
    for fold in ("games-A", "games-B", "styles"):
        X, y = z[fold + "/vectors"], np.unique(z[fold + "/labels"], return_inverse=True)[1]
        plain, clipped = (cross_validate(X, y, np.arange(len(y)), within_range=w) for w in (False, True))
        print(f"| {fold} | {len(y)} | {plain['accuracy']:.3f} | {clipped['accuracy']:.3f} | {plain['macro_f1']:.3f} "
              f"| {clipped['macro_f1']:.3f} |")


if __name__ == "__main__":
    main()
