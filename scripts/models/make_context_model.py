"""A codec model with context-adaptive entropy tables (muzip.entropy_context) over an existing model's networks.

The networks (weights and ONNX exports) are copied unchanged; only the tables are new, counted on
training-track excerpts (never validation) quantized at the levels the rate control uses from 6 to
96 kbps. The result is a model folder that `--model NAME` can use once its parent is on
MUZIP_USER_MODELS (or under models/).

    python -m scripts.models.make_context_model [--from muzip-v1] [--name muzip-v1-ctx] [--out runs/exp/models]
    python -m scripts.models.make_context_model --run runs/v2-hop882 [--snapshot STEP] --name v2-hop882-ctx

With --run, the networks come from a training run (its last weights, or a snapshot) and the folder is
written by muzip.train.install: ONNX exports, measured Keras/onnxruntime parity, SHA256SUMS.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from scripts.bench import bench
from scripts.data.corpus import split

from muzip.codec import to_mid_side
from muzip.train.tables import CONTEXT_LEVELS as LEVELS, context_tables
from muzip.codec import load_model
from muzip.nn.writer import write_model_folder
from muzip.runtime.store import IDENTITY_FILES, RUNTIME_FILES, model_folder

ROOT = Path(__file__).resolve().parents[2]

EDGES = [1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70]
BANDS = 16
NETWORK_FILES = ("encoder.weights.h5", "decoder.weights.h5", "encoder.onnx", "decoder.onnx")


def count(encode, cfg, excerpts):
    counts, frames = context_tables(encode, cfg, [to_mid_side(x) for x in excerpts], LEVELS)
    if frames < 100:
        raise SystemExit(f"only {frames} frames of training audio: too few to count tables")
    return counts, frames


def fixed_filterbank(cfg, encoder, decoder):
    """The same networks with the frozen MDCT as a constant (`"filterbank": "mdct"`, muzip.nn.filterbank.fixed_basis:
    rounded to float16, about -80 dB from the exact one), so the weight files lose 2 x 2H x H values that the
    config already determines."""
    from muzip.nn.codec_net import build_decoder, build_encoder
    from muzip.nn.filterbank import mdct_basis

    basis = mdct_basis(cfg["hop"])[:, None, :]
    for net, layer in ((encoder, "analysis"), (decoder, "synthesis")):
        if not np.array_equal(np.asarray(net.get_layer(layer).weights[0]), basis):
            raise SystemExit(f"the run's {layer} filterbank is not the MDCT: it has to stay a weight")
    cfg["filterbank"] = "mdct"
    new = build_encoder(cfg), build_decoder(cfg)
    for old, net in zip((encoder, decoder), new):
        for layer in net.layers:
            if layer.weights:
                layer.set_weights(old.get_layer(layer.name).get_weights())
    return new


def training_wall(epochs, upto):
    """Seconds of training up to the log line `upto`: the log's wall clock restarts with each resumed session."""
    total = last = 0
    for ln in epochs:
        wall = int(ln.split(" wall ")[1].split("s")[0])
        if wall < last:
            total += last
        last = wall
        if ln == upto:
            break
    return total + last


def from_run(args, excerpts, t0):
    """Networks of a training run + context tables, installed with ONNX exports and parity."""
    from muzip.nn.codec_net import build_decoder, build_encoder
    from muzip.train.install import install

    run = Path(args.run)
    cfg = dict(json.loads((run / "config.json").read_text()), entropy="context", context_edges=EDGES,
               context_bands=BANDS)
    weights = run / "snapshots" / f"step{args.snapshot:06d}" if args.snapshot else run
    encoder, decoder = build_encoder(cfg), build_decoder(cfg)
    encoder.load_weights(weights / "encoder.weights.h5")
    decoder.load_weights(weights / "decoder.weights.h5")
    if not cfg.get("train_filterbank", True) and cfg["hop"] == cfg["latent_channels"]:
        encoder, decoder = fixed_filterbank(cfg, encoder, decoder)
    counts, frames = count(lambda x: np.asarray(encoder(x, training=False)), cfg, excerpts)
    epochs = [ln for ln in (run / "log.txt").read_text().splitlines() if ln.startswith("epoch ")]
    line = next((ln for ln in epochs if ln.split()[3] == str(args.snapshot)), None) if args.snapshot else epochs[-1]
    parity = to_mid_side(excerpts[0][:cfg["frame_samples"] * 2])[..., None].astype(np.float32)  # (A, T, 1)

    def card(folder, info):
        p = info["parity"]
        return (f"# {args.name}\n\nNetworks of training run `{run}` at `{line}`, with context-adaptive entropy "
                f"tables (muzip.entropy_context: {BANDS} channel bands x {len(EDGES) + 1} contexts x 2 roles) "
                f"counted on {len(excerpts)} training-track excerpts of {args.seconds:g} s ({frames} frames, "
                f"levels {LEVELS.start}..{LEVELS.stop - 2} step {LEVELS.step}).\n\n"
                f"ONNX parity: encoder max abs {p['encoder_max_abs']:.2g}, decoder SNR {p['decoder_snr_db']:.1f} dB.\n\n"
                f"Made by `python -m scripts.models.make_context_model --run {run}"
                f"{f' --snapshot {args.snapshot}' if args.snapshot else ''}{' --half' if args.half else ''} --name {args.name}` "
                f"in {time.time() - t0:.0f} s.\n")
    made = (f"python -m scripts.models.make_context_model --run {run}{f' --snapshot {args.snapshot}' if args.snapshot else ''}"
            f"{' --half' if args.half else ''} --name {args.name}")
    training = {"run_config": json.loads((run / "config.json").read_text()), "snapshot_log_line": line,
                "snapshot_step": int(line.split()[3]), "snapshot_wall_s": training_wall(epochs, line),
                "table_frames": frames, "table_minutes": len(excerpts) * args.seconds / 60,
                "table_seconds": round(time.time() - t0), "half": args.half,
                "commands": ["python -m scripts.models.train prepare",
                             f"python -m scripts.models.train train --run {run} --steps {int(line.split()[3])}", made]}
    out = install(args.name, Path(args.out), encoder, decoder, cfg, counts, parity, card, training, half=args.half)
    print(f"wrote {out} ({counts.nbytes} bytes of tables from {frames} frames, {time.time() - t0:.0f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="base", default="muzip-v1")
    ap.add_argument("--name", default="muzip-v1-ctx")
    ap.add_argument("--out", default="runs/exp/models")
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--run", help="a scripts/models/train.py run folder instead of --from")
    ap.add_argument("--half", action="store_true", help="with --run: float16 weight files (muzip.nn.half)")
    ap.add_argument("--snapshot", type=int, help="with --run: the snapshot step (default: the run's last weights)")
    args = ap.parse_args()
    os.chdir(ROOT)
    t0 = time.time()
    train, _ = split()
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(train), min(args.files, len(train)), replace=False))
    excerpts = [bench.read_excerpt(train[i], 20.0, args.seconds)[0] for i in picked]
    if args.run:
        return from_run(args, excerpts, t0)
    base = load_model(args.base)
    cfg = dict(base.config, entropy="context", context_edges=EDGES, context_bands=BANDS)
    counts, frames = count(base.encode, cfg, excerpts)
    out = Path(args.out) / args.name
    wall = time.time() - t0
    card = (f"# {args.name}\n\n{args.base}'s networks, unchanged, with context-adaptive entropy tables "
            f"(muzip.entropy_context: {BANDS} channel bands x {len(EDGES) + 1} contexts x 2 roles).\n\n"
            f"Tables counted on {len(excerpts)} training-track excerpts of {args.seconds:g} s "
            f"(scripts/data/corpus.py split, seed 0), {frames} frames, quantized at levels {LEVELS.start}..{LEVELS.stop - 2} step "
            f"{LEVELS.step}, in {wall:.0f} s by `python -m scripts.models.make_context_model`.\n")
    write_model_folder(out.parent, out.name, identity=IDENTITY_FILES, runtime=RUNTIME_FILES, files={
        **{f: model_folder(args.base) / f for f in NETWORK_FILES}, "config.json": cfg,
        "tables.npz": lambda path: np.savez(path, counts=counts), "MODEL.md": card})
    print(f"wrote {out} ({counts.nbytes} bytes of tables from {frames} frames, {wall:.0f} s)")


if __name__ == "__main__":
    main()
