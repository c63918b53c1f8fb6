"""Lever (issue 9): rate-dependent bandwidth without retraining -- coarser quantizer steps above a cutoff.

The encoder's latents of channel c are divided by w[c] before quantization and multiplied back before
the decoder (w = 1 below the cutoff, `factor` above), so at the same bitrate the bits move from the
high band to the low one, where the decoder's noise filling cannot stand in for them. Latent channel c
of muzip-v1 covers about c x 87.5 Hz. Validation excerpts of `make bench` (4 x 30 s), rate-controlled to
each target; mel distance (per channel) and ViSQOL (mono mix).

    MUZIP_USER_MODELS=runs/exp/models python -m scripts.experiments.exp_band_tilt [--models muzip-v1 muzip-v1-ctx]
"""

import argparse
import copy
import os
from pathlib import Path

import numpy as np

from scripts.bench import bench
from scripts.data.corpus import split

from muzip.codec import compress_array, decompress_bytes
from muzip.evaluate import visqol_mos
from muzip.metrics import mel_distance
from muzip.codec import load_model

ROOT = Path(__file__).resolve().parents[2]

HZ_PER_CHANNEL = 44100 / 2 / 252
# (label, [(cutoff Hz, step factor above it), ...])
SETTINGS = [("none", []), ("x2 above 8 kHz", [(8000, 2.0)]), ("x4 above 8 kHz", [(8000, 4.0)]),
            ("x2 above 4 kHz, x4 above 11 kHz", [(4000, 2.0), (11000, 4.0)])]


def weights(C, bands):
    w = np.ones(C, np.float32)
    for cutoff, factor in bands:
        w[int(np.ceil(cutoff / HZ_PER_CHANNEL)):] = factor
    return w


def tilted(model, w):
    """The model with latents scaled by 1/w before quantization and by w after (same name and tables)."""
    m = copy.copy(model)
    run_enc, run_dec = model._run_encoder, model._run_decoder
    m._run_encoder = lambda audio: np.asarray(run_enc(audio)) / w
    m._run_decoder = lambda latents, noise: run_dec(np.ascontiguousarray(latents * w, np.float32), noise)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["muzip-v1"])
    ap.add_argument("--rates", nargs="+", type=float, default=[16, 24, 32])
    args = ap.parse_args()
    os.chdir(ROOT)
    _, val = split()
    excerpts = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in val]
    print("| model | setting | target kbps | actual kbps | ViSQOL | mel |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        base = load_model(name)
        for label, bands in SETTINGS:
            model = tilted(base, weights(base.config["latent_channels"], bands))
            for kbps in args.rates:
                rows = []
                for x in excerpts:
                    data = compress_array(x, 44100, kbps, model=model)
                    y, _ = decompress_bytes(data, model=model)
                    rows.append((len(data) * 8 / 30 / 1000, visqol_mos(x, y, 44100), mel_distance(x, y, 44100)))
                k, v, m = np.mean(rows, axis=0)
                print(f"| {name} | {label} | {kbps:g} | {k:.2f} | {v:.3f} | {m:.3f} |", flush=True)


if __name__ == "__main__":
    main()
