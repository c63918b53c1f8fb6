"""Export a training run as a shippable model: config, weights, integer entropy tables, SHA256SUMS, training.json
(through the one model-folder writer, muzip.nn.writer; ONNX files: export_onnx.py, MODEL.md: model_card.py).

Tables are histograms of the quantized latents of training audio (never validation) at every level,
per role (mid, side) and channel, turned into integer counts summing to 2**24 (muzip.codec.entropy).
"""

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TRAIN_ONLY_KEYS = ("train_levels", "rate_lambda", "batch", "lr")


def table_audio(minutes, seed=0):
    """(role -> list of (1, n) model-rate arrays) from a seeded sample of training tracks."""
    import soundfile as sf
    import soxr

    from scripts.data.corpus import split

    train, _ = split(str(ROOT / "data" / "raw"))
    rng = np.random.default_rng(seed)
    files = list(rng.permutation(train))
    per_file = 30.0
    need = int(minutes * 60 / per_file)
    mids, sides = [], []
    for path in files:
        if len(mids) >= need:
            break
        info = sf.info(path)
        if info.duration < per_file + 2:
            continue
        start = int(rng.uniform(0, info.duration - per_file) * info.samplerate)
        x, sr = sf.read(path, start=start, frames=int(per_file * info.samplerate), dtype="float32", always_2d=True)
        x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
        if sr != 44100:
            x = soxr.resample(x, sr, 44100, "HQ")
        mids.append((x[:, 0] + x[:, 1]) / 2)
        sides.append((x[:, 0] - x[:, 1]) / 2)
    return [mids, sides], [os.path.relpath(f, ROOT) for f in files[:len(mids)]]


def build_tables(encoder, cfg, minutes):
    from muzip.train.tables import count_tables
    roles, used = table_audio(minutes)
    return count_tables(encoder, cfg, roles), used


def export(args):
    from muzip.nn.codec_net import build_decoder, build_encoder
    from muzip.nn.writer import write_model_folder
    from muzip.runtime import models_dir
    from muzip.runtime.store import IDENTITY_FILES, RUNTIME_FILES

    run = Path(args.run)
    cfg_all = json.loads((run / "config.json").read_text())
    cfg = {k: v for k, v in cfg_all.items() if k not in TRAIN_ONLY_KEYS}
    log = (run / "log.txt").read_text().strip().splitlines()
    epochs = [ln for ln in log if ln.startswith("epoch ")]
    if args.snapshot == "best":  # lowest summed held-out mel distance over the logged RD points
        def score(ln):
            return sum(float(v) for v in ln.split(" mel ")[1:] for v in [v.split()[0]])
        args.snapshot = int(min(epochs, key=score).split()[3])
    if args.snapshot:
        args.snapshot = int(args.snapshot)
        weights = run / "snapshots" / f"step{args.snapshot:06d}"
        line = next(ln for ln in epochs if ln.split()[3] == str(args.snapshot))
    else:
        weights, line = run, (epochs[-1] if epochs else "untrained")
    encoder, decoder = build_encoder(cfg), build_decoder(cfg)
    encoder.load_weights(weights / "encoder.weights.h5")
    decoder.load_weights(weights / "decoder.weights.h5")
    t0 = time.time()
    counts, used = build_tables(encoder, cfg, args.minutes)
    wall = int(line.split(" wall ")[1].split("s")[0]) if " wall " in line else 0
    training = {"run_config": cfg_all, "snapshot_step": int(line.split()[3]) if epochs else 0,
                "snapshot_log_line": line, "snapshot_wall_s": wall, "table_files": used,
                "table_minutes": args.minutes, "table_seconds": round(time.time() - t0)}
    out = models_dir() / args.name
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files={
        "config.json": cfg, "encoder.weights.h5": weights / "encoder.weights.h5",
        "decoder.weights.h5": weights / "decoder.weights.h5",
        "tables.npz": lambda path: np.savez_compressed(path, counts=counts), "training.json": training})
    print(f"exported {out} ({line})")
    sys.stdout.flush()
