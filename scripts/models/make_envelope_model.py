"""Make a temporal-envelope codec model (muzip.codec.envelope) from an installed band-gain one:
muzip-v2.1 -> muzip-v2.2. Every file is the base model's, byte for byte, but config.json, which gains
"envelope"; nothing is trained or counted (the envelope's codes are fixed-length bits), so the folder
gets SHA256SUMS, the base's runtime.json and training.json (with this command added); the model card
comes after, from scripts/models/model_card.py.

    python -m scripts.models.make_envelope_model [--base muzip-v2.1] [--name muzip-v2.2] [--out models]
"""

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("encoder.weights.h5", "decoder.weights.h5", "encoder.onnx", "decoder.onnx", "tables.npz", "runtime.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="muzip-v2.1")
    ap.add_argument("--name", default="muzip-v2.2")
    ap.add_argument("--out", default="models")
    ap.add_argument("--cutoff-hz", type=float, default=5000.0)
    ap.add_argument("--blocks", type=int, default=14)
    ap.add_argument("--db", type=float, default=3.0)
    ap.add_argument("--max-regions", type=int, default=25)
    ap.add_argument("--sparse-fill", type=float, default=0.0, help="band gains raise a band with at most this "
                    "fraction of its bins coded by filling its uncoded bins (muzip.codec.band_gains; 0: off)")
    args = ap.parse_args()
    os.chdir(ROOT)
    from muzip.nn.writer import write_model_folder
    from muzip.runtime.store import IDENTITY_FILES, RUNTIME_FILES, model_folder

    t0 = time.time()
    base = model_folder(args.base)
    cfg = dict(json.loads((base / "config.json").read_text()), envelope={
        "cutoff_hz": args.cutoff_hz, "blocks": args.blocks, "db": args.db, "min_step": -14, "max_step": 4,
        "max_regions": args.max_regions})
    if args.sparse_fill:
        cfg["band_gains"] = dict(cfg["band_gains"], sparse_fill=args.sparse_fill)
    made = (f"python -m scripts.models.make_envelope_model --base {args.base} --name {args.name} --out {args.out}"
            f" --cutoff-hz {args.cutoff_hz:g} --blocks {args.blocks} --db {args.db:g} --max-regions {args.max_regions}"
            + (f" --sparse-fill {args.sparse_fill:g}" if args.sparse_fill else ""))
    training = dict(json.loads((base / "training.json").read_text()))
    training.update({"base_model": args.base, "commands": training.get("commands", []) + [made]})
    write_model_folder(Path(args.out), args.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files={
        **{f: base / f for f in COPIED}, "config.json": cfg, "training.json": training})
    print(f"wrote {Path(args.out) / args.name} from {args.base} in {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
