"""Make models/embed-v3: the descriptor projection (muzip/library/projection.py) fitted on the whole corpus.

    .venv/bin/python -m scripts.models.make_embed_v3 [--segments 6] [--dims 128] [--name embed-v3]
    .venv/bin/python -m scripts.models.make_embed_v3 --varied 0.04 --name embed-v3.1 \
        --loco docs/logs/embed_v3_varied4_s43.json   # session 43
    .venv/bin/python -m scripts.models.make_embed_v3 --varied 0.04 --patterns --name embed-v4 \
        --loco docs/logs/embed_v3_patterns_lr_s46.json   # session 46
    .venv/bin/python -m scripts.models.make_embed_v3 --varied 0.04 --patterns --pattern-floor 10 --name embed-v5 \
        --loco docs/logs/embed_v5_loco_s47.json   # the default since session 47
    .venv/bin/python -m scripts.models.make_embed_v3 --varied 0.04 --patterns --pattern-floor 10 --lowpass 6,16 \
        --name embed-v6 --loco docs/logs/embed_v5_lowpass_loco_s49.json   # session 49's variant, not shipped

Every file of the corpus (data/raw: the five first packages, fretsonfire-songs-muldjord, asc-music,
fb-music-high; and the music21 renders under data/styles, when rendered), six augmented 15-s segments each
(scripts/models/embed_v3_data.py), standardized per corpus, an LDA of track identity (no labels). The
files: config.json, projection.npz (the projection and the training audio's descriptor statistics, the prior
of small collections), SHA256SUMS, MODEL.md with the leave-one-corpus-out measurement of the same recipe
(docs/logs/embed_v3_loco_s42.json, scripts/experiments/exp_embed_v3.py).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("MUZIP_THREADS", "1")
import numpy as np  # noqa: E402

from muzip.library.projection import DIMS, FEATURES, PATTERN_VERSIONS, fit_projection  # noqa: E402
from scripts.bench import loco_sets as L  # noqa: E402
from scripts.models.embed_v3_data import segment_descriptors  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOCO = ROOT / "docs" / "logs" / "embed_v3_loco_s42.json"  # exp_embed_v3 --coded --dims 128 --mz 24
RECIPE = "LDA 128, per-corpus training, collection statistics"
MZ_RECIPE = "LDA 128, per-corpus training, from .mz at 24 kbps"
PRIOR_TRACKS = 20


def loco_table(loco: Path = LOCO) -> str:
    if not loco.is_file():
        return "(no leave-one-corpus-out results found)"
    r = json.loads(loco.read_text())
    keys = ("accuracy", "macro_f1", "accuracy_1nn", "macro_f1_1nn", "p_at_1", "nmi")
    lines = ["| fold | acc (LR) | F1 (LR) | acc (1-NN) | F1 (1-NN) | segment P@1 | NMI |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for recipe, what in ((RECIPE, "audio"), (MZ_RECIPE, ".mz, 24 kbps")):
        for fold, v in r.items():
            lines.append(f"| {fold}, {what} | " + " | ".join(f"{v[recipe][k]:.3f}" for k in keys) + " |")
        lines.append(f"| **mean, {what}** | " + " | ".join(f"{np.mean([v[recipe][k] for v in r.values()]):.3f}"
                                                         for k in keys) + " |")
    own = [v["own .mz cosine"] for v in r.values()]
    return "\n".join(lines) + (f"\n\nA track's vector from its audio against from its .mz (the collection indexed "
                               f"each way): cosine {np.mean([o['mean'] for o in own]):.3f} on average, lowest "
                               f"{min(o['min'] for o in own):.3f}.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--segments", type=int, default=6)
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--name", default="embed-v3")
    ap.add_argument("--plain", action="store_true", help="without the coded versions of the segments")
    ap.add_argument("--varied", type=float, default=0.0, help="each segment once more played faster or slower by "
                    "up to this relative change (embed_v3_data.segment_descriptors)")
    ap.add_argument("--lowpass", help="LO,HI: each segment once more with nothing above a random cutoff of LO-HI "
                    "kHz (embed_v3_data.segment_descriptors; session 49, not shipped)")
    ap.add_argument("--patterns", action="store_true", help="the onset patterns after the descriptors "
                    "(muzip/library/onset_patterns.py; embed-v4)")
    ap.add_argument("--pattern-floor", type=float, help="with --patterns: their floor (onset_patterns.FLOOR_DB: "
                    "10 is version 2, embed-v5; none: version 1, embed-v4)")
    ap.add_argument("--loco", type=Path, default=LOCO, help="the held-out measurement of the same recipe for the card "
                    "(exp_embed_v3 --out)")
    ap.add_argument("--cache", help="descriptor cache folder (default: scripts/models/embed_v3_data.CACHE); a new "
                    "one times the whole fit")
    a = ap.parse_args()
    from scripts.models import embed_v3_data
    embed_v3_data.PATTERNS = a.patterns
    embed_v3_data.PATTERN_FLOOR_DB = a.pattern_floor
    from muzip.library.onset_patterns import FLOOR_DB
    versions = [v for v, floor in FLOOR_DB.items() if floor == a.pattern_floor]
    if a.patterns and not versions:
        ap.error(f"--pattern-floor {a.pattern_floor:g} is no version of onset_patterns.FLOOR_DB")
    if a.cache:
        embed_v3_data.CACHE = Path(a.cache)
    from muzip.nn.writer import listed_sums, write_model_folder
    t0 = time.perf_counter()
    files = L.corpus_files()
    lowpass = embed_v3_data.lowpass_band(a.lowpass)
    X, tracks, corpora = segment_descriptors(files, a.segments, log=print, coded=not a.plain, varied=a.varied,
                                             lowpass=lowpass)
    arrays = fit_projection(X, tracks, corpora, a.dims)
    wall = time.perf_counter() - t0
    per_corpus = dict(sorted(Counter(corpora[np.unique(tracks, return_index=True)[1]]).items()))
    features = next((f for f, v in PATTERN_VERSIONS.items() if v == versions[0]), None) if a.patterns else FEATURES
    config = {"kind": "embedder", "features": features, "dim": int(arrays["scalings"].shape[1]),
              "descriptor_dim": DIMS[features], "prior_tracks": PRIOR_TRACKS,
              "training": {"files": int(len(np.unique(tracks))), "segments": int(len(X)),
                           "segment_seconds": L.SEGMENT_S, "files_per_corpus": per_corpus}}
    if a.varied:
        config["training"]["speed_change"] = a.varied
    if lowpass:
        config["training"]["lowpass_khz"] = list(lowpass)
    speeds = f"; each once more played {a.varied / 4:.0%}-{a.varied:.0%} faster or slower" if a.varied else ""
    if lowpass:
        speeds += (f"; each once more with nothing above a random {lowpass[0]:g}-{lowpass[1]:g} kHz (a copy at a "
                   "lower sample rate, an MP3's low-pass)")
    how = " ".join(w for w in ["--coded" * (not a.plain), f"--varied {a.varied:g}" * bool(a.varied), "--dims 128 --mz 24",
                               "--patterns --lr-without-patterns" * a.patterns,
                               f"--pattern-floor {a.pattern_floor:g}" * (a.pattern_floor is not None),
                               f"--lowpass {a.lowpass}" * bool(lowpass)] if w)
    buf = io.BytesIO()
    np.savez(buf, **arrays)

    def card(folder, _info):
        sums = listed_sums(folder)
        return "\n".join([
            f"# {a.name}: descriptors, the collection's statistics, a projection learned without labels", "",
            "The library's embedder: `muzip/library/descriptors.py` statistics of a track's MDCT coefficients "
            + ("and `muzip/library/onset_patterns.py`'s onset patterns (where in the spectrum which periodicities "
               "sit) " if a.patterns else "")
            + "(from its audio, or from any `.mz` through `muzip/library/coefficients.py`), standardized by the "
            "statistics of the collection they are compared in (a catalog's tracks; small collections borrow "
            f"{PRIOR_TRACKS} tracks' worth of the training audio's), projected to {config['dim']} dimensions "
            "by a linear discriminant of track identity (`muzip/library/projection.py`). No network.", "",
            f"- Data: {config['training']['files']} files of the corpus, {len(X)} augmented 15-s segments "
            f"(gain, spectral tilt, mono){'' if a.plain else ', with a coded version of each (muzip-v2.7 at 12-64 kbps or muzip-v1 at 24-64, read as `muzip index` reads a .mz)'}{speeds}, standardized per corpus: "
            + ", ".join(f"{k} {v}" for k, v in per_corpus.items()) + ".",
            f"- Training: `python -m scripts.models.make_embed_v3{f' --varied {a.varied:g}' if a.varied else ''}"
            f"{' --patterns' if a.patterns else ''}"
            f"{f' --pattern-floor {a.pattern_floor:g}' if a.pattern_floor is not None else ''}"
            f"{f' --lowpass {a.lowpass}' if lowpass else ''} --name {a.name}` ({wall:.0f} s wall, one process, "
            f"descriptors {'computed' if a.cache else 'read from the cache'}; no labels, no steps: a closed-form fit).",
            "- Measured quality: the same recipe refitted for each leave-one-corpus-out fold without the "
            f"fold's corpus (`python -m scripts.experiments.exp_embed_v3 {how}`, "
            f"{a.loco.resolve().relative_to(ROOT)}, docs/EXPERIMENTS.md; baselines in "
            "docs/LIBRARY.md). This shipped fit heard every fold's corpus, so it is not itself a "
            "held-out figure. The LR columns are `muzip classify`'s head: a logistic regression on the vector "
            "and the standardized descriptor beside it, less its flatness per octave"
            + (" and the onset patterns" if a.patterns else "") + " (DescriptorEmbedder.features):", "",
            loco_table(a.loco), "",
            "Files (sha256):", "", *[f"- `{k}` {v}" for k, v in sums.items()], ""])
    write_model_folder(ROOT / "models", a.name, identity=["config.json", "projection.npz"], card=card,
                       files={"config.json": config, "projection.npz": buf.getvalue()})
    print(f"models/{a.name}: {config['training']['files']} files, {len(X)} segments, dim {config['dim']}, "
          f"{wall:.0f} s")


if __name__ == "__main__":
    main()
