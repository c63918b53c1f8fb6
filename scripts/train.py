"""Train muzip's transform (CPU is fine; resumable), then export it as a shippable model.

    python scripts/train.py prepare             # decode training tracks into data/cache/train.npy
    python scripts/train.py train --run runs/v1 --steps 3000   # resumes from runs/v1 if present
    python scripts/train.py export --run runs/v1 --name muzip-v1   # writes models/muzip-v1/

Backend-agnostic Keras 3: the loss lives in TrainingModel.compute_loss and the forward pass in
keras.ops, so `KERAS_BACKEND=jax` trains the same code on a GPU.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CACHE = "data/cache/train.npy"
SEGMENT = 2 * 44100


def prepare(args):
    import soundfile as sf
    import soxr

    from corpus import split

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


def build_training_model(cfg, lam):
    import keras
    from keras import ops

    import librosa

    from muzip.model import build_decoder, build_encoder

    mel_scales = [(64, 10), (256, 40), (1024, 80), (2048, 160)]
    mel_banks = {w: librosa.filters.mel(sr=cfg["model_rate"], n_fft=w, n_mels=m).T.astype("float32") for w, m in mel_scales}

    def log_spectra(x, w):
        re, im = ops.stft(x, w, w // 4, w, window="hann", center=True)
        mag = ops.sqrt(re * re + im * im + 1e-12)
        mel = ops.matmul(mag, ops.convert_to_tensor(mel_banks[w]))
        return ops.log10(ops.maximum(mag, 1e-5)), ops.log10(ops.maximum(mel, 1e-5))

    class TrainingModel(keras.Model):
        def __init__(self):
            super().__init__()
            self.encoder = build_encoder(cfg)
            self.decoder = build_decoder(cfg)
            self.log_scale = self.add_weight(shape=(cfg["latent_channels"],), initializer=keras.initializers.Constant(-3.0), name="rate_log_scale")
            self.seeds = keras.random.SeedGenerator(1)

        def call(self, inputs, training=False):
            x, log_step = inputs
            step = ops.exp(log_step)  # (B, 1, 1)
            y = self.encoder(x)
            u = y / step
            # Rate: discretised Laplace mass around the noisy latent (the differentiable proxy of rounding).
            noisy = u + keras.random.uniform(ops.shape(u), -0.5, 0.5, seed=self.seeds)
            scale = ops.exp(self.log_scale) / step
            def cdf(t):
                return 0.5 + 0.5 * ops.sign(t) * (1.0 - ops.exp(-ops.abs(t) / scale))
            mass = ops.maximum(cdf(noisy + 0.5) - cdf(noisy - 0.5), 1e-9)
            bits = -ops.sum(ops.log2(mass), axis=(1, 2))
            # Decoder sees true rounding, gradients pass straight through.
            y_hat = (u + ops.stop_gradient(ops.round(u) - u)) * step
            k = cfg.get("noise_channels", 0)
            noise = keras.random.uniform(ops.shape(y_hat)[:2] + (k,), -1.0, 1.0, seed=self.seeds)
            return self.decoder([y_hat, noise]), bits

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            audio = x[0][:, :, 0]
            decoded, bits = y_pred
            decoded = decoded[:, :, 0]
            dist = 5.0 * ops.mean(ops.abs(decoded - audio))
            for w, _ in mel_scales:
                (lin_a, mel_a), (lin_d, mel_d) = log_spectra(audio, w), log_spectra(decoded, w)
                dist = dist + ops.mean(ops.abs(mel_a - mel_d))
                if w >= 512:
                    dist = dist + 0.5 * ops.mean(ops.abs(lin_a - lin_d))
            rate = ops.mean(bits) / ops.cast(ops.shape(audio)[1], "float32")  # bits per sample
            return dist + lam * rate

    return TrainingModel()


class Batches:
    """Random 1-second crops with random gain and a random quantizer step per example."""

    def __init__(self, cfg, batch, seed):
        self.data = np.load(CACHE, mmap_mode="r")
        self.cfg, self.batch = cfg, batch
        self.rng = np.random.default_rng(seed)
        steps = np.log(cfg["min_step"]) + np.log(2.0) * np.array(cfg["train_levels"]) / cfg["levels_per_octave"]
        self.log_step_range = steps

    def forever(self):
        while True:
            yield self.sample()

    def sample(self):
        n = self.cfg["frame_samples"]
        rows = self.rng.integers(0, len(self.data) - 12, self.batch)  # the last 12 rows are held out
        starts = self.rng.integers(0, SEGMENT - n, self.batch)
        x = np.stack([self.data[r, s:s + n] for r, s in zip(rows, starts)]).astype(np.float32) / 32767
        x *= 10 ** (self.rng.uniform(-12, 6, (self.batch, 1)) / 20)
        x = np.clip(x, -1, 1)[:, :, None]
        log_step = self.rng.uniform(*self.log_step_range, (self.batch, 1, 1)).astype(np.float32)
        return (x, log_step), np.zeros((self.batch,), np.float32)


def rd_points(model, cfg, audio, levels=(22, 30)):
    """(bits per sample, mel distance) at fixed quantizer levels on held-out audio (B, T, 1).

    Bits are the empirical per-channel entropy of the quantized latents (what integer tables would
    achieve), so a change that merely shrinks latents shows up as a move along the curve, not a gain."""
    from muzip.metrics import mel_distance
    from muzip.model import decoder_noise, level_steps

    y = np.asarray(model.encoder(audio, training=False))
    steps = level_steps(cfg)
    points = []
    for level in levels:
        q = np.round(y / steps[level]).astype(np.int64)
        bits = 0.0
        for c in range(q.shape[-1]):
            _, counts = np.unique(q[..., c], return_counts=True)
            p = counts / counts.sum()
            bits -= float((counts * np.log2(p)).sum())
        noise = np.stack([decoder_noise(cfg, 0, y.shape[1], i) for i in range(len(y))])
        decoded = np.asarray(model.decoder([(q * steps[level]).astype("float32"), noise], training=False))
        n = min(decoded.shape[1], audio.shape[1])
        mel = np.mean([mel_distance(audio[i, :n, 0], decoded[i, :n, 0], cfg["model_rate"]) for i in range(len(audio))])
        points.append((level, bits / audio.size, mel))
    return " ".join(f"L{lv}: {b:.3f} b/smp mel {m:.3f}" for lv, b, m in points)


def train(args):
    import keras

    from muzip.model import DEFAULT_CONFIG

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

    start = time.time()
    model.fit(batches.forever(), epochs=args.steps // epoch_steps, steps_per_epoch=epoch_steps, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(os.path.join(args.run, "backup")), Logger()])


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
        from export_model import export
        export(args)


if __name__ == "__main__":
    main()
