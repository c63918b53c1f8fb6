"""Quick same-run rows for installed codec models and config variants of them: the 4 excerpts of a validation set
(30 s from 30 s, as scripts/bench/rd_bench.py), at equal requested bitrate, with ViSQOL, the mel distance and the
listening measures (muzip.listening); no baselines (those are in docs/RD*.md, same excerpts).

    .venv/bin/python -m scripts.experiments.exp_models --set band --rates 24,64 --models muzip-v2.3 \\
        --variant muzip-v2.3:noise_fill=0.1 --variant muzip-v2.3:noise_fill=0.3

A variant is the base model's folder with config keys changed (KEY=JSON, several joined by ';'; a dotted key such
as band_gains.fill_noise changes a key inside an object), written under runs/exp/models as BASE.KEY-VALUE...; its
tables stay the base's. Its name also works with MUZIP_USER_MODELS=runs/exp/models for other scripts
(scripts/bench/profile_codec.py).
"""

import argparse
import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ROOT / "runs" / "exp" / "models"
MEASURES = ("lsd_low_db", "tonality_error", "pre_attack_db", "rise_db")


def make_variant(spec: str) -> str:
    """BASE:KEY=JSON[;KEY=JSON...] -> the name of a model folder with those config keys changed."""
    from muzip.nn.writer import folder_files, write_model_folder
    from muzip.runtime.store import IDENTITY_FILES, model_folder
    from scripts.models.config_changes import changed_config
    base, changes = spec.split(":", 1)
    folder = model_folder(base)
    changes = changes.split(";")  # JSON values here never hold a ';'
    cfg = changed_config(json.loads((folder / "config.json").read_text()), changes)
    parts = []
    for change in changes:
        key, value = change.split("=", 1)
        leaf = key.split(".")[-1]
        # a model name allows [A-Za-z0-9._-] only, and is short: other values are named by a hash (printed)
        plain = value.strip(chr(34))
        if not re.fullmatch(r"[A-Za-z0-9.-]{1,24}", plain):
            plain = hashlib.sha256(value.encode()).hexdigest()[:8]
            print(f"variant part {leaf}-{plain}: {leaf} = {value}")
        parts.append(f"{leaf}-{plain}")
    name = f"{base}." + ".".join(parts)
    write_model_folder(VARIANTS, name, identity=IDENTITY_FILES,
                       files={**folder_files(folder, skip=("config.json", "MODEL.md")), "config.json": cfg})
    return name


def print_header() -> None:
    """The markdown header of measured_row's table."""
    print(f"| set | model | kbps | actual | ViSQOL | mel | {' | '.join(MEASURES)} |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(MEASURES))


def measured_row(model, excerpts, kbps: float, before=None, **compress_options) -> str:
    """The table cells after set and model: actual kbps, ViSQOL, mel and MEASURES, means over the excerpts
    (each coded at kbps with compress_options and decoded in process; before(x), if given, is called first
    for each)."""
    from muzip.codec import compress_array, decompress_bytes
    from muzip.evaluate import visqol_mos
    from muzip.listening import listening_measures
    from muzip.metrics import mel_distance
    rows, measures = [], []
    for x in excerpts:
        if before is not None:
            before(x)
        data = compress_array(x, 44100, kbps, model=model, **compress_options)
        y, _ = decompress_bytes(data, model=model)
        rows.append((len(data) * 8 / (len(x) / 44100) / 1000, visqol_mos(x, y, 44100), mel_distance(x, y, 44100)))
        measures.append(listening_measures(x, y, 44100))
    k, v, m = np.mean(rows, axis=0)
    extra = " | ".join(f"{np.nanmean([np.nan if d[key] is None else d[key] for d in measures]):.3f}"
                       for key in MEASURES)
    return f"{kbps:g} | {k:.2f} | {v:.3f} | {m:.3f} | {extra} |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="wesnoth")
    ap.add_argument("--rates", default="12,24,64")
    ap.add_argument("--models", default="")
    ap.add_argument("--variant", action="append", default=[], help="BASE:KEY=JSON[;KEY=JSON...]")
    ap.add_argument("--envelope-share", type=float, default=None,
                    help="the share of a frame's bytes the temporal envelope may take (an encoder choice, "
                    "codec.gain_encoder.ENVELOPE_SHARE; default: the shipped one)")
    ap.add_argument("--pre-attack-margin", type=float, default=None,
                    help="steps below the source the envelope aims for before attacks (an encoder choice, "
                    "codec.envelope.PRE_ATTACK_MARGIN; default: the shipped one)")
    ap.add_argument("--side-offset", type=int, default=None,
                    help="the side channel's quantizer level above mid's (an encoder choice, "
                    "codec.encode.DEFAULT_SIDE_OFFSET; default: the shipped one)")
    args = ap.parse_args()
    if args.pre_attack_margin is not None:
        from muzip.codec import envelope
        envelope.PRE_ATTACK_MARGIN = args.pre_attack_margin
    if args.envelope_share is not None:
        from muzip.codec import gain_encoder
        gain_encoder.ENVELOPE_SHARE = args.envelope_share
    os.chdir(ROOT)
    os.environ["MUZIP_USER_MODELS"] = str(VARIANTS)
    from muzip.codec import load_model
    from scripts.bench import bench
    from scripts.data.corpus import validation_set

    names = [n for n in args.models.split(",") if n] + [make_variant(v) for v in args.variant]
    xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(args.set)]
    print_header()
    for kbps in [float(r) for r in args.rates.split(",")]:
        for name in names:
            options = {} if args.side_offset is None else {"side_offset": args.side_offset}
            print(f"| {args.set} | {name} | {measured_row(load_model(name), xs, kbps, **options)}", flush=True)


if __name__ == "__main__":
    main()
