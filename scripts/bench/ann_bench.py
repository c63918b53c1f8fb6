"""A million-track vector search: usearch HNSW with quantized vectors, built incrementally, queried memory-mapped.

    .venv/bin/python -m scripts.bench.ann_bench [--n 1000000] [--dtype i8] [--json docs/ann_results.json]

Synthetic embeddings with the library embedder's dimension (muzip.library.projection: 128) and a cluster
structure like a music collection's: a few thousand "artists/albums" of very different sizes (Zipf), each a
direction on the sphere with its own spread, so near neighbours are mostly of one cluster but not all
equally tight. Vectors come in seeded chunks (never all in memory at once); queries are fresh draws from the
same clusters, not indexed vectors. Each stage runs in its own process, so its peak RSS is its own:

- build: chunks of 100,000 added to one index (`Index.add`, all cores), saved; time, file size, peak RSS;
- append: the saved index loaded and 1 % more added (what a nightly `index` of new tracks does);
- exact: top 10 by cosine over the float32 vectors for every query (the ground truth);
- query: the index memory-mapped (`Index.restore(view=True)`), one query at a time on one thread (a
  `similar` call): p50 / p99 latency, recall@10 against exact, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DIM = 128
CHUNK = 100_000
QUERIES = 1000
K = 10


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def clusters(n: int, dim: int, seed: int = 0):
    """(centres, spreads, cumulative share) of ~n/300 clusters with Zipf-distributed sizes."""
    rng = np.random.default_rng(seed)
    k = max(4, n // 300)
    centres = rng.standard_normal((k, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    share = 1.0 / np.arange(1, k + 1) ** 0.8
    rng.shuffle(share)
    spreads = rng.uniform(0.7, 1.4, k).astype(np.float32)  # cosine to the centre ~0.6-0.85
    return centres, spreads, np.cumsum(share / share.sum())


def draw(count: int, model, seed: int) -> np.ndarray:
    """`count` unit vectors from the clusters (seeded: the same seed gives the same vectors)."""
    centres, spreads, cum = model
    rng = np.random.default_rng(seed)
    which = np.minimum(np.searchsorted(cum, rng.random(count)), len(centres) - 1)
    v = centres[which] + rng.standard_normal((count, centres.shape[1])).astype(np.float32) \
        * (spreads[which, None] / np.sqrt(centres.shape[1]))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def chunks(n: int, model):
    for start in range(0, n, CHUNK):
        yield start, draw(min(CHUNK, n - start), model, seed=1000 + start // CHUNK)


def _index(dtype: str):
    from usearch.index import Index
    return Index(ndim=DIM, metric="cos", dtype=dtype, connectivity=16, expansion_add=128, expansion_search=64)


def stage_build(a) -> dict:
    model = clusters(a.n, DIM)
    index, t0 = _index(a.dtype), time.perf_counter()
    for start, v in chunks(a.n, model):
        index.add(np.arange(start, start + len(v), dtype=np.uint64), v, threads=os.cpu_count() or 1)
    build = time.perf_counter() - t0
    index.save(a.index)
    return {"build_s": build, "index_mb": os.path.getsize(a.index) / 2**20, "build_peak_mb": _peak_mb()}


def stage_append(a) -> dict:
    from usearch.index import Index
    extra = max(1, a.n // 100)
    index = Index.restore(a.index)
    v = draw(extra, clusters(a.n, DIM), seed=999)
    t0 = time.perf_counter()
    index.add(np.arange(a.n, a.n + extra, dtype=np.uint64), v, threads=os.cpu_count() or 1)
    return {"append": extra, "append_s": time.perf_counter() - t0}


def stage_exact(a) -> dict:
    q = draw(QUERIES, clusters(a.n, DIM), seed=7)
    best_s = np.full((QUERIES, K), -np.inf, np.float32)
    best_i = np.zeros((QUERIES, K), np.int64)
    for start, v in chunks(a.n, clusters(a.n, DIM)):
        s = q @ v.T
        top = np.argpartition(-s, K - 1, axis=1)[:, :K]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + start], axis=1)
        keep = np.argsort(-cand_s, axis=1)[:, :K]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    np.save(a.truth, best_i)
    return {}


def stage_query(a) -> dict:
    from usearch.index import Index
    index = Index.restore(a.index, view=True)
    truth = np.load(a.truth)
    q = draw(QUERIES, clusters(a.n, DIM), seed=7)
    out = {}
    for ef in (int(e) for e in a.expansion.split(",")):
        index.expansion_search = ef
        index.search(q[:50], K, threads=1)  # touch the pages a first query would, as a warm server has
        lat, hits = [], 0
        for i in range(QUERIES):
            t0 = time.perf_counter()
            m = index.search(q[i], K, threads=1)
            lat.append(time.perf_counter() - t0)
            hits += len(np.intersect1d(m.keys.astype(np.int64), truth[i]))
        out[str(ef)] = {"p50_ms": float(np.percentile(lat, 50) * 1e3), "p99_ms": float(np.percentile(lat, 99) * 1e3),
                        "recall_at_10": hits / (QUERIES * K)}
    return {"queries": out, "query_peak_mb": _peak_mb()}


STAGES = {"build": stage_build, "append": stage_append, "exact": stage_exact, "query": stage_query}


def run(n: int, dtype: str, expansion: str, keep: str | None = None, stages=tuple(STAGES), log=print) -> dict:
    res = {"n": n, "dim": DIM, "dtype": dtype, "queries": QUERIES, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        where = keep or tmp
        common = ["--n", str(n), "--dtype", dtype, "--index", os.path.join(where, f"ann_{n}_{dtype}.usearch"),
                  "--truth", os.path.join(where, f"ann_{n}_truth.npy"), "--expansion", expansion]
        for stage in stages:
            t0 = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "scripts.bench.ann_bench", "--stage", stage, *common],
                                  cwd=ROOT, capture_output=True, text=True, check=True)
            res.update(json.loads(done.stdout.strip().splitlines()[-1]))
            log(f"{stage}: {time.perf_counter() - t0:.1f} s {json.dumps(res.get('queries') if stage == 'query' else {k: v for k, v in res.items() if k not in ('queries',)})}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dtype", default="i8", choices=["i8", "f16", "f32"])
    ap.add_argument("--expansion", default="64,128,256,512", help="expansion_search values to measure")
    ap.add_argument("--json", help="write the results here (default: print only)")
    ap.add_argument("--keep", metavar="DIR", help="keep the index and the exact answers in DIR (for --stages)")
    ap.add_argument("--stages", default=",".join(STAGES), help="stages to run (query alone needs --keep's files)")
    ap.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    ap.add_argument("--index", help=argparse.SUPPRESS)
    ap.add_argument("--truth", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.stage:
        print(json.dumps(STAGES[a.stage](a)))
        return
    res = run(a.n, a.dtype, a.expansion, a.keep, a.stages.split(","))
    print(json.dumps(res, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
