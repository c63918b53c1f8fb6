"""A large catalog kept up to date: what a nightly `muzip index` of 1 % new tracks costs, and a `similar` query.

    .venv/bin/python -m scripts.bench.catalog_scale [--n 1000000] [--json docs/logs/catalog_scale.json]

A synthetic catalog of N tracks made through the functions `muzip index` calls after embedding
(`Catalog.put_many`, `collection.refresh`, `search.prepare`) with the default embedder: raw descriptors
drawn around a few thousand cluster centres in the training audio's descriptor distribution (Zipf sizes,
like scripts/bench/ann_bench.py's vectors), provisional embeddings projected with the prior as `index`
stores them. Measured, in this order:

- build: N tracks written, projected with their statistics, the HNSW index built (the first `index`);
- nightly: 1 % new tracks written, projected with the frozen statistics, the index updated in place;
- what the same 1 % cost before the catalog kept a record of changes is the build's projection and index:
  every vector projected again with recomputed statistics, the index built from scratch;
- query: `muzip similar TRACK --db LIBRARY -n 10` as a user runs it (a new process: wall time, its peak
  RSS), and `search.nearest` in one process that keeps the opened index (p50/p99 over 200 catalog tracks).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BATCH = 10_000


def _descriptors(embed, n: int, start: int, seed: int, clusters: int) -> np.ndarray:
    """n raw descriptors around `clusters` centres (the same centres for every call: seed 0)."""
    spread = np.sqrt(embed.prior_var)
    centres = np.random.default_rng(0).standard_normal((clusters, embed.prior_mean.shape[0]))
    share = 1.0 / np.arange(1, clusters + 1) ** 0.8
    rng = np.random.default_rng(seed + start)
    which = np.minimum(np.searchsorted(np.cumsum(share / share.sum()), rng.random(n)), clusters - 1)
    return embed.prior_mean + spread * (centres[which] + 0.7 * rng.standard_normal((n, embed.prior_mean.shape[0])))


def _write(cat, embed, embedder_id: str, n: int, start: int, seed: int, clusters: int) -> None:
    for lo in range(start, start + n, BATCH):
        count = min(BATCH, start + n - lo)
        raw = _descriptors(embed, count, lo, seed, clusters)
        vecs = embed.project(raw, embed.stats())  # provisional, as `index` stores them
        cat.put_many([{"path": f"/archive/{i // 1000:05d}/track{i:08d}.mz", "size": 1000 + i, "mtime": 0.0,
                       "duration": 240.0, "rate": 44100, "channels": 2, "tags": {}, "model": "muzip-v1",
                       "source": "mz", "dim": int(v.size), "embedding": v.astype("<f4").tobytes(),
                       "descriptor": d.astype("<f4").tobytes()} for i, v, d in zip(range(lo, lo + count), vecs, raw)],
                     embedder_id)


# `muzip ARGS...` reporting its own peak RSS at exit. /proc's VmHWM belongs to the program after exec;
# getrusage's children maximum would count the pages of this (large) process the fork shared.
_PEAK = ("import atexit, runpy, sys\n"
         "atexit.register(lambda: sys.stderr.write([ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')][0]))\n"
         "sys.argv = ['muzip', *sys.argv[1:]]\n"
         "runpy.run_module('muzip', run_name='__main__', alter_sys=True)\n")


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(n: int, log=print) -> dict:
    from muzip.library import collection, load_embedder, search
    from muzip.library.catalog import Catalog
    embed, eid = load_embedder()  # the default embedder, as `muzip index` uses
    clusters = max(4, n // 300)
    extra = max(1, n // 100)
    res = {"n": n, "nightly": extra, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "big.db")
        with Catalog(db) as cat:
            _, res["build_write_s"] = _timed(lambda: _write(cat, embed, eid, n, 0, 1, clusters))
            _, res["build_project_s"] = _timed(lambda: collection.refresh(cat, embed, eid))
            _, res["build_index_s"] = _timed(lambda: search.prepare(cat))
            log(f"build: {json.dumps(res)}")
            _, res["nightly_write_s"] = _timed(lambda: _write(cat, embed, eid, extra, n, 2, clusters))
            projected, res["nightly_project_s"] = _timed(lambda: collection.refresh(cat, embed, eid))
            _, res["nightly_index_s"] = _timed(lambda: search.prepare(cat))
            res["nightly_projected"] = projected
            with open(db + ".usearch.json") as f:
                res["nightly_index_churn"] = json.load(f)["churn"]
            log(f"nightly: {json.dumps(res)}")
            ids = np.random.default_rng(5).choice(n, 200, replace=False)
            paths = [f"/archive/{i // 1000:05d}/track{i:08d}.mz" for i in ids]
            lat = []
            for p in paths:
                t0 = time.perf_counter()
                _, v = cat.lookup(p)
                search.nearest(cat, v, 10, exclude_id=None)
                lat.append(time.perf_counter() - t0)
            res["nearest_p50_ms"] = float(np.percentile(lat, 50) * 1e3)
            res["nearest_p99_ms"] = float(np.percentile(lat, 99) * 1e3)
        walls, peaks = [], []
        for p in paths[:5]:
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _PEAK, "similar", p, "--db", db, "-n", "10"], cwd=ROOT,
                                  check=True, capture_output=True, text=True)
            walls.append(time.perf_counter() - t0)
            peaks.append(int(done.stderr.split("VmHWM:")[1].split()[0]) / 1024)
        res["similar_cli_median_s"] = float(np.median(walls))
        res["similar_cli_peak_mb"] = float(max(peaks))
        res["catalog_mb"] = os.path.getsize(db) / 2 ** 20
        log(f"query: {json.dumps(res)}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--json", help="write the results here (default: print only)")
    a = ap.parse_args()
    res = run(a.n)
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
