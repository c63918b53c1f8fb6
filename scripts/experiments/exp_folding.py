"""Prototype (issue 24): spectral folding in place of noise in the bands the quantizer left empty.

A network-free model fills a band-gain band with no coded latent with seeded noise at the coded level
(codec.band_gains.apply). On tonal game music that replaces partials with noise: with the holes of coded
bands left empty, v2.4's tonality error at 24 kbps was still 0.035 against Opus's 0.025
(docs/logs/fill_diagnosis_s31.log). CELT fills such bands by folding: a copy of the decoded spectrum just
below the band, normalised to the band's coded energy, so partials keep a line structure that repeats from
vector to vector instead of a fresh noise draw each 20 ms. In process only (apply patched for both the
encoder's analysis and the decoder): --mode noise (the model as it is), fold (every empty band above
--min-hz folded from the band-width just below it, noise where that is silent), and blend (folded + noise,
equal power).

    python -m scripts.experiments.exp_folding --set wesnoth --rates 24 --mode noise --mode fold --mode blend
"""

import argparse
import os
from pathlib import Path

import numpy as np

from scripts.experiments.exp_models import measured_row, print_header

ROOT = Path(__file__).resolve().parents[2]


def folded_apply(original, mode: str, min_bin: int):
    """BandGains.apply with empty bands filled by folding (mode "fold" or "blend")."""

    def apply(self, coeffs, codes, rng_for, coded=None):
        empty_before = ~np.add.reduceat(np.abs(coeffs) > 0, self.edges[:-1], axis=1).astype(bool)
        out = original(self, coeffs, codes, rng_for, coded)
        for t in np.flatnonzero(empty_before.any(axis=1)):
            row = out[t]
            for b in np.flatnonzero(empty_before[t]):
                lo, hi = int(self.edges[b]), int(self.edges[b + 1])
                if lo < min_bin or not row[lo:hi].any():
                    continue  # low bands, and bands the gains left silent, as they are
                width = hi - lo
                src = np.resize(row[max(0, lo - width):lo], width) if lo > 0 else None
                if src is None or not np.any(src):
                    continue
                level = np.sqrt(np.mean(row[lo:hi] ** 2))  # the noise's level: the coded energy, per bin
                fold = src * (level / np.sqrt(np.mean(src ** 2)))
                if mode == "blend":
                    fold = (fold + row[lo:hi]) / np.sqrt(2.0)
                row[lo:hi] = fold
        return out
    return apply


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="wesnoth")
    ap.add_argument("--rates", default="24")
    ap.add_argument("--model", default="muzip-v2.5")
    ap.add_argument("--mode", action="append", default=[], choices=("noise", "fold", "blend"))
    ap.add_argument("--min-hz", type=float, default=2000.0)
    args = ap.parse_args()
    os.chdir(ROOT)
    from muzip.codec import load_model
    from muzip.codec.band_gains import BandGains
    from scripts.bench import bench
    from scripts.data.corpus import validation_set

    model = load_model(args.model)
    min_bin = int(args.min_hz / (model.config.model_rate / 2) * model.config.latent_channels)
    original = BandGains.apply
    xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(args.set)]
    print_header()
    for kbps in [float(r) for r in args.rates.split(",")]:
        for mode in args.mode or ["noise", "fold"]:
            BandGains.apply = original if mode == "noise" else folded_apply(original, mode, min_bin)
            try:
                row = measured_row(model, xs, kbps)
            finally:
                BandGains.apply = original
            print(f"| {args.set} | {args.model} {mode} from {args.min_hz:g} Hz | {row}", flush=True)


if __name__ == "__main__":
    main()
