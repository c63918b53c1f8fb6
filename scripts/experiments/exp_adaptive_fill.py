"""Prototype (issue 24): a fill level per frame and audio channel that follows how noise-like the source is.

In process only, no format: before each excerpt is coded, a table of levels is computed from the source,
and the dequantizer of both the encoder and the decoder (codec.quantizer.dequantize, patched here) uses
frame f's level for audio channel a instead of the model's fixed noise_fill. The level is
clip(a0 + a1 x SF, lo, hi), SF being the mean spectral flatness over 2-8 kHz of 4096-sample Hann windows
(hop 1024) of the source's mid or side in that frame: the long window in which the tonality measure
(muzip.listening) sees partials. A format would code it as a byte per frame and audio channel.

    python -m scripts.experiments.exp_adaptive_fill --set band --rates 24 --map 0.13,0.65,0.1,0.4
"""

import argparse
import os
from pathlib import Path

import numpy as np

from scripts.experiments.exp_models import measured_row, print_header

ROOT = Path(__file__).resolve().parents[2]
N_FFT, HOP, BAND = 4096, 1024, (2000.0, 8000.0)


def flatness(sig, sr=44100):
    """Mean spectral flatness over BAND of N_FFT windows of sig (1-D)."""
    if len(sig) < N_FFT:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(sig, N_FFT)[::HOP] * np.hanning(N_FFT)
    f = np.fft.rfftfreq(N_FFT, 1 / sr)
    p = np.abs(np.fft.rfft(frames, axis=-1))[:, (f >= BAND[0]) & (f < BAND[1])] ** 2 + 1e-12
    return float(np.mean(np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)))


def level_table(x, mapping, frame=44100):
    """(frames, audio channels) fill levels for stereo 44.1 kHz x."""
    from muzip.codec import to_mid_side
    a0, a1, lo, hi = mapping
    ms = to_mid_side(x)
    frames = -(-ms.shape[1] // frame)
    sf = np.array([[flatness(ms[a, f * frame:(f + 1) * frame]) for a in range(len(ms))] for f in range(frames)])
    return np.clip(a0 + a1 * sf, lo, hi)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="wesnoth")
    ap.add_argument("--rates", default="24")
    ap.add_argument("--model", default="muzip-v2.4")
    ap.add_argument("--map", action="append", default=[], help="a0,a1,lo,hi (repeatable)")
    args = ap.parse_args()
    os.chdir(ROOT)
    import muzip.codec.decode as decode
    import muzip.codec.encode as encode
    from muzip.codec import load_model
    from muzip.codec.quantizer import dequantize
    from scripts.bench import bench
    from scripts.data.corpus import validation_set

    model = load_model(args.model)
    table = {"levels": None}
    full = 0.5  # dequantize's largest level: the noise scales linearly with it

    def adaptive(q, steps, frame, cfg, fill=None):  # fill: what a fill-level model codes (unused here)
        plain = q * np.asarray(steps, np.float32)[:, None, None]
        filled = dequantize(q, steps, frame, dict(cfg, noise_fill=full))
        levels = table["levels"][min(frame, len(table["levels"]) - 1), :len(q)]
        return (plain + (filled - plain) * (levels / full).astype(np.float32)[:, None, None]).astype(np.float32)

    xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in validation_set(args.set)]
    print_header()
    for kbps in [float(r) for r in args.rates.split(",")]:
        for spec in args.map:
            mapping = [float(v) for v in spec.split(",")]

            def before(x, mapping=mapping):
                table["levels"] = level_table(x, mapping)
            encode.dequantize = decode.dequantize = adaptive
            try:
                row = measured_row(model, xs, kbps, before)
            finally:
                encode.dequantize = decode.dequantize = dequantize
            print(f"| {args.set} | {args.model} fill {spec} | {row}", flush=True)


if __name__ == "__main__":
    main()
