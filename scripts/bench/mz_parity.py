"""Every codec model's `.mz` through the default embedder's held-out recipe, against the same recipe from audio.

    .venv/bin/python -m scripts.bench.mz_parity            # prints the table (docs/LIBRARY.md carries it)
    .venv/bin/python -m scripts.bench.mz_parity --runs 'embed_v5_lowpass_{tag}_s49.json'   # another recipe's runs

Reads the JSONs of `python -m scripts.experiments.exp_embed_v3 <REFIT_ARGS> --mz-model M` (one per model: each
fold's whole collection indexed from M's files at 24 kbps, the audio scored in the same run). The issue's
target: every mean within 0.02 of the audio's, or better.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "docs" / "logs"
# library_loco's measures, in its order (it imports this module for its report, so they are not imported back)
METRICS = ("accuracy", "macro_f1", "accuracy_1nn", "macro_f1_1nn", "p_at_1", "nmi")
NAMES = ("acc (LR)", "F1 (LR)", "acc (1-NN)", "F1 (1-NN)", "P@1", "NMI")
AUDIO = "LDA 128, per-corpus training, collection statistics"
TOLERANCE = 0.02
# (model, kbps) -> (its run's JSON, whether its .mz is decoded for the library: a decoder network)
RUNS = {("muzip-v1", 24): ("embed_v5_v1mz_s47.json", True),
        ("muzip-v2", 24): ("embed_v5_v2mz_s48.json", True),
        ("muzip-v2.1", 24): ("embed_v5_v21mz_s47.json", True),
        ("muzip-v2.2", 24): ("embed_v5_v22mz_s48.json", True),
        ("muzip-v2.3", 24): ("embed_v5_v23mz_s48.json", False),
        ("muzip-v2.4", 24): ("embed_v5_v24mz_s48.json", False),
        ("muzip-v2.5", 24): ("embed_v5_v25mz_s48.json", False),
        ("muzip-v2.6", 24): ("embed_v5_v26mz_s48.json", False),
        ("muzip-v2.7", 24): ("embed_v5_loco_s47.json", False),
        ("muzip-v1", 64): ("embed_v5_v1mz64_s48.json", True),
        ("muzip-v1", 96): ("embed_v5_v1mz96_s48.json", True)}


def _mz_key(model: str, kbps: int = 24) -> str:
    of = "" if model == "muzip-v2.7" else f" of {model}"
    return f"LDA 128, per-corpus training, from .mz{of} at {kbps} kbps"


def parity(model: str, kbps: int = 24) -> dict | None:
    """{"audio": means, "mz": means, "cosine": mean own cosine} of a model's run (None: not run yet)."""
    name, _ = RUNS[model, kbps]
    path = LOGS / name
    if not path.is_file():
        return None
    results = json.loads(path.read_text())
    key = _mz_key(model, kbps)
    own = "own .mz cosine" if model == "muzip-v2.7" else f"own .mz of {model} cosine"
    folds = list(results.values())
    return {"audio": [float(np.mean([r[AUDIO][m] for r in folds])) for m in METRICS],
            "mz": [float(np.mean([r[key][m] for r in folds])) for m in METRICS],
            "cosine": float(np.mean([r[own]["mean"] for r in folds]))}


def section() -> list[str]:
    """docs/LIBRARY.md's table of every model's .mz (the models whose run is there)."""
    lines = ["", "Every codec model's `.mz`, each fold's whole collection indexed from that model's files, "
             "against the audio through the same held-out recipe in the same run (means over the folds; "
             "`python -m scripts.bench.mz_parity`):", "",
             "| model | kbps | read as | " + " | ".join(NAMES) + " | own cosine | within 0.02 |",
             "|---|---:|---|" + "---:|" * (len(NAMES) + 2)]
    for (model, kbps), (_, decoded) in RUNS.items():
        p = parity(model, kbps)
        if p is None:
            continue
        gaps = [b - a for a, b in zip(p["audio"], p["mz"])]
        short = [n for n, g in zip(NAMES, gaps) if g < -TOLERANCE]
        cells = [f"{b:.3f} ({g:+.3f})" for b, g in zip(p["mz"], gaps)]
        lines.append(f"| {model} | {kbps} | {'decoded' if decoded else 'its coefficients'} | " + " | ".join(cells)
                     + f" | {p['cosine']:.2f} | {'yes' if not short else 'no: ' + ', '.join(short)} |")
    lines += ["", "In brackets: the `.mz` against the audio's mean of the same run. Own cosine: a track's vector from "
              "audio against its vector from the `.mz`. A model with a decoder network is decoded for the seconds "
              "`muzip index` samples. At 24 kbps muzip-v1 codes 1.2 % of its mid channel's 5-16 kHz (v2 2.9 %, v2.1"
              " 1.5 % and band gains: `python -m scripts.experiments.exp_v1_information`); its decoder network "
              "fills the rest from context. Above 6 kHz a segment's spectral shape then tells tracks apart about a "
              "third to half as well as the audio's, for v1 and v2 alike, and v2.1's band gains give it back; v1 "
              "also loses it below 6 kHz and in the cepstral covariance, flux and rhythm, where v2 does not. "
              "Without band gains a decoder misplaces each band's level: below 6 kHz v1's spectral shape is 2.5-5 "
              "dB from the audio's at 24 kbps (4-12 dB above) and 1.5-2.4 dB at 96 kbps, v2's 2-3 dB, v2.1's and "
              "v2.7's 0.5-1.4 dB (`... --identity muzip-v1,muzip-v1@96,muzip-v2,muzip-v2.1,muzip-v2.7`, "
              "docs/logs/v1_identity_s48.log). More bits do not close v1's gap: at 64 and 96 kbps its P@1 is still "
              "0.03-0.04 behind, and its regression falls further (the projection's training saw v1 files at 24-64 "
              "kbps only). So what is left uncoded is not the whole of it. No way of reading v1's files tried "
              "(sessions 42-48: its latents, an equalization, a regression to the audio's descriptor, v1 copies in "
              "the training classes, its decoder's noise at zero, its coded bins put back, its uncoded bins "
              "floored) gives the P@1 back. Its files still beat both baselines' means on every measure."]
    return lines


# The tag each model's run carries in a variant's file names (--runs): exp_embed_v3 --out .../<prefix>_<tag>_s49.json
TAGS = {"muzip-v1": "v1mz", "muzip-v2": "v2mz", "muzip-v2.1": "v21mz", "muzip-v2.2": "v22mz", "muzip-v2.3": "v23mz",
        "muzip-v2.4": "v24mz", "muzip-v2.5": "v25mz", "muzip-v2.6": "v26mz", "muzip-v2.7": "loco"}


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", help="another recipe's runs at 24 kbps: a file name under docs/logs with {tag} for "
                    "each model's (TAGS), e.g. 'embed_v5_lowpass_{tag}_s49.json' (session 49)")
    a = ap.parse_args()
    if a.runs:
        decoded = {m: d for (m, _), (_, d) in RUNS.items()}
        RUNS.clear()
        RUNS.update({(m, 24): (a.runs.format(tag=t), decoded[m]) for m, t in TAGS.items()})
    print("\n".join(section()))


if __name__ == "__main__":
    main()
