"""Where a network-free model's tonality error comes from: the same files decoded with and without the
dequantizer's noise in the holes of coded bands (config noise_fill set to 0 in process, decoder side only:
the encoder's band gains still assume it), on the 4 excerpts of a validation set.

    python -m scripts.experiments.exp_fill_diagnosis [--model muzip-v2.4] [--set wesnoth] [--kbps 24]
"""

import argparse
import copy
import os
from pathlib import Path

import numpy as np

from scripts.bench.bench import read_excerpt
from scripts.data.corpus import validation_set

ROOT = Path(__file__).resolve().parents[2]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="muzip-v2.4")
    ap.add_argument("--set", default="wesnoth")
    ap.add_argument("--kbps", type=float, default=24.0)
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    from muzip.codec import ModelConfig, compress_array, decompress_bytes, load_model
    from muzip.listening import listening_measures
    model = load_model(args.model)
    without = copy.copy(model)
    without.config = ModelConfig.from_dict(dict(model.config, noise_fill=0.0))
    xs = [read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(args.set)]
    files = [compress_array(x, 44100, args.kbps, model=model) for x in xs]
    for label, decoder in (("as coded", model), ("holes left empty", without)):
        rows = [listening_measures(x, decompress_bytes(d, model=decoder)[0], 44100) for x, d in zip(xs, files)]
        print(f"{args.model} {args.set} {args.kbps:g} kbps, {label}: tonality error "
              f"{np.mean([r['tonality_error'] for r in rows]):.3f}, fine LSD {np.mean([r['lsd_low_db'] for r in rows]):.2f} dB",
              flush=True)


if __name__ == "__main__":
    main()
