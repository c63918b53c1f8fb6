"""Lever (issue 9): how many bits would context-adaptive entropy tables save on muzip-v1's own symbols?

No retraining and no change to the quantized symbols, so distortion is fixed and the saving is a pure
rate saving. Tables are counted on training-track excerpts and scored (cross-entropy, bits) on the
validation excerpts of `make bench`, coded by muzip-v1 at each bitrate. The context of a symbol is
taken only from the previous latent vector (t-1) of the same frame, so a decoder could decode one
latent vector at a time, all channels at once, and stay exact on any machine.

    python -m scripts.experiments.exp_context_tables [--train-files 40] [--seconds 20]
"""

import argparse
import io
import os
from pathlib import Path

import numpy as np

from scripts.bench import bench
from scripts.data.corpus import split

from muzip.codec import compress_array
from muzip.container import ContainerReader
from muzip.codec.payload import decode_payload
from muzip.codec import load_model

ROOT = Path(__file__).resolve().parents[2]

BITRATES = (16, 24, 32, 64)
# Context buckets of s = |q[t-1,c-1]| + 2|q[t-1,c]| + |q[t-1,c+1]| (neighbour magnitudes, previous vector).
EDGES = np.array([1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70])
BANDS = 16  # channel groups for the compact variant


def symbols(model, x, kbps):
    """[(q (A, n, C) int, levels)] of every frame of x coded by the model at kbps."""
    data = compress_array(x, 44100, kbps, model=model)
    reader = ContainerReader(io.BytesIO(data))
    P = model.config["frame_samples"] // model.config["hop"]
    out = []
    for ev in reader.frames():
        if ev.frame is None:
            continue
        levels = list(ev.frame.levels[:reader.header.channels])
        out.append((decode_payload(model.coder, ev.frame.payload, P + 1, levels), levels))
    return out, len(data) * 8


def context(q, depth=1):
    """Context index (A, n, C) of each symbol from the `depth` previous latent vectors (zeros before the
    first): |q[t-1,c-1]| + 2|q[t-1,c]| + |q[t-1,c+1]| (+ |q[t-2,c]| at depth 2), bucketed by EDGES."""
    a = np.abs(q)
    pad = np.pad(a, ((0, 0), (2, 0), (1, 1)))
    prev, prev2 = pad[:, 1:-1], pad[:, :-2]
    s = prev[:, :, :-2] + 2 * prev[:, :, 1:-1] + prev[:, :, 2:]
    if depth == 2:
        s = s + prev2[:, :, 1:-1]
    return np.searchsorted(EDGES, s, side="right")


def records(frames, radius):
    """Flat int32 columns (role, level, channel, band, ctx, symbol index, depth-2 ctx) over all frames."""
    cols = [[] for _ in range(7)]
    for q, levels in frames:
        A, n, C = q.shape
        idx = np.where(np.abs(q) > radius, 2 * radius + 1, q + radius)
        role = np.broadcast_to(np.arange(A)[:, None, None], q.shape)
        lev = np.broadcast_to(np.asarray(levels)[:, None, None], q.shape)
        ch = np.broadcast_to(np.arange(C)[None, None, :], q.shape)
        for col, v in zip(cols, (role, lev, ch, ch * BANDS // C, context(q), idx, context(q, 2))):
            col.append(np.ravel(v).astype(np.int32))
    return [np.concatenate(c) for c in cols]


class Tables:
    """Dense symbol histograms for one choice of keys (record columns), accumulated file by file so
    the training symbols never need to be held at once."""

    def __init__(self, keys, sizes, K):
        self.keys, self.K = keys, K
        self.shape = tuple(sizes[i] for i in keys)
        self.hist = np.zeros(int(np.prod(self.shape)) * K)

    def row(self, rec):
        return np.ravel_multi_index(tuple(rec[i] for i in self.keys), self.shape).astype(np.int64)

    def add(self, rec):
        self.hist += np.bincount(self.row(rec) * self.K + rec[5], minlength=self.hist.size)

    def bits(self, rec, p_static, beta=32.0):
        """Bits for rec, each table backed off to the shipped static one: p = (n(s) + beta p_static(s)) / (N + beta),
        so a context seldom seen in training costs about what the shipped table does."""
        h = self.hist.reshape(-1, self.K)
        r = self.row(rec)
        p = (h[r, rec[5]] + beta * p_static) / (h.sum(1)[r] + beta)
        return float(-np.log2(p).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train-files", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    os.chdir(ROOT)
    model = load_model()
    R = model.config["alphabet_radius"]
    train_files, val = split()
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(train_files), min(args.train_files, len(train_files)), replace=False))
    train_x = [bench.read_excerpt(train_files[i], 20.0, args.seconds)[0] for i in picked]
    val_x = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in val]
    print(f"muzip-v1; tables counted on {len(train_x)} training excerpts of {args.seconds:g} s; "
          f"scored on {len(val_x)} validation excerpts of 30 s (those of make bench)\n")
    shipped = np.asarray(model.coder.counts, dtype=np.float64) / 2 ** 24  # (role, level, C, K)
    roles, levels, C, K = shipped.shape
    sizes = (roles, levels, C, BANDS, len(EDGES) + 1, K, len(EDGES) + 1)
    variants = {"shipped": None, "+ context": (0, 1, 2, 4), f"{BANDS} bands + context": (0, 1, 3, 4),
                f"{BANDS} bands + context, any level": (0, 3, 4), "context, any level": (0, 2, 4),
                f"{BANDS} bands + 2-vector context, any level": (0, 3, 6)}
    tables = {name: Tables(keys, sizes, K) for name, keys in variants.items() if keys}
    # Training symbols pooled over the target rates, so the context tables see every level in use.
    for kbps in BITRATES:
        for x in train_x:
            rec = records(symbols(model, x, kbps)[0], R)
            for t in tables.values():
                t.add(rec)
    print("| target kbps | file kbps | " + " | ".join(variants) + " | best saving |")
    print("|---" * (len(variants) + 3) + "|")
    for kbps in BITRATES:
        coded = [symbols(model, x, kbps) for x in val_x]
        te = records([f for fr, _ in coded for f in fr], R)
        p_static = shipped[te[0], te[1], te[2], te[5]]
        seconds = 30.0 * len(val_x)
        file_kbps = sum(b for _, b in coded) / seconds / 1000
        k = [float(-np.log2(p_static).sum())] + [t.bits(te, p_static) for t in tables.values()]
        k = [v / seconds / 1000 for v in k]
        print(f"| {kbps} | {file_kbps:.2f} | " + " | ".join(f"{v:.2f}" for v in k) +
              f" | {100 * (1 - min(k) / k[0]):.1f} % |", flush=True)


if __name__ == "__main__":
    main()
