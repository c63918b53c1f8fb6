"""Does a key-bearing chroma beside embed-v3's vector help retrieval? (issue 25: segment P@1 on the styles fold)

    .venv/bin/python -m scripts.experiments.exp_key_chroma [--weights 0,0.25,0.5,0.75,1]

embed-v3's descriptors hold a key-free chroma (rotated, DFT magnitudes), so two segments of one piece are not
matched by their key. Here each fold's recipe vector (refitted without the fold's corpus, as
scripts/experiments/exp_embed_v3.py --coded, whose cache it reads) is concatenated with the mean log-chroma
of the excerpt or segment (standardized by the collection, unit length, times a weight), and scored as
scripts/bench/library_loco.py: 1-NN, segment P@1 and NMI (the classifier's columns are left out).
"""
import argparse
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import EPS, _chroma_matrix, _pairs  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import score_vectors  # noqa: E402
from scripts.experiments.exp_embed_v3 import held_out_fold, unit  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached  # noqa: E402

SHOWN = ("accuracy_1nn", "macro_f1_1nn", "p_at_1", "nmi")


def chroma(x) -> np.ndarray:
    """The mean chroma (12,) of audio through the descriptors' own chroma bins (absolute pitch classes)."""
    c = _coeffs(x)
    mid = _pairs(np.asarray(c[0], np.float64) ** 2)
    ch = mid @ _chroma_matrix(c.shape[-1], L.RATE)
    return (ch / (ch.sum(axis=1, keepdims=True) + EPS)).mean(axis=0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1")
    a = ap.parse_args()
    weights = [float(w) for w in a.weights.split(",")]
    means = {w: [] for w in weights}
    for fold in L.FOLDS:
        f = held_out_fold(fold)
        W, tracks, y, X, A, B, mc, sc = (f[k] for k in ("W", "tracks", "y", "X", "A", "B", "mc", "sc"))
        parts = [np.array([cached(f"chroma1:{i}{p}", lambda p=p, i=i: chroma(
            [L.excerpt(p), *L.segments(L.excerpt(p))][i])) for _, p in tracks]) for i in range(3)]
        logs = [np.log(c + 1e-3) for c in parts]
        allc = np.concatenate(logs)
        m2, s2 = allc.mean(axis=0), allc.std(axis=0) + 1e-9
        for w in weights:
            V = [unit(np.concatenate([unit(((v - mc) / sc) @ W), w * unit((c - m2) / s2)], axis=1))
                 for v, c in zip((X, A, B), logs)]
            r = score_vectors(*V, y)
            means[w].append([r[k] for k in SHOWN])
            print(fold, f"chroma weight {w:g}:", " ".join(f"{k} {r[k]:.3f}" for k in SHOWN), flush=True)
    for w in weights:
        print(f"mean, chroma weight {w:g}:", " ".join(f"{k} {v:.3f}" for k, v in
                                                    zip(SHOWN, np.mean(means[w], axis=0))))


if __name__ == "__main__":
    main()
