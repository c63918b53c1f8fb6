"""Nearest tracks by cosine similarity: exact below EXACT_MAX tracks, else an HNSW index (usearch).

usearch: maintained, small wheels for every platform, HNSW with cosine metric, incremental add and
remove, and its own file format (no pickle) -- hnswlib has had no release since 2023 and faiss-cpu is
a 30 MB dependency for what a catalog needs. The index file LIBRARY.usearch sits beside the catalog,
with LIBRARY.usearch.json recording the catalog generation it was built from; a stale or unreadable
index is rebuilt from the catalog (the catalog is the truth). Saving it is best effort: where the folder
cannot be written, the index is used from memory this time."""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import MuzipError

EXACT_MAX = 5000
EXPANSION_SEARCH = 512  # recall@10 0.976, p99 8.6 ms on 10^6 clustered 128-d vectors (docs/SCALE.md, ann_bench)


def _paths(db_path: str):
    return db_path + ".usearch", db_path + ".usearch.json"


INDEX_DTYPE = "f16"  # half of f32's memory at its recall; i8 tops out near recall@10 0.92 (docs/SCALE.md)


def _ann(catalog, ids, emb):
    from usearch.index import Index
    index_path, meta_path = _paths(catalog.path)
    gen = catalog.generation()
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("generation") == gen and meta.get("dim") == emb.shape[1] and os.path.isfile(index_path):
            index = Index.restore(index_path, view=True)  # memory-mapped: a query reads only the pages it visits
            if index is not None and index.ndim == emb.shape[1] and len(index) == len(ids):
                index.expansion_search = EXPANSION_SEARCH
                return index
    except (OSError, ValueError, RuntimeError, AttributeError, TypeError):  # missing or damaged: rebuilt
        pass
    index = Index(ndim=emb.shape[1], metric="cos", dtype=INDEX_DTYPE, connectivity=16, expansion_add=128,
                  expansion_search=EXPANSION_SEARCH)
    index.add(ids, emb)
    tmp = index_path + ".tmp"
    try:
        index.save(tmp)
        os.replace(tmp, index_path)
        with open(meta_path + ".tmp", "w") as f:
            json.dump({"generation": gen, "dim": int(emb.shape[1]), "count": len(ids), "dtype": INDEX_DTYPE}, f)
        os.replace(meta_path + ".tmp", meta_path)
    except (OSError, RuntimeError):  # a read-only folder: the index is a cache, used from memory this time
        for leftover in (tmp, meta_path + ".tmp"):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    return index


def prepare(catalog) -> bool:
    """Build (or check) the vector index of a catalog past EXACT_MAX tracks now, so the first `similar`
    after an `index` does not pay for it; True when there is one."""
    ids, emb, _ = catalog.embeddings()
    if len(ids) <= EXACT_MAX:
        return False
    _ann(catalog, ids, emb)
    return True


def nearest(catalog, query: np.ndarray, n: int = 10, exclude_id=None) -> list[dict]:
    """[{"path", "score"}], best first; score = cosine similarity (embeddings are unit-norm)."""
    ids, emb, paths = catalog.embeddings()
    if not len(ids):
        return []
    if query.shape != (emb.shape[1],):
        raise MuzipError(f"{catalog.path}: the catalog holds {emb.shape[1]}-d embeddings, the query is "
                         f"{query.size}-d (made with another embedder? re-index)")
    if not np.all(np.isfinite(query)):
        raise MuzipError("the query's embedding is not finite (NaN or infinity)")
    by_id = dict(zip(ids.tolist(), paths))
    want = n + (1 if exclude_id is not None else 0)
    if len(ids) <= EXACT_MAX:
        scores = emb @ query
        order = np.argsort(-scores, kind="stable")[:want]
        hits = [(int(ids[i]), float(scores[i])) for i in order]
    else:
        matches = _ann(catalog, ids, emb).search(query.astype(np.float32), min(want, len(ids)))
        hits = [(int(k), 1.0 - float(d)) for k, d in zip(matches.keys, matches.distances)]
    return [{"path": by_id[i], "score": round(s, 6)} for i, s in hits if i != exclude_id][:n]
