"""Lever (issue 24, speed): entropy coding whose tables are known for a whole frame before its first latent.

The context coder (codec.entropy.context) picks each latent's table from the two vectors decoded just
before it, so a decoder must go one vector at a time, and each of its 882 symbols carries its own 64-entry
probability row (constriction's Categorical family: ~95 ns a symbol, plus a 450-kB row gather per vector).
Here, as AAC's section data does, each (vector, band) first gets a class: the largest |q| in the band,
bucketed (0 = all zero: its latents are not coded at all). Classes are coded first, one short family call
per vector; then every latent's table is a function of classes only, so a frame's latents are coded
grouped by table, one call per table with a fixed model (~6 ns a symbol to encode, ~28 to decode).

This script measures what that costs in bits: tables counted on training excerpts (never validation),
cross-entropy on the validation excerpts of `make bench`, at quantizer levels across 6-96 kbps, against
the context coder's shipped tables on the same symbols.

    python -m scripts.experiments.exp_banded_entropy [--model muzip-v2.3] [--train-files 40]
    python -m scripts.experiments.exp_banded_entropy --shipped muzip-v2.4   # its tables against v2.3's, both sets
"""

import argparse
import os
from pathlib import Path

import numpy as np

from scripts.bench.bench import read_excerpt
from scripts.data.corpus import split

ROOT = Path(__file__).resolve().parents[2]
LEVELS = (20, 26, 32, 38, 44)
CTX_EDGES = np.array([1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70])  # the context coder's
CLASS_EDGES = np.array([1, 2, 3, 5, 9, 17, 32])  # max |q| -> class: 0, 1, 2, 3-4, 5-8, 9-16, 17-31, escape


def classes(q, edges):
    """q (n, C) -> class (n, bands) of each band's largest magnitude."""
    peak = np.maximum.reduceat(np.abs(q), edges[:-1], axis=1)
    return np.searchsorted(CLASS_EDGES, peak, side="right")


class Hist:
    def __init__(self, size, K):
        self.h, self.K = np.zeros((size, K)), K

    def add(self, row, sym):
        flat = row.ravel() * self.K + sym.ravel()
        self.h += np.bincount(flat, minlength=self.h.size).reshape(self.h.shape)

    def bits(self, row, sym, against):
        p = (against.h + 0.5) / (against.h + 0.5).sum(axis=1, keepdims=True)
        return float(-np.log2(p[row.ravel(), sym.ravel()]).sum())


def variants(bands_edges, R):
    """name -> (class rows fn, latent rows fn, sizes): each fn (cls (n, B)) or (cls, q) -> rows."""
    B = len(bands_edges) - 1
    width = np.diff(bands_edges)
    ch_band = np.repeat(np.arange(B), width)
    ncls = len(CLASS_EDGES) + 1

    def prev_t(cls):
        p = np.full_like(cls, ncls)
        p[1:] = cls[:-1]
        return p

    def class_rows_prev(cls):
        return np.arange(B)[None, :] * (ncls + 1) + prev_t(cls)

    def lat_rows_bandclass(cls, q):
        return ch_band[None, :] * ncls + cls[:, ch_band]

    def lat_rows_bandclass_prev(cls, q):
        prev = np.minimum(prev_t(cls), ncls)  # the band's class one vector before ('first' = ncls)
        return (ch_band[None, :] * ncls + cls[:, ch_band]) * (ncls + 1) + prev[:, ch_band]

    def lat_rows_bandclass_prevq(cls, q):  # per channel: |q[t-1, c]| bucket 0/1/2+ (not batchable; a bound)
        a = np.zeros_like(q)
        a[1:] = np.minimum(np.abs(q[:-1]), 2)
        return (ch_band[None, :] * ncls + cls[:, ch_band]) * 3 + a

    def lat_rows_neighbours(cls, q):  # + the classes of the bands either side, lower/equal/higher
        pad = np.pad(cls, ((0, 0), (1, 1)))
        below = np.sign(pad[:, :-2] - cls) + 1
        above = np.sign(pad[:, 2:] - cls) + 1
        prev = np.sign(np.where(prev_t(cls) == ncls, 0, prev_t(cls)) - cls) + 1
        row = ((ch_band[None, :] * ncls + cls[:, ch_band]) * 3 + prev[:, ch_band]) * 9
        return row + below[:, ch_band] * 3 + above[:, ch_band]

    def lat_rows_context(cls, q):  # + the context coder's neighbourhood sum (per vector, not batchable)
        from muzip.codec.entropy.context import context_sums
        ctx = np.searchsorted(CTX_EDGES, context_sums(np.minimum(np.abs(q), R + 1).astype(np.int16)), side="right")
        return (ch_band[None, :] * ncls + cls[:, ch_band]) * (len(CTX_EDGES) + 1) + ctx

    return {
        "band,class,prev,below,above": (class_rows_prev, lat_rows_neighbours, B * (ncls + 1), B * ncls * 27),
        "band,class,neighbourhood (per vector)": (class_rows_prev, lat_rows_context, B * (ncls + 1),
                                                  B * ncls * (len(CTX_EDGES) + 1)),
        "band,class": (class_rows_prev, lat_rows_bandclass, B * (ncls + 1), B * ncls),
        "band,class,prev class": (class_rows_prev, lat_rows_bandclass_prev, B * (ncls + 1), B * ncls * (ncls + 1)),
        "band,class,|q[t-1,c]| (bound)": (class_rows_prev, lat_rows_bandclass_prevq, B * (ncls + 1), B * ncls * 3),
    }


def uniform_edges(C, width):
    return np.unique(np.append(np.arange(0, C, width), C))


def compare_shipped(banded_name: str, context_name: str = "muzip-v2.3"):
    """Estimated bits of a shipped banded model's tables against a context model's, on the same latents (the
    banded model's encoder, frame by frame, at LEVELS), on the 4 excerpts of each validation set."""
    from scripts.data.corpus import validation_set

    from muzip.codec import load_model, to_mid_side
    from muzip.codec.quantizer import level_steps
    banded, context = load_model(banded_name), load_model(context_name)
    steps, F, P = level_steps(banded.config), banded.config.frame_samples, banded.config.latents_per_frame
    for name in ("wesnoth", "band"):
        totals = {level: [0.0, 0.0] for level in LEVELS}
        for path in validation_set(name):
            ms = to_mid_side(read_excerpt(path, 30.0, 30.0)[0])
            for s in range(0, ms.shape[1] - F + 1, F):
                y = banded.encode(ms[:, s:s + F, None])[:, :P]
                for level in LEVELS:
                    q = np.rint(y / steps[level]).astype(np.int32)
                    for a in range(len(q)):
                        totals[level][0] += banded.coder.estimate_bits(q[a], a, level)
                        totals[level][1] += context.coder.estimate_bits(q[a], a, level)
        print(f"{name}: level, {context_name} kbit/s (stereo), {banded_name} against it")
        for level, (ours, theirs) in totals.items():
            print(f"    {level}: {theirs / 120 / 1000:7.2f}  {ours / theirs - 1:+.1%}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="muzip-v2.3")
    ap.add_argument("--train-files", type=int, default=40)
    ap.add_argument("--shipped", help="compare this shipped banded model's tables with muzip-v2.3's instead")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    if args.shipped:
        compare_shipped(args.shipped)
        return
    from muzip.codec import load_model, to_mid_side
    from muzip.codec.entropy.ans import escape_bits
    from muzip.codec.quantizer import level_steps

    model = load_model(args.model)
    cfg = model.config
    R, C, P = cfg.alphabet_radius, cfg.latent_channels, cfg.latents_per_frame
    steps = level_steps(cfg)
    K = 2 * R + 2
    train_files, val_files = split()
    rng = np.random.default_rng(0)
    train = [train_files[i] for i in rng.choice(len(train_files), args.train_files, replace=False)]

    def latents(path, start, seconds):
        x, _ = read_excerpt(path, start, seconds)
        ms = to_mid_side(x)
        F = cfg.frame_samples
        for s in range(0, ms.shape[1] - F + 1, F):
            y = model._run_encoder(np.ascontiguousarray(ms[:, s:s + F, None], np.float32))[:, :P]
            yield y

    schemes = {f"uniform {w}": uniform_edges(C, w) for w in (16, 32)}
    schemes["band-gain bands"] = np.asarray(cfg["band_gains"]["edges"])
    hists = {}
    for sname, edges in schemes.items():
        for vname, (crow, lrow, cs, ls) in variants(edges, R).items():
            hists[sname, vname] = (Hist(cs, len(CLASS_EDGES) + 1), Hist(ls, K))

    def idx_of(q):
        return np.where(np.abs(q) > R, K - 1, q + R)

    for path in train:
        for y in latents(path, 20.0, 20.0):
            for level in LEVELS:
                for a in range(len(y)):
                    q = np.rint(y[a] / steps[level]).astype(np.int64)
                    for (sname, vname), (hc, hl) in hists.items():
                        crow, lrow = variants(schemes[sname], R)[vname][:2]
                        cls = classes(q, schemes[sname])
                        hc.add(crow(cls), cls)
                        keep = cls[:, np.repeat(np.arange(len(schemes[sname]) - 1), np.diff(schemes[sname]))] > 0
                        hl.add(lrow(cls, q)[keep], idx_of(q)[keep])
    print(f"tables counted on {len(train)} training files x 20 s at levels {LEVELS}")
    print("validation (4 tracks x 30 s), bits per second per audio channel: context coder | banded variants")
    for level in LEVELS:
        totals = {"context": 0.0}
        seconds = 0
        for path in val_files:
            for y in latents(path, 30.0, 30.0):
                seconds += 1
                for a in range(len(y)):
                    q = np.rint(y[a] / steps[level]).astype(np.int64)
                    totals["context"] += model.coder.estimate_bits(q, a, level)
                    for (sname, vname), (hc, hl) in hists.items():
                        crow, lrow = variants(schemes[sname], R)[vname][:2]
                        cls = classes(q, schemes[sname])
                        keep = cls[:, np.repeat(np.arange(len(schemes[sname]) - 1), np.diff(schemes[sname]))] > 0
                        b = hc.bits(crow(cls), cls, hc) + hl.bits(lrow(cls, q)[keep], idx_of(q)[keep], hl) \
                            + escape_bits(q, R)
                        totals[f"{sname} | {vname}"] = totals.get(f"{sname} | {vname}", 0.0) + b
        base = totals["context"]
        print(f"level {level}: context coder {base / seconds / 2 / 1000:.2f} kbit/s per channel")
        for name, v in totals.items():
            if name != "context":
                print(f"    {name:55s} {v / base - 1:+7.1%}")


if __name__ == "__main__":
    main()
