"""The library catalog: one SQLite file (WAL mode), one row per track with its embedding.

Writes happen in one transaction per batch of records, so a `kill -9` loses at most the batch being
written and a re-run resumes (unchanged files -- same size and mtime, same embedding model -- are
skipped). The ANN index (muzip.library.search) lives beside it as LIBRARY.usearch and is rebuilt from
the catalog when it is missing or stale.
"""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np

from ..errors import MuzipError

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracks (
    id INTEGER PRIMARY KEY,
    path TEXT UNIQUE NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    duration REAL,
    rate INTEGER,
    channels INTEGER,
    tags TEXT NOT NULL DEFAULT '{}',
    model TEXT NOT NULL,
    embedder TEXT NOT NULL,
    source TEXT NOT NULL,
    dim INTEGER NOT NULL,
    embedding BLOB NOT NULL
);
"""


class CatalogError(MuzipError):
    """The catalog file is not a muzip catalog, or is from an incompatible version."""


class Catalog:
    def __init__(self, path: str, create: bool = True):
        self.path = path
        if not create and not os.path.isfile(path):
            raise CatalogError(f"{path}: no such catalog (make one with `muzip index PATH --db {path}`)")
        try:
            self.db = sqlite3.connect(path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                with self.db:
                    self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise CatalogError(f"{path}: catalog schema {row[0]}, this muzip reads {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise CatalogError(f"{path}: not a muzip catalog ({exc})") from None

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def unchanged(self, path: str, size: int, mtime: float, embedder: str) -> bool:
        row = self.db.execute("SELECT size, mtime, embedder FROM tracks WHERE path=?", (path,)).fetchone()
        return row is not None and row[0] == size and abs(row[1] - mtime) < 1e-6 and row[2] == embedder

    def put_many(self, records: list[dict], embedder: str) -> None:
        """One transaction: all of the batch or none of it."""
        with self.db:
            self.db.executemany(
                "INSERT INTO tracks (path, size, mtime, duration, rate, channels, tags, model, embedder, source, dim, "
                "embedding) VALUES (:path, :size, :mtime, :duration, :rate, :channels, :tags, :model, :embedder, "
                ":source, :dim, :embedding) ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime=excluded.mtime, "
                "duration=excluded.duration, rate=excluded.rate, channels=excluded.channels, tags=excluded.tags, "
                "model=excluded.model, embedder=excluded.embedder, source=excluded.source, dim=excluded.dim, "
                "embedding=excluded.embedding",
                [{**r, "tags": json.dumps(r.get("tags") or {}, sort_keys=True), "embedder": embedder} for r in records])
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))

    def prune(self, keep=lambda path: os.path.exists(path)) -> list[str]:
        gone = [p for (p,) in self.db.execute("SELECT path FROM tracks") if not keep(p)]
        with self.db:
            self.db.executemany("DELETE FROM tracks WHERE path=?", [(p,) for p in gone])
            if gone:
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
        return gone

    def generation(self) -> int:
        """Bumped by every write: the ANN index records the generation it was built from."""
        row = self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]

    def embeddings(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(ids, embeddings (N, D) float32, paths), in id order."""
        rows = self.db.execute("SELECT id, path, dim, embedding FROM tracks ORDER BY id").fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), []
        dims = {r[2] for r in rows}
        if len(dims) != 1:
            raise CatalogError(f"{self.path}: embeddings of different sizes ({sorted(dims)}); re-index")
        emb = np.stack([np.frombuffer(r[3], "<f4") for r in rows]).astype(np.float32)
        return np.array([r[0] for r in rows], np.int64), emb, [r[1] for r in rows]

    def lookup(self, path: str):
        row = self.db.execute("SELECT id, embedding FROM tracks WHERE path=?", (os.path.abspath(path),)).fetchone()
        return None if row is None else (row[0], np.frombuffer(row[1], "<f4").astype(np.float32))

    def tracks(self) -> list[dict]:
        cols = ("path", "size", "duration", "rate", "channels", "tags", "model", "source")
        return [dict(zip(cols, r)) for r in self.db.execute(f"SELECT {', '.join(cols)} FROM tracks ORDER BY id")]
