"""Train muzip's transform (CPU is fine; resumable), then export it as a shippable model.

    python -m scripts.models.train prepare             # decode training tracks into data/cache/train.npy
    python -m scripts.models.train train --run runs/v1 --steps 3000   # resumes from runs/v1 if present
    python -m scripts.models.train export --run runs/v1 --name muzip-v1   # writes models/muzip-v1/

Backend-agnostic Keras 3: the loss lives in TrainingModel.compute_loss and the forward pass in
keras.ops, so `KERAS_BACKEND=jax` trains the same code on a GPU.
"""

import argparse
import json
import os
import time

import numpy as np

from muzip.train.objective import build_training_model, rd_points  # noqa: F401

CACHE = "data/cache/train.npy"
SEGMENT = 2 * 44100


def prepare(args):
    import soundfile as sf
    import soxr

    from scripts.data.corpus import split

    train_files, val_files = split(args.root)
    rng = np.random.default_rng(0)
    segments = []
    for path in train_files:
        x, sr = sf.read(path, dtype="float32", always_2d=True)
        if x.shape[1] > 2:
            x = x[:, :2]
        if sr != 44100:
            x = soxr.resample(x, sr, 44100, "HQ")
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        mid, side = (x[:, 0] + x[:, 1]) / 2, (x[:, 0] - x[:, 1]) / 2
        n = len(mid) // SEGMENT
        if n == 0:
            continue
        take = rng.choice(n, size=min(n, args.per_file), replace=False)
        for i in take:
            for sig in (mid, side):
                seg = sig[i * SEGMENT:(i + 1) * SEGMENT]
                if np.abs(seg).max() > 1e-4:  # silence teaches nothing
                    segments.append(np.round(np.clip(seg, -1, 1) * 32767).astype(np.int16))
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    data = np.stack(segments)
    np.save(CACHE, data)
    print(f"{len(train_files)} training files, {len(val_files)} validation files held out; "
          f"{len(data)} segments ({len(data) * SEGMENT / 44100 / 3600:.2f} h) -> {CACHE}")


def Batches(cfg, batch, seed):
    """Random 1-second crops of the cache (its last 12 rows are held out), random gain and quantizer step."""
    from muzip.train.data import SegmentBatches
    return SegmentBatches(np.load(CACHE, mmap_mode="r")[:-12], cfg, batch, seed)


def train(args):
    import keras

    from muzip.nn.codec_net import DEFAULT_CONFIG

    os.makedirs(args.run, exist_ok=True)
    cfg_path = os.path.join(args.run, "config.json")
    if os.path.exists(cfg_path):
        cfg = json.load(open(cfg_path))
    else:
        cfg = dict(DEFAULT_CONFIG, train_levels=[args.min_level, args.max_level], rate_lambda=args.lam, batch=args.batch, lr=args.lr)
        json.dump(cfg, open(cfg_path, "w"), indent=1)
    model = build_training_model(cfg, cfg["rate_lambda"])
    batches = Batches(cfg, cfg["batch"], seed=int(time.time()))
    model.compile(optimizer=keras.optimizers.Adam(cfg["lr"], clipnorm=1.0))
    model(batches.sample()[0])  # build before BackupAndRestore looks for a checkpoint
    epoch_steps = args.epoch_steps
    log = open(os.path.join(args.run, "log.txt"), "a")

    held_out = np.load(CACHE, mmap_mode="r")[-12:].astype(np.float32)[:, :, None] / 32767  # not sampled by Batches

    class Logger(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            line = f"start {rd_points(model, cfg, held_out)}"
            print(line, flush=True)
            log.write(line + "\n")

        def on_epoch_end(self, epoch, logs=None):
            elapsed = time.time() - start
            line = (f"epoch {epoch + 1} steps {(epoch + 1) * epoch_steps} loss {logs['loss']:.4f} wall {elapsed:.0f}s "
                    f"{rd_points(model, cfg, held_out)}")
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()
            model.encoder.save_weights(os.path.join(args.run, "encoder.weights.h5"))
            model.decoder.save_weights(os.path.join(args.run, "decoder.weights.h5"))
            snap = os.path.join(args.run, "snapshots", f"step{(epoch + 1) * epoch_steps:06d}")
            os.makedirs(snap, exist_ok=True)  # every epoch kept: export picks by held-out RD, not by loss
            model.encoder.save_weights(os.path.join(snap, "encoder.weights.h5"))
            model.decoder.save_weights(os.path.join(snap, "decoder.weights.h5"))

    backup = os.path.join(args.run, "backup")
    initial_epoch = 0
    weights = [os.path.join(args.run, f"{part}.weights.h5") for part in ("encoder", "decoder")]
    if not os.path.exists(backup) and all(os.path.exists(w) for w in weights):
        # A finished run (Keras deletes its backup at the end) asked for more steps: go on from its last
        # weights, at the step its log reached. The optimizer starts afresh (its state went with the backup).
        model.encoder.load_weights(weights[0])
        model.decoder.load_weights(weights[1])
        done = [int(line.split()[3]) for line in open(os.path.join(args.run, "log.txt")) if line.startswith("epoch ")]
        initial_epoch = max(done, default=0) // epoch_steps
        print(f"continuing the finished run from step {initial_epoch * epoch_steps}", flush=True)
    start = time.time()
    model.fit(batches.forever(), epochs=args.steps // epoch_steps, steps_per_epoch=epoch_steps, verbose=0,
              initial_epoch=initial_epoch, callbacks=[keras.callbacks.BackupAndRestore(backup), Logger()])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--root", default="data/raw")
    p.add_argument("--per-file", type=int, default=40)
    p = sub.add_parser("train")
    p.add_argument("--run", required=True)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--epoch-steps", type=int, default=50)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--lam", type=float, default=0.02)
    p.add_argument("--min-level", type=int, default=14)
    p.add_argument("--max-level", type=int, default=40)
    p = sub.add_parser("export")
    p.add_argument("--run", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--minutes", type=float, default=20.0, help="training audio used to count the entropy tables")
    p.add_argument("--snapshot", help="STEP or 'best' (lowest held-out mel at the logged levels); default: last weights")
    args = ap.parse_args()
    if args.cmd == "prepare":
        prepare(args)
    elif args.cmd == "train":
        train(args)
    else:
        from scripts.models.export_model import export
        export(args)


if __name__ == "__main__":
    main()
