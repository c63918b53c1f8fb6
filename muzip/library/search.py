"""Nearest tracks by cosine similarity: exact up to EXACT_MAX tracks, else an HNSW index (usearch).

usearch: maintained, small wheels for every platform, HNSW with cosine metric, incremental add and
remove, and its own file format (no pickle) -- hnswlib has had no release since 2023 and faiss-cpu is
a 30 MB dependency for what a catalog needs. The index file LIBRARY.usearch sits beside the catalog;
LIBRARY.usearch.json records the catalog generation it reflects, its dimension and size, and the tracks
left out of it (embeddings that are not finite). A stale index is brought up to date from the catalog's
record of changes (`Catalog.changed_since`): loaded, the changed tracks removed and added again, saved --
seconds for a nightly `index` of new tracks where a rebuild of a million takes minutes. It is rebuilt from
the catalog (the catalog is the truth) when it is missing or unreadable, when the catalog cannot say what
changed, or once REBUILD_SHARE of it has changed since it was built. Saving is best effort: where the
folder cannot be written, the index is used from memory this time. Queries read the index memory-mapped
and only their hits' rows of the catalog.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import MuzipError

EXACT_MAX = 20000
EXPANSION_SEARCH = 512  # recall@10 0.976, p99 8.6 ms on 10^6 clustered 128-d vectors (docs/SCALE.md, ann_bench)
INDEX_DTYPE = "f16"  # half of f32's memory at its recall; i8 tops out near recall@10 0.92 (docs/SCALE.md)
REBUILD_SHARE = 0.25  # of the index's tracks replaced or removed since its build: HNSW links degrade with removals
# Threads that add to the index (0: every core). Concurrent adds build a different graph each time: 1 in 300 builds
# of 300 vectors lost one of a query's 5 nearest (session 59); one thread builds the same one every time.
ADD_THREADS = 0


def _index_class():
    """usearch's Index class. onnxruntime is loaded first: usearch's extension carries its own C++ runtime,
    and onnxruntime's pybind11 module loaded after it crashes the process (usearch 2.26, onnxruntime 1.32: a
    segmentation fault on `import onnxruntime`); loaded before it, both work. A `similar --playlist` of a `.mz`
    outside the catalog decodes it after the search."""
    import onnxruntime  # noqa: F401

    from usearch.index import Index
    return Index


def _paths(db_path: str):
    return db_path + ".usearch", db_path + ".usearch.json"


def _read_meta(meta_path: str) -> dict | None:
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        meta = {"generation": int(meta["generation"]), "dim": int(meta["dim"]), "count": int(meta["count"]),
                "churn": int(meta.get("churn", 0)), "catalog": meta.get("catalog"), "sha256": meta.get("sha256"),
                "file": meta.get("file"),
                "left_out": {int(k): str(v) for k, v in dict(meta.get("left_out", {})).items()}}
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None
    return meta


def _matches(index, meta: dict) -> bool:
    return index is not None and index.ndim == meta["dim"] and len(index) == meta["count"]


def _sha256(path: str) -> str:
    from ..runtime.store import file_sha256
    return file_sha256(path)


def _ours(catalog, index_path: str, meta: dict) -> bool:
    """Whether the index file is the one saved for this catalog, whole: built from another catalog of the same
    generation and size (a catalog made anew), or written over in place, it gave wrong neighbours and NaN
    scores without a word (a review, session 62). Its bytes are hashed only where the file's time or size is
    not what was saved (an index from before session 62 records neither, and is taken as it is)."""
    if meta.get("catalog") != catalog.identity():
        return False
    if not meta.get("sha256"):
        return True
    st = os.stat(index_path)
    if meta.get("file") == [st.st_mtime_ns, st.st_size]:
        return True
    if _sha256(index_path) != meta["sha256"]:
        return False
    try:  # the same bytes with another time (a copy, a restore): noted, so the next query does not hash again
        with open(index_path + ".json") as f:
            saved = json.load(f)
        with open(index_path + ".json.tmp", "w") as f:
            json.dump({**saved, "file": [st.st_mtime_ns, st.st_size]}, f)
        os.replace(index_path + ".json.tmp", index_path + ".json")
    except (OSError, ValueError):  # a read-only folder: hashed at each query, as a cache that cannot be kept
        pass
    return True


def _built(catalog, gen: int):
    Index = _index_class()
    ids, emb, _ = catalog.embeddings()
    index = Index(ndim=max(1, emb.shape[1]), metric="cos", dtype=INDEX_DTYPE, connectivity=16, expansion_add=128,
                  expansion_search=EXPANSION_SEARCH)
    if len(ids):
        index.add(ids, emb, threads=ADD_THREADS)
    return index, {"generation": gen, "dim": int(index.ndim), "count": len(index), "churn": 0,
                   "catalog": catalog.identity(), "left_out": catalog.left_out_by_id}


def _updated(catalog, index_path: str, meta: dict, gen: int):
    """(index, meta) with what changed since meta's generation applied, or None where a rebuild is due."""
    Index = _index_class()
    changed = catalog.changed_since(meta["generation"])
    if changed is None or len(changed) + meta["churn"] > REBUILD_SHARE * max(meta["count"], 1):
        return None
    index = Index.restore(index_path)  # into memory: a memory-mapped view cannot be changed
    if not _matches(index, meta):
        return None
    ids, vectors, _, left = catalog.vectors_of(changed, meta["dim"])
    present = changed[np.asarray(index.contains(changed), bool)] if len(changed) else changed
    if len(present):
        index.remove(present)
    if len(ids):
        index.add(ids, vectors, threads=ADD_THREADS)
    gone = set(changed.tolist())
    left_out = {k: v for k, v in meta["left_out"].items() if k not in gone} | left
    return index, {"generation": gen, "dim": meta["dim"], "count": len(index), "catalog": meta["catalog"],
                   "churn": meta["churn"] + len(present), "left_out": left_out}


def _saved(index, meta: dict, index_path: str, meta_path: str):
    tmp = index_path + ".tmp"
    try:
        index.save(tmp)
        os.replace(tmp, index_path)
        st = os.stat(index_path)
        meta = {**meta, "sha256": _sha256(index_path), "file": [st.st_mtime_ns, st.st_size]}
        with open(meta_path + ".tmp", "w") as f:
            json.dump({**meta, "dtype": INDEX_DTYPE, "left_out": {str(k): v for k, v in meta["left_out"].items()}}, f)
        os.replace(meta_path + ".tmp", meta_path)
    except (OSError, RuntimeError):  # a read-only folder: the index is a cache, used from memory this time
        for leftover in (tmp, meta_path + ".tmp"):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    return index, meta


# Opening a memory-mapped index scans its node offsets (~0.13 s at 10^6 tracks): a process that queries again
# (the library used from a server) keeps the opened index while its file and the catalog are unchanged.
_OPENED: dict = {}


def _file_key(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _cached(catalog, key=None):
    """(index, meta) this process opened for the catalog, if its files and the catalog are unchanged since."""
    index_path, meta_path = _paths(catalog.path)
    if key is None:
        key = (catalog.generation(), _file_key(index_path), _file_key(meta_path))
    got = _OPENED.get(index_path)
    return got[1:] if got is not None and got[0] == key and key[1] is not None else None


def _ann(catalog):
    """(index, meta) of the catalog as it is now: reused, updated, or rebuilt."""
    Index = _index_class()
    index_path, meta_path = _paths(catalog.path)
    gen = catalog.generation()
    key = (gen, _file_key(index_path), _file_key(meta_path))
    cached = _cached(catalog, key)
    if cached is not None:
        return cached
    meta = _read_meta(meta_path)
    if meta is not None and os.path.isfile(index_path):
        try:
            if not _ours(catalog, index_path, meta):
                raise ValueError("another catalog's index, or a damaged one")
            if meta["generation"] == gen:
                index = Index.restore(index_path, view=True)  # memory-mapped: a query reads only the pages it visits
                if _matches(index, meta):
                    index.expansion_search = EXPANSION_SEARCH
                    _OPENED[index_path] = (key, index, meta)
                    return index, meta
            else:
                got = _updated(catalog, index_path, meta, gen)
                if got is not None:
                    got[0].expansion_search = EXPANSION_SEARCH
                    return _saved(*got, index_path, meta_path)
        except (OSError, ValueError, RuntimeError, AttributeError, TypeError):  # missing or damaged: rebuilt
            pass
    return _saved(*_built(catalog, gen), index_path, meta_path)


def prepare(catalog) -> bool:
    """Bring the vector index of a catalog past EXACT_MAX tracks up to date now, so the first `similar`
    after an `index` does not pay for it; True when there is one."""
    if catalog.count() <= EXACT_MAX:
        return False
    _ann(catalog)
    return True


def _check_query(catalog, query: np.ndarray, dim: int) -> None:
    if query.shape != (dim,):
        raise MuzipError(f"{catalog.path}: the catalog holds {dim}-d embeddings, the query is "
                         f"{query.size}-d (made with another embedder? re-index)")
    if not np.all(np.isfinite(query)):
        raise MuzipError("the query's embedding is not finite (NaN or infinity)")


def nearest(catalog, query: np.ndarray, n: int = 10, exclude_id=None) -> list[dict]:
    """[{"id", "path", "score"}], best first; score = cosine similarity (embeddings are unit-norm). Tracks
    left out (not finite) are named in catalog.left_out."""
    want = n + (1 if exclude_id is not None else 0)
    cached = _cached(catalog)
    if (cached is None or cached[1]["count"] <= EXACT_MAX) and catalog.count() <= EXACT_MAX:
        ids, emb, paths = catalog.embeddings()
        if not len(ids):
            return []
        _check_query(catalog, query, emb.shape[1])
        by_id = dict(zip(ids.tolist(), paths))
        scores = emb @ query
        order = np.argsort(-scores, kind="stable")[:want]
        hits = [(int(ids[i]), float(scores[i])) for i in order]
    else:
        index, meta = _ann(catalog)
        catalog.left_out = list(meta["left_out"].values())
        if not len(index):
            return []
        _check_query(catalog, query, index.ndim)
        matches = index.search(query.astype(np.float32), min(want, len(index)))
        if not np.all(np.isfinite(matches.distances)):  # damage its hash could not see (an older muzip's file)
            index, meta = _saved(*_built(catalog, catalog.generation()), *_paths(catalog.path))
            matches = index.search(query.astype(np.float32), min(want, len(index)))
        hits = [(int(k), 1.0 - float(d)) for k, d in zip(matches.keys, matches.distances)]
        by_id = catalog.paths_of([k for k, _ in hits])
        hits = [(k, s) for k, s in hits if k in by_id]  # a row deleted since the index was read
    return [{"id": i, "path": by_id[i], "score": round(s, 6)} for i, s in hits if i != exclude_id][:n]
