"""The seeds' designs (scripts/bench/seed_baselines.py) on the leave-one-corpus-out folds.

Each design is trained from scratch for every cross-validation split of a fold on that split's training
tracks (their 60-s excerpts, scripts/bench/loco_sets.py), predicts the test tracks' labels (the capstone's and
the mel-frame CNN's softmax, Autogroove's logistic regression on its codes), and gives the test tracks'
vectors. Their vectors exist only for a split's test tracks, so segment P@1 and AP NMI are computed among
each split's test tracks and averaged over the splits: a smaller pool than the other methods' (the whole
fold), which makes P@1 easier; the table marks them.
"""

from __future__ import annotations

import numpy as np

from scripts.bench import loco_sets as L
from scripts.bench import seed_baselines as S
from scripts.bench.library_folds import per_fold_unsupervised

KINDS = tuple(S.NAMES)


def evaluate(signals22, y, splits, kinds=KINDS, log=print) -> dict:
    """{seed name: metrics} from (excerpt, segment A, segment B) mono 22.05-kHz signals per track."""
    import os

    from sklearn.metrics import f1_score
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    feats = [[S.features_of(part) for part in parts] for parts in signals22]
    out = {}
    for kind in kinds:
        mels = [f[0][kind] for f in feats]
        segments = [(f[1][kind], f[2][kind]) for f in feats]
        pred, vectors = np.zeros(len(y), int), []
        for k, (tr, te) in enumerate(splits):
            p, X, A, B = S.run_fold(kind, mels, y, tr, te, int(y.max()) + 1, seed=k, segments=segments)
            pred[te] = p
            vectors.append((X, A, B))
        u = per_fold_unsupervised(lambda k, te: vectors[k], y, splits)
        out[S.NAMES[kind]] = {"accuracy": float(np.mean(pred == y)), "macro_f1": float(f1_score(y, pred, average="macro")),
                              "accuracy_1nn": None, "macro_f1_1nn": None,
                              "p_at_1": u["p_at_1_fold"], "nmi": u["nmi_fold"], "pool": "split"}
        log(f"  {S.NAMES[kind]}: accuracy {out[S.NAMES[kind]]['accuracy']:.3f}, P@1 (split) {u['p_at_1_fold']:.3f}")
    return out


def signals(tracks, to22):
    """The (excerpt, segment A, segment B) of each track, mono at 22.05 kHz."""
    out = []
    for _, path in tracks:
        x = L.excerpt(path)
        out.append([to22(p) for p in (x, *L.segments(x))])
    return out
