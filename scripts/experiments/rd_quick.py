"""Quick rate-distortion rows for one model: the 4 validation excerpts of make bench (30 s from 30 s),
ViSQOL and mel distance at equal requested bitrate, with in-process speed; no baselines (those are in
the same excerpts' docs/RD*.md tables, whose harness is scripts/bench/rd_bench.py).

    .venv/bin/python -m scripts.experiments.rd_quick MODEL KBPS [KBPS ...]
"""
import sys, os, time
import numpy as np
from scripts.bench import bench
from scripts.data.corpus import split
from muzip.codec import compress_array, decompress_bytes
from muzip.evaluate import visqol_mos
from muzip.metrics import mel_distance
from muzip.codec import load_model
name = sys.argv[1]; rates = [float(r) for r in sys.argv[2:]]
model = load_model(name)
_, val = split()
xs = [bench.read_excerpt(p, 30.0, 30.0)[0] for p in val]
for kbps in rates:
    rows = []; te = td = 0
    for x in xs:
        t = time.time(); d = compress_array(x, 44100, kbps, model=model); te += time.time() - t
        t = time.time(); y, _ = decompress_bytes(d, model=model); td += time.time() - t
        rows.append((len(d) * 8 / 30 / 1000, visqol_mos(x, y, 44100), mel_distance(x, y, 44100)))
    k, v, m = np.mean(rows, axis=0)
    print(f"| {name} | {kbps:g} | {k:.2f} | {v:.3f} | {m:.3f} | enc {120/te:.0f}x dec {120/td:.0f}x |", flush=True)
