"""Experiment: what `muzip train` from the default (tables counted on the music, muzip.train.adapt) buys on
songs it never saw, and the prior's weight. Leave one song out over the band-validation songs: the tables
are counted on the other songs' stems (train.data segments, as `muzip train` reads them) and the held-out
song's full mix (data/band/) is coded at equal bitrate by the base and the adapted model, in memory.

    python -m scripts.experiments.exp_adapt [--base muzip-v2.6] [--priors 20,200,2000] [--seconds 60]

Prints a table (mean over the folds, and each fold's mel change); results go to docs/EXPERIMENTS.md by hand.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from muzip.codec import compress_array, decompress_bytes, load_model
from muzip.codec.transform_model import TransformCodecModel
from muzip.evaluate import visqol_mos
from muzip.metrics import mel_distance
from muzip.train.adapt import count_tables
from muzip.train.data import excerpt, file_segments
from muzip.train.pipeline import TrainReport
from scripts.data.corpus import band_songs, band_validation, band_validation_songs

ROOT = Path(__file__).resolve().parents[2]
RATES = (16, 24, 32, 64)


def adapted_model(base, tables):
    """The base with `tables` in memory (its identity kept: these bytes never leave the process)."""
    from muzip.codec.entropy.banded import BandedTables
    model = TransformCodecModel(base.name, base.config, base.digest,
                                BandedTables(tables["counts"], tables["class_counts"]),
                                (tables["encoder_log_gain"], tables["decoder_log_gain"]), tables["gain_counts"])
    model.accepted = base.accepted
    return model


def measure(model, x):
    out = {}
    for kbps in RATES:
        data = compress_array(x, 44100, kbps, model=model)
        y, _ = decompress_bytes(data, model=model)
        out[kbps] = (len(data) * 8 / (len(x) / 44100) / 1000, mel_distance(x, y, 44100), visqol_mos(x, y, 44100))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="muzip-v2.6")
    ap.add_argument("--priors", default="20,200,2000")
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    os.chdir(ROOT)
    priors = [float(p) for p in args.priors.split(",")]
    base = load_model(args.base)
    songs, mixes, stems = band_validation_songs(), band_validation(), band_songs()
    results = {p: [] for p in ["base", *priors]}
    for song, mix in zip(songs, mixes):
        rows = np.concatenate([file_segments(f, 44100, 40).reshape(-1, 88200)
                               for s in songs if s != song for f in stems[s]])
        x = excerpt(mix, 44100, args.seconds)
        results["base"].append(measure(base, x))
        for prior in priors:
            tables, counted = count_tables(args.base, rows, 44100, TrainReport(), prior)
            results[prior].append(measure(adapted_model(base, tables), x))
        print(f"# held out {song}: counted on {len(rows) // 2} segments of {sum(len(stems[s]) for s in songs if s != song)} stems; "
              + "; ".join(f"prior {p:g}: mel " + " ".join(f"{results[p][-1][k][1] - results['base'][-1][k][1]:+.3f}"
                                                          for k in RATES) for p in priors), flush=True)
    print(f"\n| tables | " + " | ".join(f"{k} kbps: kbps / mel / ViSQOL" for k in RATES) + " |")
    print("|---|" + "---|" * len(RATES))
    for key, folds in results.items():
        cells = [np.mean([f[k] for f in folds], axis=0) for k in RATES]
        name = "base" if key == "base" else f"adapted, prior {key:g}"
        print(f"| {name} | " + " | ".join(f"{c[0]:.2f} / {c[1]:.3f} / {c[2]:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
