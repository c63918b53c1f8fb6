"""Experiment: a coarser quantizer for the side channel (joint-stereo lever), measured at equal bitrate.

    python -m scripts.experiments.exp_side_offset   # validation excerpts as in scripts/bench/bench.py; prints a table

Offset k codes side with a step 2**(k/4) times mid's; the rate controller then spends the saved
bits on mid. Results go to docs/EXPERIMENTS.md by hand, with this command.
"""

from pathlib import Path

import numpy as np

from scripts.bench import bench
from scripts.data.corpus import split

from muzip.codec import compress_array, decompress_bytes
from muzip.evaluate import visqol_mos
from muzip.metrics import mel_distance
from muzip.codec import load_model

ROOT = Path(__file__).resolve().parents[2]


def main():
    import os
    os.chdir(ROOT)
    model = load_model()
    _, val = split()
    excerpts = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in val]
    print("| side offset | target kbps | actual kbps | ViSQOL | mel |")
    print("|---|---|---|---|---|")
    for offset in (0, 2, 4, 8):
        for kbps in (16, 32, 64):
            rows = []
            for x in excerpts:
                data = compress_array(x, 44100, kbps, model=model, side_offset=offset)
                y, _ = decompress_bytes(data, model=model)
                rows.append((len(data) * 8 / 30 / 1000, visqol_mos(x, y, 44100), mel_distance(x, y, 44100)))
            k, v, m = np.mean(rows, axis=0)
            print(f"| {offset} | {kbps} | {k:.2f} | {v:.3f} | {m:.3f} |", flush=True)


if __name__ == "__main__":
    main()
