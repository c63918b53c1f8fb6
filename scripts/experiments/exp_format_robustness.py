"""How far `muzip similar` moves a track when the file is another format of the same recording: a lossy copy, a
low-rate rip, the `.mz` of either (issue 25's duplicates are found by fingerprints; this is the embedding).

    .venv/bin/python -m scripts.experiments.exp_format_robustness [--tracks 24] [--seconds 90] [--embedder NAME]

The originals and their versions are dupes_bench's (corpus tracks' middles as FLAC; MP3 128 kbps, Opus 64 kbps,
FLAC at 22.05 and 16 kHz), plus the `.mz` at 24 kbps of the original and of the 22.05-kHz copy (an old rip
compressed) by the default model. Every file is read and described as `muzip index` does
(muzip.library.coefficients), the collection is all of them (its statistics, as a catalog's), and each
version queries the originals: how often its own original is the nearest, and their cosine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from scripts.bench.dupes_bench import RATE, originals, write_versions

KINDS = ("mp3", "opus", "mz24", "22k", "16k", "22k_mz24")


def versions(folder: Path, k: int, x, model) -> dict:
    from muzip.codec import compress_array
    paths = {kind: p for kind, p in write_versions(folder, k, x).items() if kind in ("flac", *KINDS)}
    paths["mz24"] = folder / f"{k}_24.mz"
    paths["mz24"].write_bytes(compress_array(x, RATE, 24, model))
    low, rate = sf.read(paths["22k"], dtype="float32", always_2d=True)
    paths["22k_mz24"] = folder / f"{k}_22k_24.mz"
    paths["22k_mz24"].write_bytes(compress_array(low, rate, 24, model))
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tracks", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=90.0)
    ap.add_argument("--embedder", default=None, help="an installed embedder (default: muzip's)")
    a = ap.parse_args()
    from muzip.codec import load_model
    from muzip.library import load_embedder
    from muzip.library.coefficients import coefficient_runs
    embed, _ = load_embedder(*([a.embedder] if a.embedder else []))
    model = load_model()
    raw = {}  # (original, kind) -> raw descriptor
    with tempfile.TemporaryDirectory() as tmp:
        for k, (path, x) in enumerate(originals(a.tracks, a.seconds)):
            for kind, p in versions(Path(tmp), k, x, model).items():
                runs, rate, _ = coefficient_runs(str(p), load_model)
                raw[k, kind] = embed.describe(runs, rate)
            print(f"{k + 1}: {path}", flush=True)
    keys = sorted(raw)
    X = np.stack([raw[key] for key in keys])
    V = dict(zip(keys, embed.project(X, embed.stats(X))))
    n = len({k for k, _ in keys})
    originals_v = np.stack([V[k, "flac"] for k in range(n)])
    out = {"embedder": embed.name, "originals": n}
    for kind in KINDS:
        sims = np.stack([originals_v @ V[k, kind] for k in range(n)])  # (query, original)
        own = np.diag(sims)
        others = np.where(np.eye(n, dtype=bool), -np.inf, sims).max(axis=1)  # the nearest other original
        out[kind] = {"own_first": float(np.mean(sims.argmax(axis=1) == np.arange(n))),
                     "own_cosine": round(float(own.mean()), 3), "own_cosine_min": round(float(own.min()), 3),
                     "margin_min": round(float((own - others).min()), 3)}
        print(f"{kind:9s} own original first {out[kind]['own_first']:.3f}  cosine {own.mean():.3f} "
              f"(lowest {own.min():.3f}); lowest margin over the nearest other {out[kind]['margin_min']:+.3f}",
              flush=True)
    # a file against its own .mz: what `similar` sees of compressing that file
    for src, mz in (("flac", "mz24"), ("22k", "22k_mz24")):
        cos = np.array([float(V[k, src] @ V[k, mz]) for k in range(n)])
        out[f"{src} vs {mz}"] = {"cosine": round(float(cos.mean()), 3), "cosine_min": round(float(cos.min()), 3)}
        print(f"{src} against its {mz}: cosine {cos.mean():.3f} (lowest {cos.min():.3f})", flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
