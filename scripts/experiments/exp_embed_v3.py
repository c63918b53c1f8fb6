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
import json
import os
from pathlib import Path

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import DIM, FLATNESS_DIMS, VERSION  # noqa: E402
from muzip.library.onset_patterns import BINS  # noqa: E402
from muzip.library.projection import fit_projection  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402
from scripts.models import embed_v3_data  # noqa: E402
from scripts.models.embed_v3_data import _coeffs, cached, describe, floor_key, mz_runs, segment_descriptors  # noqa: E402

def eval_vectors_mz(tracks, kbps, model="muzip-v2.7", noise=1.0):
    """eval_vectors of the excerpts and segments each coded by `model` at kbps, read as `muzip index` reads a .mz
    (noise: the decoder network's noise scale, embed_v3_data.mz_runs)."""
    def coded(part):
        return describe(*mz_runs(part, kbps, model, noise))
    X, A, B = [], [], []
    scale = "" if noise == 1.0 else f"noise{noise:g}:"
    for _, p in tracks:
        v = cached(f"{floor_key()}evalmz{VERSION}:{scale}{model}:{kbps}:" + p,
                   lambda p=p: np.stack([coded(part) for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
        X.append(v[0]), A.append(v[1]), B.append(v[2])
    return np.array(X), np.array(A), np.array(B)


def eval_vectors(tracks):
    X, A, B = [], [], []
    for _, p in tracks:
        v = cached(f"{floor_key()}eval{VERSION}:" + p, lambda p=p: np.stack([describe(_coeffs(part), L.RATE)
                                                     for part in (L.excerpt(p), *L.segments(L.excerpt(p)))]))
        X.append(v[0]), A.append(v[1]), B.append(v[2])
    return np.array(X), np.array(A), np.array(B)


def held_out_fold(fold: str, varied: float = 0.0) -> dict:
    """The chosen recipe on one fold, as the later experiments start from it (session 42): the coded training
    segments (Xt, yt, corpora), the LDA 128 fitted per corpus (W), the fold's tracks and labels (y), the
    excerpt and segment descriptors (X, A, B) and the collection's statistics (mc, sc)."""
    Xt, yt, corpora = segment_descriptors(L.training_files(fold), 6, coded=True, varied=varied)
    tracks = L.fold_tracks(fold)
    classes = sorted({lab for lab, _ in tracks})
    X, A, B = eval_vectors(tracks)
    E = np.concatenate([X, A, B])
    return {"Xt": Xt, "yt": yt, "corpora": corpora, "W": fit_projection(Xt, yt, corpora, 128)["scalings"],
            "tracks": tracks, "y": np.array([classes.index(lab) for lab, _ in tracks]), "X": X, "A": A, "B": B,
            "mc": E.mean(axis=0), "sc": E.std(axis=0) + 1e-9}


# --lr-without-patterns (session 46): the classifier reads the descriptor without the onset patterns.
LR_PATTERNS = True


def classifier_features(X, W, mean, dev, flatness=False):
    """What `muzip classify` reads of embed-v3 (DescriptorEmbedder.features): the unit vector and the
    standardized descriptor (without its flatness per octave unless asked: before session 42 with it)."""
    z = (X - mean) / dev
    if not LR_PATTERNS:
        z = z[:, :DIM]
    v = unit(((X - mean) / dev) @ W)
    return np.concatenate([v, z if flatness else np.delete(z, FLATNESS_DIMS, axis=1)], axis=1)


def unit(X):
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--dims", default="64,128")
    ap.add_argument("--folds", default=",".join(L.FOLDS))
    ap.add_argument("--mz", type=float, help="also score the recipe with the collection as muzip-v2.7 .mz files at "
                    "this bitrate")
    ap.add_argument("--mz-model", default="muzip-v2.7", help="the codec model of --mz (a model with a decoder "
                    "network is decoded for the sampled runs, as `muzip index` reads its files)")
    ap.add_argument("--mz-noise", type=float, default=1.0, help="with --mz-model of a decoder network: its seeded "
                    "noise input scaled by this when the collection's files are decoded (session 48)")
    ap.add_argument("--coded", action="store_true", help="each training segment's coded version in its class too "
                    "(scripts/models/embed_v3_data.py CODECS)")
    ap.add_argument("--also", default="", help="comma-separated codec models: each training segment once more "
                    "coded by each, at a bitrate of embed_v3_data.ALSO_RATES, in its class")
    ap.add_argument("--varied", type=float, default=0.0, help="each training segment once more in its class, played "
                    "faster or slower by up to this relative change (tempo and pitch together; session 43: 0.02, 0.04)")
    ap.add_argument("--eq", type=float, default=0.0, help="each training segment once more in its class, through a "
                    "random smooth EQ of up to this many dB (embed_v3_data._equalize; session 44)")
    ap.add_argument("--lowpass", help="LO,HI: each training segment once more in its class, with nothing above a "
                    "random cutoff of LO-HI kHz (an old low-rate rip; embed_v3_data._lowpass; session 49)")
    ap.add_argument("--lowpass-coded", action="store_true", help="with --lowpass: the low-passed segments made as "
                    "low-rate copies, each followed by its coded version (embed_v3_data._low_rate; session 50)")
    ap.add_argument("--floor", type=float, default=0.0, help="white noise this many dB under each run's level added "
                    "to every coefficient run before it is described, in training and at use (session 45)")
    ap.add_argument("--floor-above", type=float, default=0.0, help="with --floor: the noise only above this many "
                    "Hz (session 50)")
    ap.add_argument("--patterns", action="store_true", help="onset patterns appended to every descriptor, in "
                    "training and at use (muzip/library/onset_patterns.py; session 46)")
    ap.add_argument("--pattern-groups", type=int, default=0, help="with --patterns: keep only the lowest this many "
                    "band groups' patterns (normalized over all of them, as computed)")
    ap.add_argument("--pattern-floor", type=float, help="with --patterns: each band's onsets over a floor this many "
                    "dB under its mean in the run (onset_patterns.FLOOR_DB; 10: version 2, embed-v5; session 47)")
    ap.add_argument("--lr-without-patterns", action="store_true", help="with --patterns: the classifier reads the "
                    "vector and the descriptor without the patterns")
    ap.add_argument("--out", default="/tmp/embed_v3.json")
    ap.add_argument("--vectors", help="also save each fold's excerpt vectors of the chosen recipe (LDA 128) with "
                    "their labels and track names to this .npz (library_loco draws docs/library_map.png from it)")
    a = ap.parse_args()
    embed_v3_data.FLOOR_DB = a.floor
    embed_v3_data.FLOOR_ABOVE_HZ = a.floor_above
    embed_v3_data.PATTERNS = a.patterns
    embed_v3_data.PATTERN_FLOOR_DB = a.pattern_floor
    global LR_PATTERNS
    LR_PATTERNS = not a.lr_without_patterns
    lowpass = embed_v3_data.lowpass_band(a.lowpass)
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    results, saved = {}, {}
    for fold in a.folds.split(","):
        Xt, yt, corpora = segment_descriptors(L.training_files(fold), a.segments, coded=a.coded, varied=a.varied, eq=a.eq,
                                                 also=tuple(m for m in a.also.split(",") if m), lowpass=lowpass,
                                              lowpass_coded=a.lowpass_coded)
        keep = DIM + (a.pattern_groups * BINS if a.pattern_groups else 10 ** 6)
        Xt = Xt[:, :keep]
        feats = np.unique(yt)
        mu, sd = Xt.mean(axis=0), Xt.std(axis=0) + 1e-9
        tracks = L.fold_tracks(fold)
        classes = sorted({lab for lab, _ in tracks})
        y = np.array([classes.index(lab) for lab, _ in tracks])
        X, A, B = (v[:, :keep] for v in eval_vectors(tracks))
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
            W = fit_projection(Xt, yt, corpora, d)["scalings"]  # each training corpus standardized apart
            variants[f"LDA {d}, per-corpus training, collection statistics"] = lambda v, W=W: ((v - mc) / sc) @ W
            if d == 128:
                W128 = W
        if a.mz:  # the chosen recipe with the whole collection indexed from .mz files
            Xm, Am, Bm = (v[:, :keep] for v in eval_vectors_mz(tracks, a.mz, a.mz_model, a.mz_noise))
            Em = np.concatenate([Xm, Am, Bm])
            mm, sm = Em.mean(axis=0), Em.std(axis=0) + 1e-9
            W = fit_projection(Xt, yt, corpora, 128)["scalings"]
            of = "" if a.mz_model == "muzip-v2.7" else f" of {a.mz_model}"
            res[f"LDA 128, per-corpus training, from .mz{of} at {a.mz:g} kbps"] = score_vectors(
                *(unit(((v - mm) / sm) @ W) for v in (Xm, Am, Bm)), y, features=classifier_features(Xm, W, mm, sm))
            own = np.sum(unit(((X - mc) / sc) @ W) * unit(((Xm - mm) / sm) @ W), axis=1)
            res[f"own .mz{of} cosine"] = {"mean": float(own.mean()), "min": float(own.min())}
        for name, f in variants.items():
            V = [unit(f(v)) for v in (X, A, B)]
            recipe = name == "LDA 128, per-corpus training, collection statistics"
            res[name] = score_vectors(*V, y, features=classifier_features(X, W128, mc, sc) if recipe else None)
            if name == "LDA 128, per-corpus training, collection statistics":
                saved[fold] = (V[0], [classes[i] for i in y], [Path(p).stem for _, p in tracks])
        results[fold] = res
        for k, v in res.items():
            if isinstance(v, dict) and "mean" in v:
                print(fold, k, v, flush=True)
            elif isinstance(v, dict):
                print(fold, k, " ".join(f"{m} {v[m]:.3f}" for m in METRICS), flush=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    if a.vectors:
        np.savez(a.vectors, **{f"{f}/{k}": np.asarray(v) for f, vs in saved.items()
                               for k, v in zip(("vectors", "labels", "names"), vs)})
    for k in next(iter(results.values())):
        if isinstance(results[next(iter(results))][k], dict) and "accuracy" in results[next(iter(results))][k]:
            print("mean", k, " ".join(f"{m} {np.mean([r[k][m] for r in results.values()]):.3f}"
                                      f"±{np.std([r[k][m] for r in results.values()]):.3f}"
                                      for m in METRICS))


if __name__ == "__main__":
    main()
