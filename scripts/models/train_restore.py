"""Train the MP3 restorer (muzip restore): GAN on LAME pairs made on the fly from the training corpus.

    .venv/bin/python -m scripts.models.train_restore --run runs/restore-v1 --steps 6000 [--recon-steps 800]
    .venv/bin/python -m scripts.models.train_restore --run runs/restore-v1 --steps 6000 --deterministic   # z = 0

Resumable: the run folder keeps the last checkpoint (ckpt/, replaced atomically every --every steps)
and log.jsonl; starting again continues from it. Data (scripts/data/corpus.py split(): training tracks only,
never the validation ones): each step draws B excerpts at random, encodes each with lameenc at a
random bitrate of 16/24/32/48/64 kbps CBR, stereo or mono, decodes it (muzip.restore.pairs) and trains
one channel. Condition = (log2(kbps/32), detected bandwidth). The first --recon-steps use the
multi-scale mel loss alone; then LS-GAN with multi-period + multi-resolution STFT critics, feature
matching and the mel loss (muzip.nn). Backend: KERAS_BACKEND (tensorflow on a CPU, jax on a GPU).
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SR = 44100


def load_corpus(max_tracks: int, seed: int):
    """Training tracks as int16 (n, 2) arrays at 44.1 kHz (stereo; mono tracks duplicated)."""
    import soundfile as sf
    import soxr
    from scripts.data.corpus import split
    train, _ = split()
    rng = np.random.default_rng(seed)
    picks = [train[i] for i in rng.permutation(len(train))[:max_tracks]]
    tracks = []
    for p in picks:
        x, sr = sf.read(p, dtype="float32", always_2d=True)
        x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
        if sr != SR:
            x = soxr.resample(x, sr, SR)
        if len(x) > 4 * SR:
            tracks.append((np.clip(x, -1, 1) * 32767).astype(np.int16))
    return tracks


class PairSource:
    """Batches (mp3 audio, cond, clean audio), each (B, T, 1) / (B, N, 2), made on the fly."""

    def __init__(self, tracks, cfg, batch, samples, seed):
        self.tracks, self.cfg, self.batch, self.T = tracks, cfg, batch, samples
        self.rng = np.random.default_rng(seed)
        self.weights = np.array([len(t) for t in tracks], np.float64)
        self.weights /= self.weights.sum()

    def excerpt(self):
        from muzip.restore.detect import bandwidth_hz, condition
        from muzip.restore.pairs import TRAIN_KBPS, mp3_pair
        pad = SR // 4  # codec context each side, cut away after decoding
        while True:
            t = self.tracks[self.rng.choice(len(self.tracks), p=self.weights)]
            start = int(self.rng.integers(0, len(t) - self.T - 2 * pad))
            x = t[start:start + self.T + 2 * pad].astype(np.float32) / 32767.0
            if np.max(np.abs(x[pad:-pad])) > 1e-3:  # skip silence: nothing to learn
                break
        x *= 10 ** (self.rng.uniform(-6, 0) / 20)  # level variety
        if self.rng.random() < 0.35:
            x = x.mean(axis=1, keepdims=True)
        kbps = int(self.rng.choice(TRAIN_KBPS))
        y = mp3_pair(x, SR, kbps)
        c = int(self.rng.integers(0, x.shape[1]))
        clean, lossy = x[pad:-pad, c], y[pad:-pad, c]
        cond = condition(kbps, bandwidth_hz(y[pad:-pad], SR), SR)
        return lossy, clean, cond

    def next(self):
        n_frames = self.T // self.cfg["hop"] + 1
        lossy, clean, cond = zip(*(self.excerpt() for _ in range(self.batch)))
        cond = np.repeat(np.stack(cond)[:, None, :], n_frames, axis=1)
        return np.stack(lossy)[..., None], cond, np.stack(clean)[..., None]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", default="runs/restore-v1")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--recon-steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--samples", type=int, default=32768)
    ap.add_argument("--every", type=int, default=100, help="checkpoint interval (steps)")
    ap.add_argument("--tracks", type=int, default=80)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--deterministic", action="store_true", help="z = 0 (the deterministic variant)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    import keras
    from muzip.nn.discriminators import build_discriminator
    from muzip.nn.gan import GanTrainer
    from muzip.nn.losses import MultiScaleMelLoss
    from muzip.restore.model import DEFAULT_CONFIG, build_restorer

    run = Path(a.run)
    run.mkdir(parents=True, exist_ok=True)
    cfg = dict(DEFAULT_CONFIG)
    cfg_path = run / "config.json"
    if cfg_path.exists():
        cfg = json.loads(cfg_path.read_text())
    else:
        cfg_path.write_text(json.dumps(cfg, indent=1))
    keras.utils.set_random_seed(a.seed)
    G, D = build_restorer(cfg), build_discriminator()
    trainer = GanTrainer(G, D, MultiScaleMelLoss(SR), lr=a.lr)
    spent = 0.0
    if (run / "ckpt" / "state.json").exists():
        state = trainer.load(run / "ckpt")
        spent = float(state.get("wall_s", 0.0))
        print(f"resumed at step {trainer.step_count} ({spent / 3600:.2f} h so far)", flush=True)
    t0 = time.time()
    tracks = load_corpus(a.tracks, a.seed)
    print(f"{len(tracks)} training tracks, {sum(len(t) for t in tracks) / SR / 60:.0f} min, "
          f"loaded in {time.time() - t0:.0f} s", flush=True)
    src = PairSource(tracks, cfg, a.batch, a.samples, a.seed + trainer.step_count)
    rng = np.random.default_rng(a.seed + 1 + trainer.step_count)
    log = open(run / "log.jsonl", "a")
    t_last, n_frames = time.time(), a.samples // cfg["hop"] + 1
    while trainer.step_count < a.steps:
        lossy, cond, clean = src.next()
        z = np.zeros((a.batch, n_frames, cfg["noise_channels"]), np.float32) if a.deterministic else \
            rng.uniform(-1, 1, (a.batch, n_frames, cfg["noise_channels"])).astype(np.float32)
        logs = trainer.train_step([lossy, cond, z], clean, adversarial=trainer.step_count >= a.recon_steps)
        if trainer.step_count % 10 == 0:
            now = time.time()
            spent += now - t_last
            t_last = now
            rec = {"step": trainer.step_count, "wall_s": round(spent, 1), **{k: round(v, 4) for k, v in logs.items()}}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, flush=True)
        if trainer.step_count % a.every == 0 or trainer.step_count == a.steps:
            spent += time.time() - t_last
            t_last = time.time()
            trainer.save(run / "ckpt", {"wall_s": spent, "config": cfg, "deterministic": a.deterministic,
                                        "batch": a.batch, "samples": a.samples, "recon_steps": a.recon_steps})


if __name__ == "__main__":
    main()
