"""Prototype (issue 24): noise shaping by the channel weighting of a network-free model, in process only.

A network-free model (codec.transform_model) quantizes exp(encoder_log_gain) x compand(MDCT) with one step
per audio channel, and its decoder divides by exp(decoder_log_gain) first: multiplying both weightings by
g(f) makes the quantizer g times finer at frequency f (more bits there, fewer elsewhere at an equal
bitrate). Learned on game music, v2.5's weighting is nearly flat (within +-12 % from 100 Hz to 16 kHz).
Here g(f) = (f / pivot)^(tilt_db / 6.02) clipped to [lo_hz, hi_hz] (tilt in dB per octave of the quantizer's
precision); latent and band-gain tables stay the model's, so a tilt also pays for tables counted without it.

    python -m scripts.experiments.exp_weighting --set band --rates 24,64 --tilt 0 --tilt -1.5 --tilt 1.5
"""

import argparse
import os
from pathlib import Path

import numpy as np

from scripts.experiments.exp_models import measured_row, print_header

ROOT = Path(__file__).resolve().parents[2]


def shaping(tilt_db: float, channels: int = 882, rate: int = 44100, pivot: float = 2000.0,
            lo_hz: float = 250.0, hi_hz: float = 16000.0) -> np.ndarray:
    """g per MDCT channel: tilt_db dB of precision per octave around pivot, flat outside [lo_hz, hi_hz]."""
    f = np.clip((np.arange(channels) + 0.5) * rate / 2 / channels, lo_hz, hi_hz)
    return (f / pivot) ** (tilt_db / (20 * np.log10(2)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="band")
    ap.add_argument("--rates", default="24,64")
    ap.add_argument("--model", default="muzip-v2.5")
    ap.add_argument("--tilt", action="append", type=float, default=[], help="dB per octave (repeatable)")
    args = ap.parse_args()
    os.chdir(ROOT)
    from muzip.codec import load_model
    from scripts.bench import bench
    from scripts.data.corpus import validation_set

    xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(args.set)]
    print_header()
    for kbps in [float(r) for r in args.rates.split(",")]:
        for tilt in args.tilt or [0.0]:
            model = load_model(args.model)
            g = shaping(tilt).astype(np.float32)
            model._weight, model._unweight = model._weight * g, model._unweight / g
            print(f"| {args.set} | {args.model} tilt {tilt:+g} dB/oct | {measured_row(model, xs, kbps)}", flush=True)


if __name__ == "__main__":
    main()
