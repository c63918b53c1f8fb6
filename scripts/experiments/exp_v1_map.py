"""Can muzip-v1's decoded `.mz` be mapped back towards its audio's descriptors? (issue 25, session 45)

v1's files, described from their decoded sampled runs, lose segment P@1 against the audio (-0.080 at 24 kbps,
-0.035 at 64: session 44): its decoder network changes how the timbre varies from frame to frame, which no
equalization undoes and which a projection trained with v1 files in each class absorbs only a little (session
43). Here a ridge regression from a v1 file's standardized descriptor to its audio's, fitted on each fold's
*training* segments (each segment's plain version against its muzip-v1 version at 16-64 kbps, from the
cache of `exp_embed_v3 --also muzip-v1`; the two versions carry independent gain/tilt draws, which the
regression sees as noise), then the collection indexed from v1 files at 24 kbps is mapped before the
recipe (its own statistics, the held-out LDA 128). Rows: the audio, the v1 files as `index` reads them, and
mapped with ridge penalties LAMBDAS (times the number of training pairs).

    .venv/bin/python -m scripts.experiments.exp_v1_map [--kbps 24]
"""

from __future__ import annotations

import argparse
import hashlib
import os

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.descriptors import VERSION  # noqa: E402
from muzip.library.projection import fit_projection  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.bench.library_loco import METRICS, score_vectors  # noqa: E402
from scripts.experiments.exp_embed_v3 import classifier_features, eval_vectors, eval_vectors_mz, unit  # noqa: E402
from scripts.models.embed_v3_data import ALSO_RATES, CACHE, segment_descriptors  # noqa: E402

LAMBDAS = (0.01, 0.1, 1.0)


def _cached_only(key):
    path = CACHE / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".npy")
    return np.load(path) if path.exists() else None


def training_pairs(files):
    """(audio descriptors, v1 descriptors) of the same training segments, from the experiments' cache."""
    plain, coded = [], []
    for p in files:
        segs = _cached_only(f"train{VERSION}c:6:{p}")
        v1 = _cached_only(f"also{VERSION}:muzip-v1:{ALSO_RATES}:6:{p}")
        if segs is None or v1 is None or len(segs) < 2:
            continue
        a = segs[0::2]  # plain and coded versions alternate (embed_v3_data.file_segments)
        if len(a) == len(v1):
            plain.append(a), coded.append(v1)
    return np.concatenate(plain), np.concatenate(coded)


def ridge(Z, T, lam):
    """(d, d) argmin |Z M - T|^2 + lam * n * |M|^2 (Z, T standardized)."""
    n, d = Z.shape
    return np.linalg.solve(Z.T @ Z + lam * n * np.eye(d), Z.T @ T)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kbps", type=float, default=24.0)
    a = ap.parse_args()
    results = {}
    for fold in L.FOLDS:
        files = L.training_files(fold)
        Xt, yt, corpora = segment_descriptors(files, 6, coded=True, varied=0.04)
        W = fit_projection(Xt, yt, corpora, 128)["scalings"]
        P, V = training_pairs(files)
        mp, sp = P.mean(axis=0), P.std(axis=0) + 1e-9
        mv, sv = V.mean(axis=0), V.std(axis=0) + 1e-9
        tracks = L.fold_tracks(fold)
        classes = sorted({lab for lab, _ in tracks})
        y = np.array([classes.index(lab) for lab, _ in tracks])
        audio = eval_vectors(tracks)
        v1 = eval_vectors_mz(tracks, a.kbps, "muzip-v1")
        rows = {"audio": audio, f"muzip-v1 .mz {a.kbps:g} kbps": v1}
        for lam in LAMBDAS:
            M = ridge((V - mv) / sv, (P - mp) / sp, lam)
            rows[f"v1, mapped (lambda {lam:g})"] = [((v - mv) / sv) @ M * sp + mp for v in v1]
        ref = None
        for name, XAB in rows.items():
            E = np.concatenate(XAB)
            m, s = E.mean(axis=0), E.std(axis=0) + 1e-9
            vecs = [unit(((v - m) / s) @ W) for v in XAB]
            r = score_vectors(*vecs, y, features=classifier_features(XAB[0], W, m, s))
            ref = vecs[0] if ref is None else ref
            r["own cosine"] = float(np.mean(np.sum(ref * vecs[0], axis=1)))
            results.setdefault(name, {})[fold] = r
            print(fold, f"({len(P)} pairs)", name, " ".join(f"{k} {r[k]:.3f}" for k in (*METRICS, "own cosine")),
                  flush=True)
    for name, r in results.items():
        print("mean", name, " ".join(f"{k} {np.mean([v[k] for v in r.values()]):.3f}"
                                     for k in (*METRICS, "own cosine")))


if __name__ == "__main__":
    main()
