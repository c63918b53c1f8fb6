"""Prototype of embed-v3 on the leave-one-corpus-out folds: MDCT descriptors (muzip/library/descriptors.py),
standardized, then projected by a linear discriminant fitted with *track identity* as the class (segments of
one training track together, of different tracks apart: no labels), on the fold's training audio only.

    .venv/bin/python -m scripts.experiments.exp_embed_v3 [--segments 6] [--dims 64,128] [--out JSON]

Training segments: SEGMENTS of 15 s spread over every training file of the fold (scripts/bench/loco_sets.py
training_files), each with a random gain (+-6 dB) and spectral tilt (+-3 dB/octave) applied to its MDCT
coefficients, and one in five folded to mono. Descriptors of every file are computed once (cached in
/tmp/embed_v3_cache) and each fold picks its files. Variants: the descriptors standardized with the
training audio's statistics or with the evaluated collection's own (no labels: what a catalog can compute,
as Musly sets its style from the collection), the LDA projections (centred on the collection), and the recipe chosen for embed-v3: the LDA fitted
on training segments standardized per corpus (each Debian package or music21 folder by its own statistics)
and applied to the collection standardized by its own. Scores
as scripts/bench/library_loco.py (logistic regression and 1-NN heads, segment P@1, AP NMI).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import VERSION, descriptor  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402

CACHE = Path("/tmp/embed_v3_cache")
HOP = 882


def _coeffs(x):
    from muzip.codec.transform import analyze, to_mid_side
    ms = np.pad(to_mid_side(np.asarray(x, np.float32)), ((0, 0), (HOP, HOP)))
    return analyze(ms, HOP)


def _augment(c, rng):
    f = (np.arange(HOP) + 0.5) * L.RATE / 2 / HOP
    tilt = rng.uniform(-3, 3) / 6.02 * np.log2(np.maximum(f, 50.0) / 1000.0)
    c = c * np.float32(10 ** (rng.uniform(-6, 6) / 20)) * (2.0 ** tilt).astype(np.float32)
    if rng.random() < 0.2 and c.shape[0] > 1:
        c = c.copy()
        c[1] = 0.0
    return c


def file_segments(path, count, rng):
    """Descriptors of `count` augmented 15-s segments spread over the file (fewer if it is short)."""
    import soundfile as sf
    import soxr
    info = sf.info(path)
    seg = L.SEGMENT_S
    if info.duration < seg + 1:
        return []
    starts = np.linspace(0, info.duration - seg, count + 2)[1:-1] if info.duration > 2 * seg else [0.0]
    out = []
    with sf.SoundFile(path) as f:
        for s in starts:
            f.seek(int(s * f.samplerate))
            x = f.read(int(seg * f.samplerate), dtype="float32", always_2d=True)
            x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
            if info.samplerate != L.RATE:
                x = soxr.resample(x, info.samplerate, L.RATE).astype(np.float32)
            out.append(descriptor(_augment(_coeffs(x), rng), L.RATE))
    return out


def cached(key, fn):
    CACHE.mkdir(exist_ok=True)
    path = CACHE / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".npy")
    if path.exists():
        return np.load(path)
    v = np.asarray(fn(), np.float64)
    np.save(path, v)
    return v


def eval_vectors(tracks):
    X, A, B = [], [], []
    for _, p in tracks:
        v = cached(f"eval{VERSION}:" + p, lambda p=p: np.stack([descriptor(_coeffs(part), L.RATE)
                                                     for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
        X.append(v[0]), A.append(v[1]), B.append(v[2])
    return np.array(X), np.array(A), np.array(B)


def corpus_of(path: str) -> str:
    """The corpus a training file belongs to: its Debian package, or its music21 rendering folder."""
    parts = Path(path).relative_to(L.ROOT / "data").parts
    return parts[1] if parts[0] == "raw" else parts[0]


def per_corpus(X, corpora):
    Z = np.empty_like(X)
    for c in np.unique(corpora):
        m = corpora == c
        Z[m] = (X[m] - X[m].mean(axis=0)) / (X[m].std(axis=0) + 1e-9)
    return Z


def unit(X):
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--folds", default=",".join(L.FOLDS))
    ap.add_argument("--out", default="/tmp/embed_v3.json")
    a = ap.parse_args()
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    results = {}
    for fold in a.folds.split(","):
        files = L.training_files(fold)
        feats, ids, corpora = [], [], []
        for i, p in enumerate(files):
            rng = np.random.default_rng(int(hashlib.sha1(p.encode()).hexdigest()[:8], 16))
            segs = cached(f"train{VERSION}:{a.segments}:{p}", lambda p=p, rng=rng: np.array(file_segments(p, a.segments, rng)))
            if len(segs) >= 2:
                feats.append(segs)
                ids += [i] * len(segs)
                corpora += [corpus_of(p)] * len(segs)
        Xt, yt, corpora = np.concatenate(feats), np.array(ids), np.array(corpora)
        mu, sd = Xt.mean(axis=0), Xt.std(axis=0) + 1e-9
        tracks = L.fold_tracks(fold)
        classes = sorted({lab for lab, _ in tracks})
        y = np.array([classes.index(lab) for lab, _ in tracks])
        X, A, B = eval_vectors(tracks)
        E = np.concatenate([X, A, B])
        mc, sc = E.mean(axis=0), E.std(axis=0) + 1e-9  # the collection's own statistics (no labels)
        res = {"training_files": len(feats), "training_segments": len(Xt)}
        variants = {"standardized (training statistics)": lambda v: (v - mu) / sd,
                    "standardized (collection statistics)": lambda v: (v - mc) / sc}
        for d in (int(k) for k in a.dims.split(",")):
            lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto",
                                             n_components=min(d, len(feats) - 1, Xt.shape[1])).fit((Xt - mu) / sd, yt)
            centre = lda.transform((E - mc) / sd).mean(axis=0)
            variants[f"LDA {d} (collection-centred)"] = lambda v, lda=lda, c=centre: lda.transform((v - mc) / sd) - c
            Zt = per_corpus(Xt, corpora)  # each training corpus standardized by its own statistics, as a
            # collection is at use: the projection learns on what collection normalization leaves
            lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto",
                                             n_components=min(d, len(feats) - 1, Xt.shape[1])).fit(Zt, yt)
            variants[f"LDA {d}, per-corpus training, collection statistics"] = \
                lambda v, lda=lda: lda.transform((v - mc) / sc)
        for name, f in variants.items():
            V = [unit(f(v)) for v in (X, A, B)]
            res[name] = score_vectors(*V, y)
        results[fold] = res
        for k, v in res.items():
            if isinstance(v, dict):
                print(fold, k, " ".join(f"{m} {v[m]:.3f}" for m in METRICS), flush=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    for k in next(iter(results.values())):
        if isinstance(results[next(iter(results))][k], dict):
            print("mean", k, " ".join(f"{m} {np.mean([r[k][m] for r in results.values()]):.3f}"
                                      f"±{np.std([r[k][m] for r in results.values()]):.3f}"
                                      for m in METRICS))


if __name__ == "__main__":
    main()
