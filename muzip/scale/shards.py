"""Catalog records as Parquet shards: what `muzip index --ray`'s workers write and the catalog then merges.

A shard is one batch of records (`muzip.library.sources.record`), written by the worker that made them
into LIBRARY.shards/ beside the catalog, atomically (a temporary name, then a rename), so a killed worker
leaves either a whole shard or none. The driver merges every shard it finds into the catalog (an upsert by
path: a record merged twice is one row) and removes it; shards a killed run left are merged by the next.
Columns are typed (text, numbers, binary float32 vectors): no pickle.
"""

from __future__ import annotations

import glob
import json
import os
import uuid

SUFFIX = ".parquet"


def folder_for(db_path: str) -> str:
    # Absolute: Ray's workers write here, and their working folder is the one Ray was started in.
    return os.path.abspath(db_path) + ".shards"


def _schema():
    import pyarrow as pa
    return pa.schema([("path", pa.string()), ("size", pa.int64()), ("mtime", pa.float64()),
                      ("duration", pa.float64()), ("rate", pa.int64()), ("channels", pa.int64()),
                      ("tags", pa.string()), ("model", pa.string()), ("source", pa.string()), ("dim", pa.int64()),
                      ("embedding", pa.binary()), ("descriptor", pa.binary()), ("fingerprint", pa.binary()),
                      ("codec", pa.string()), ("kbps", pa.float64())])


def write_shard(records: list[dict], folder: str, embedder: str | None = None) -> str:
    """Write `records` as one new shard in `folder`, naming the embedder that made them; its path. Synced before
    its rename: a power cut leaves a whole shard or none, never an empty one under a shard's name."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    os.makedirs(folder, exist_ok=True)
    schema = _schema()
    rows = [{**{name: r.get(name) for name in schema.names}, "tags": json.dumps(r.get("tags") or {}, sort_keys=True)}
            for r in records]
    table = pa.Table.from_pylist(rows, schema=schema.with_metadata({b"embedder": (embedder or "").encode()}))
    name = os.path.join(folder, f"shard-{uuid.uuid4().hex}{SUFFIX}")
    tmp = os.path.join(folder, "." + os.path.basename(name) + ".part")
    pq.write_table(table, tmp)
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, name)
    return name


def shard_embedder(path: str) -> str | None:
    """The embedder a shard's records were made by (None: a shard of a muzip before session 62, or unreadable)."""
    import pyarrow.parquet as pq
    meta = pq.read_schema(path).metadata or {}
    return meta.get(b"embedder", b"").decode() or None


def shards(folder: str) -> list[str]:
    """The complete shards in `folder` (temporary files of a killed writer are not shards)."""
    return sorted(glob.glob(os.path.join(glob.escape(folder), "shard-*" + SUFFIX)))


def read_shard(path: str) -> list[dict]:
    """The records of one shard, as `muzip.library.sources.record` made them."""
    import pyarrow.parquet as pq
    out = []
    for row in pq.read_table(path, schema=_schema()).to_pylist():
        row["tags"] = json.loads(row["tags"] or "{}")
        out.append(row)
    return out


PARTIAL_AGE_S = 600  # a shard is written in seconds: an older temporary file's writer was killed


def clear_partials(folder: str) -> None:
    """Temporary files of writers that were killed (never shards); not those of a run still writing beside."""
    import time
    for part in glob.glob(os.path.join(glob.escape(folder), ".shard-*" + SUFFIX + ".part")):
        try:
            if time.time() - os.path.getmtime(part) > PARTIAL_AGE_S:
                os.unlink(part)
        except OSError:
            pass
