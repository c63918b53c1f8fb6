"""Temporal envelope corrections (muzip.codec.envelope) on and off: the same network and tables, muzip-v2.1
against an envelope model made from it (scripts/models/make_envelope_model.py), on validation excerpts,
with the listening measures (muzip.listening), the mel distance and the actual bitrate.

    python -m scripts.experiments.exp_envelope [--set band] [--models muzip-v2.1 muzip-v2.2] [--kbps 16 24 32 64]
"""

import argparse
import time

import numpy as np

from scripts.bench.bench import read_excerpt
from scripts.data.corpus import VALIDATION_SETS, validation_set

KEYS = ("pre_attack_db", "rise_db", "source_rise_db", "early_ms", "lsd_low_db", "tonality_error")


def run_point(model, x, kbps):
    from muzip.codec import compress_array, decompress_bytes
    from muzip.listening import listening_measures
    from muzip.metrics import mel_distance
    t0 = time.perf_counter()
    data = compress_array(x, 44100, kbps, model=model)
    y, _ = decompress_bytes(data, model=model)
    wall = time.perf_counter() - t0
    m = listening_measures(x, y, 44100)
    return {"kbps": len(data) * 8 / (len(x) / 44100) / 1000, "mel": mel_distance(x, y, 44100), "wall": wall,
            **{k: m.get(k) for k in KEYS}, "attacks": m.get("attacks", 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="band", choices=VALIDATION_SETS)
    ap.add_argument("--models", nargs="+", default=["muzip-v2.1", "muzip-v2.2"])
    ap.add_argument("--kbps", nargs="+", type=float, default=[16, 24, 32, 64])
    ap.add_argument("--start", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tracks", type=int, default=4)
    args = ap.parse_args()
    from muzip.codec import load_model
    files = validation_set(args.set)[:args.tracks]
    excerpts = [read_excerpt(f, args.start, args.seconds)[0] for f in files]
    print(f"{len(excerpts)} excerpts of {args.seconds:g} s from the {args.set} set")
    print("| model | target | kbps | mel | pre-attack dB | rise dB (source) | silence ms | fine LSD dB | tonality err | x RT |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.models:
        model = load_model(name)
        for kbps in args.kbps:
            rows = [run_point(model, x, kbps) for x in excerpts]

            def mean(k):
                v = [r[k] for r in rows if r[k] is not None and np.isfinite(r[k])]
                return float(np.mean(v)) if v else float("nan")
            rt = sum(len(x) for x in excerpts) / 44100 / sum(r["wall"] for r in rows)
            print(f"| {name} | {kbps:g} | {mean('kbps'):.2f} | {mean('mel'):.3f} | {mean('pre_attack_db'):+.2f} | "
                  f"{mean('rise_db'):.2f} ({mean('source_rise_db'):.2f}) | {mean('early_ms'):.1f} | {mean('lsd_low_db'):.2f} | "
                  f"{mean('tonality_error'):.3f} | {rt:.1f} |", flush=True)


if __name__ == "__main__":
    main()
