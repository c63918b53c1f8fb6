"""Where a model's compress and decompress time goes, in process: wall and CPU time, and thread CPU per part.

    .venv/bin/python -m scripts.bench.profile_codec muzip-v2.1 96        # 4 validation excerpts x 30 s, best of 3

The excerpts are scripts/bench/bench.py's (every validation track of scripts/data/corpus.py split(), 30 s from 30 s).
Each part's figure is the thread CPU time (time.thread_time) spent inside it, summed over threads: the
parts overlap in wall time, since the network runs in worker threads beside the entropy coder. Run it on
a quiet machine (no other CPU work; timings on this 2-core VM vary by 10-30% from run to run).
"""

import argparse
import os
import time
from pathlib import Path

from scripts.bench.bench import muzip_codec, read_excerpt

ROOT = Path(__file__).resolve().parents[2]

PARTS = {  # (module, class, attribute): label
    ("muzip.codec.entropy.context", "ContextCoder", "encode"): "latent entropy encode",
    ("muzip.codec.entropy.context", "ContextCoder", "estimate_bits"): "rate-search estimates",
    ("muzip.codec.entropy.context", "ContextCoder", "decode"): "latent entropy decode",
    ("muzip.codec.entropy.banded", "BandedCoder", "encode"): "latent entropy encode",
    ("muzip.codec.entropy.banded", "BandedCoder", "estimate_bits"): "rate-search estimates",
    ("muzip.codec.entropy.banded", "BandedCoder", "decode"): "latent entropy decode",
    ("muzip.codec.entropy.levels", "LatentCoder", "encode"): "latent entropy encode",
    ("muzip.codec.entropy.levels", "LatentCoder", "estimate_bits"): "rate-search estimates",
    ("muzip.codec.entropy.levels", "LatentCoder", "decode"): "latent entropy decode",
    ("muzip.codec.gain_encoder", "GainEncoder", "_analyse"): "band-gain analysis (worker)",
    ("muzip.codec.model", "CodecModel", "decode_coefficients"): "  in it: decoder for the gains",
    ("muzip.codec.onnx_model", "OnnxCodecModel", "_run_encoder"): "encoder network",
    ("muzip.codec.onnx_model", "OnnxCodecModel", "_run_decoder"): "decoder network",
    ("muzip.codec.gain_encoder", "GainEncoder", "_envelope_bytes"): "  in it: temporal envelope analysis",
    ("muzip.codec.band_gains", "BandGains", "decode"): "band-gain entropy decode",
    ("muzip.codec.band_gains", "BandGains", "apply"): "band gains applied",
    ("muzip.codec.envelope", "TemporalEnvelope", "apply"): "temporal envelope applied (decoder)",
    ("muzip.codec.fill_levels", "FillLevels", "codes_for"): "fill levels chosen (encoder)",
}


def instrument(totals):
    import importlib
    for (module, cls, attr), label in PARTS.items():
        owner = getattr(importlib.import_module(module), cls)
        inner = getattr(owner, attr)

        def timed(*a, _inner=inner, _label=label, **k):
            t = time.thread_time()
            try:
                return _inner(*a, **k)
            finally:
                totals[_label] = totals.get(_label, 0.0) + time.thread_time() - t
        setattr(owner, attr, timed)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("kbps", type=float)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tracks", type=int, default=4)
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    from scripts.data.corpus import split

    from muzip.codec import load_model
    model = load_model(args.model)
    excerpts = [read_excerpt(p, 30.0, 30.0)[0] for p in split()[1][:args.tracks]]
    seconds = sum(len(x) for x in excerpts) / 44100
    enc, dec = muzip_codec(model)
    data = [enc(x, args.kbps) for x in excerpts]  # also the warm-up
    totals = {}
    instrument(totals)
    for name, run in (("compress", lambda: [enc(x, args.kbps) for x in excerpts]),
                      ("decompress", lambda: [dec(d) for d in data])):
        best = None
        for _ in range(args.reps):
            totals.clear()
            c, t = time.process_time(), time.perf_counter()
            run()
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            if best is None or wall < best[0]:
                best = (wall, cpu, dict(totals))
        wall, cpu, totals = best
        print(f"{args.model} {args.kbps:g} kbps {name}: {seconds / wall:.1f}x real time "
              f"(wall {wall:.2f} s, CPU {cpu:.2f} s for {seconds:g} s of audio; best of {args.reps})")
        for label, t in sorted(totals.items(), key=lambda kv: -kv[1]):
            if t > 0:
                print(f"    {label:30s} {t:6.2f} s CPU")


if __name__ == "__main__":
    main()
