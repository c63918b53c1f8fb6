"""A codec model with context-adaptive entropy tables (muzip.entropy_context) over an existing model's networks.

The networks (weights and ONNX exports) are copied unchanged; only the tables are new, counted on
training-track excerpts (never validation) quantized at the levels the rate control uses from 6 to
96 kbps. The result is a model folder that `--model NAME` can use once its parent is on
MUZIP_USER_MODELS (or under models/).

    python scripts/make_context_model.py [--from muzip-v1] [--name muzip-v1-ctx] [--out runs/exp/models]
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench  # noqa: E402
from corpus import split  # noqa: E402

from muzip.codec import to_mid_side  # noqa: E402
from muzip.train.tables import CONTEXT_LEVELS as LEVELS, context_tables  # noqa: E402
from muzip.runtime import load_model  # noqa: E402
from muzip.runtime.store import model_folder, write_sha256sums  # noqa: E402

EDGES = [1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70]
BANDS = 16
NETWORK_FILES = ("encoder.weights.h5", "decoder.weights.h5", "encoder.onnx", "decoder.onnx")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="base", default="muzip-v1")
    ap.add_argument("--name", default="muzip-v1-ctx")
    ap.add_argument("--out", default="runs/exp/models")
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    os.chdir(ROOT)
    t0 = time.time()
    base = load_model(args.base)
    cfg = dict(base.config, entropy="context", context_edges=EDGES, context_bands=BANDS)
    train, _ = split()
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(train), min(args.files, len(train)), replace=False))
    excerpts = [bench.read_excerpt(train[i], 20.0, args.seconds)[0] for i in picked]
    counts, frames = context_tables(base.encode, cfg, [to_mid_side(x) for x in excerpts], LEVELS)
    if frames < 100:
        raise SystemExit(f"only {frames} frames of training audio: too few to count tables")
    out = Path(args.out) / args.name
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in NETWORK_FILES:
        shutil.copy2(model_folder(args.base) / f, tmp / f)
    (tmp / "config.json").write_text(json.dumps(cfg, indent=1) + "\n")
    np.savez(tmp / "tables.npz", counts=counts)
    wall = time.time() - t0
    (tmp / "MODEL.md").write_text(
        f"# {args.name}\n\n{args.base}'s networks, unchanged, with context-adaptive entropy tables "
        f"(muzip.entropy_context: {BANDS} channel bands x {len(EDGES) + 1} contexts x 2 roles).\n\n"
        f"Tables counted on {len(excerpts)} training-track excerpts of {args.seconds:g} s "
        f"(scripts/corpus.py split, seed 0), {frames} frames, quantized at levels {LEVELS.start}..{LEVELS.stop - 2} step "
        f"{LEVELS.step}, in {wall:.0f} s by `python scripts/make_context_model.py`.\n")
    write_sha256sums(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"wrote {out} ({counts.nbytes} bytes of tables from {frames} frames, {wall:.0f} s)")


if __name__ == "__main__":
    main()
