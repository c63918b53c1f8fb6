"""embed-v1 measured so that no test track is ever trained on: one embedding network per test fold.

Used by scripts/bench/library_bench.py. For a labelled set (label, path) split into 5 folds by track
(StratifiedGroupKFold, seed 0, as muzip.library.classify.cross_validate): for each fold, embed-v1 is
trained from scratch (scripts/models/train_embed.py train_net) on every prepared track except the fold's test
tracks and the corpus validation tracks; the set's tracks are embedded with that network (from the
prepared band sequences of their audio, sampled as the runtime samples them); a logistic regression
is fitted on the fold's training tracks and predicts its test tracks. Unsupervised metrics (segment
P@1, NMI of Affinity Propagation) are computed among each fold's test tracks and averaged over folds,
for every feature set alike (the *per-fold* columns), since vectors of different networks cannot be
compared with each other.
"""

import numpy as np

from scripts.bench.library_folds import FOLDS, folds, per_fold_unsupervised

# The recipe measured per fold (and shipped as embed-v2): pitch-aware v2 sequences, supervised head weight 1.
# embed-v1 was v1 sequences (in_dim 72), self-supervised (label weight 0).
RECIPE = {"name": "embed-v2 (per-fold networks)", "label_weight": 1.0, "in_dim": None}
STEPS_PER_S = 44100 / 252 / 4  # band steps per 1-s codec frame (175 latents, pooled by 4)


def run_windows(seq: np.ndarray, window: int, lo: int = 0, hi: int | None = None) -> list[np.ndarray]:
    """The windows the runtime embeds (frame runs of 4 s spread over [lo, hi) frames), from a band sequence."""
    from muzip.library.embed import frame_runs
    from muzip.library.net import windows
    spf = STEPS_PER_S
    hi = int(len(seq) / spf) if hi is None else hi
    n = max(hi - lo, 1)
    out = []
    for r in frame_runs(n):
        a, b = int(round((lo + r[0]) * spf)), int(round((lo + r[-1] + 1) * spf))
        out += windows(seq[a:b], window)
    return out or [seq[:window]]


def track_vectors(net, seqs, window, halves=False) -> np.ndarray:
    """Unit track embeddings (or (first-half, second-half) pairs) of band sequences through a Keras net."""
    out = []
    for seq in seqs:
        n = int(len(seq) / STEPS_PER_S)
        parts = [(0, n // 2), (n // 2, n)] if halves else [(0, None)]
        for lo, hi in parts:
            wins = run_windows(seq, window, lo, hi)
            full = [w for w in wins if len(w) == window]
            z = [np.asarray(net(np.stack(full)))] if full else []
            z += [np.asarray(net(w[None])) for w in wins if len(w) != window]
            z = np.concatenate(z)
            z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-9
            m = z.mean(axis=0)
            out.append(m / (np.linalg.norm(m) + 1e-9))
    V = np.array(out, np.float32)
    return (V[0::2], V[1::2]) if halves else V


def evaluate(tracks, y, others: dict, steps: int, log=print, label_weight: float = RECIPE["label_weight"],
             in_dim: int | None = RECIPE["in_dim"], name: str = RECIPE["name"]) -> dict:
    """embed-v1 by folds, and the per-fold unsupervised metrics of the other feature sets.

    tracks: paths; y: int labels; others: name -> (X, A, B) whole-set unit vectors (track, halves)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from scripts.models import train_embed as T
    seqs = [np.asarray(v[0]) for v in T.load_cache(tracks, in_dim=in_dim)]
    if len(seqs) != len(tracks):
        raise SystemExit("embed_eval: run `python -m scripts.models.train_embed prepare` first (some tracks are not prepared)")
    splits = folds(y)
    pred = np.zeros(len(y), int)
    fold_vectors = []
    for k, (tr, te) in enumerate(splits):
        data, kept = T.load_cache(T.training_tracks(exclude=[tracks[i] for i in te]), with_paths=True,
                                   in_dim=in_dim)
        log(f"fold {k + 1}/{FOLDS}: training on {len(data)} tracks, {steps} steps")
        net, cfg, state = T.train_net(data, steps, seed=k, log=lambda s: None,
                                      labels=[T.track_label(p) for p in kept], label_weight=label_weight)
        X = track_vectors(net, seqs, cfg["window"])
        A, B = track_vectors(net, [seqs[i] for i in te], cfg["window"], halves=True)
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(X[tr], y[tr])
        pred[te] = clf.predict(X[te])
        fold_vectors.append((X[te], A, B))
        log(f"fold {k + 1}: accuracy {np.mean(pred[te] == y[te]):.3f}, loss {state['losses'][-1][1]:.3f}")
    res = {name: {
        "accuracy": float(np.mean(pred == y)), "macro_f1": float(f1_score(y, pred, average="macro")),
        **per_fold_unsupervised(lambda k, te: fold_vectors[k], y, splits)}}
    for name, (X, A, B) in others.items():
        res[name] = per_fold_unsupervised(lambda k, te: (X[te], A[te], B[te]), y, splits)
    return res


def main():
    """Experiments: the per-fold embedder figures of one labelled set, without the rest of library_bench."""
    import argparse
    import json
    import os
    import time
    from scripts.bench.library_folds import labelled_tracks, styles_tracks
    os.environ.setdefault("MUZIP_THREADS", "1")  # one core, as when this main imported library_bench
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("set", choices=["soundtracks", "styles"])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--label-weight", type=float, default=RECIPE["label_weight"])
    ap.add_argument("--features", choices=["v1", "v2"], default="v2")
    a = ap.parse_args()
    tracks = labelled_tracks(20) if a.set == "soundtracks" else styles_tracks(20)
    classes = sorted({lab for lab, _ in tracks})
    y = np.array([classes.index(lab) for lab, _ in tracks])
    t0 = time.time()
    res = evaluate([p for _, p in tracks], y, {}, a.steps, label_weight=a.label_weight,
                   in_dim=72 if a.features == "v1" else None)
    print(json.dumps({"set": a.set, "steps": a.steps, "label_weight": a.label_weight, "features": a.features,
                      "seconds": round(time.time() - t0), **res}), flush=True)


if __name__ == "__main__":
    main()
