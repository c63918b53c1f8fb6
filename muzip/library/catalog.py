"""The library catalog: one SQLite file (WAL mode), one row per track with its embedding.

Writes happen in one transaction per batch of records, so a `kill -9` loses at most the batch being
written and a re-run resumes (unchanged files -- same size and mtime, same embedding model, a sound
stored embedding -- are skipped). The ANN index (muzip.library.search) lives beside it as
LIBRARY.usearch and is rebuilt from the catalog when it is missing or stale.

Only a writer (`Catalog(path)`, what `muzip index` opens) creates a catalog, migrates it or sets its
journal mode. A reader (`Catalog(path, create=False)`: similar, cluster, map, classify) opens the file
read-only (an SQLite ``mode=ro`` URI) and never changes it. Either refuses, with one CatalogError naming
the file, anything that is not a muzip catalog: not SQLite at all, another tool's SQLite file (its
tables are never touched), a newer schema. A row whose embedding is damaged (not float32 bytes of the
stored dimension) makes the catalog unreadable until `muzip index` re-embeds it; a row whose
embedding is not finite (NaN, infinity) or not a unit vector is left out by `embeddings()` and named in
`left_out`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from urllib.parse import quote

import numpy as np

from ..errors import MuzipError

SCHEMA_VERSION = 1
MAX_DIM = 65536  # a stored dimension above this is damage, not an embedding
SQLITE_MAGIC = b"SQLite format 3\x00"
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
CREATE TABLE IF NOT EXISTS descriptors (track INTEGER PRIMARY KEY, value BLOB NOT NULL, fingerprint BLOB);
"""
# descriptors: the raw descriptor of each track whose embedder projects descriptors by the collection's statistics
# (embed-v3: muzip.library.projection), and its fingerprint (muzip.library.fingerprint: `muzip dupes`); its rows
# go with their track's. A catalog without the table (made by an
# earlier muzip) gains it when opened for writing; readers never need it.
_COLUMNS = {"meta": {"key", "value"},
            "tracks": {"id", "path", "size", "mtime", "duration", "rate", "channels", "tags", "model", "embedder",
                       "source", "dim", "embedding"}}


class CatalogError(MuzipError):
    """The catalog file is not a muzip catalog, is damaged, or is from an incompatible version."""


def _uri(path: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(os.path.abspath(path))}?{query}"


def _reason(exc: sqlite3.Error) -> str:
    """A user's words for SQLite's error."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "not a database" in low:
        return "not a muzip catalog (not an SQLite file)"
    if "readonly" in low or "read-only" in low:
        return "cannot write the catalog (read-only)"
    if "locked" in low or "busy" in low:
        return "the catalog is busy (another muzip is writing it?)"
    if "unable to open" in low:
        return "cannot open the catalog (unable to open database file)"
    return f"catalog damaged ({text})"


def embedding_problem(dim, blob, expected: int | None = None) -> str | None:
    """What is wrong with a stored (dim, embedding) pair, or None when it is float32 bytes of that dimension."""
    if not isinstance(dim, int) or isinstance(dim, bool) or not 0 < dim <= MAX_DIM:
        return f"stored dimension {dim!r}"
    if isinstance(blob, str):
        return "embedding is text, not float32 bytes"
    if not isinstance(blob, bytes):
        return f"embedding is {type(blob).__name__}, not float32 bytes"
    if len(blob) % 4:
        return f"embedding has {len(blob)} bytes, not a whole number of float32 values"
    if len(blob) // 4 != dim:
        return f"embedding has {len(blob) // 4} values, expected {dim}"
    if expected is not None and dim != expected:
        return f"embedding has {dim} values, expected {expected}"
    return None


def vector_problem(v: np.ndarray) -> str | None:
    """Why a decoded embedding cannot be used (not finite, not a unit vector), or None. Embedders give unit
    vectors, so cosine similarity is a dot product; anything else in a catalog is damage."""
    if not np.all(np.isfinite(v)):
        return "embedding is not finite (NaN or infinity)"
    norm = float(np.linalg.norm(v.astype(np.float64)))
    if not abs(norm - 1.0) <= 1e-3:
        return f"embedding is not a unit vector (norm {norm:.3g})"
    return None


def _path_text(path) -> str:
    return path if isinstance(path, str) else repr(path)


class Catalog:
    """create=True (`muzip index`): open or create the catalog for writing. create=False: read-only."""

    def __init__(self, path: str, create: bool = True):
        self.path, self.writable, self.db = path, create, None
        self.left_out: list[str] = []  # "track T: why" of rows embeddings() left out
        try:
            self._open(create)
        except sqlite3.Error as exc:
            self.close()
            raise CatalogError(f"{path}: {_reason(exc)}") from None
        except BaseException:
            self.close()
            raise

    def _fail(self, reason: str):
        raise CatalogError(f"{self.path}: {reason}")

    def _sniff(self) -> bool:
        """True if the file exists with content; refuses what is not an SQLite file before SQLite opens it."""
        path = self.path
        if os.path.isdir(path):
            self._fail("is a directory, not a muzip catalog")
        if not os.path.exists(path):
            if not self.writable:
                self._fail(f"no such catalog (make one with `muzip index PATH --db {path}`)")
            return False
        try:
            with open(path, "rb") as f:
                head = f.read(len(SQLITE_MAGIC))
        except OSError as exc:
            self._fail(f"cannot read ({exc.strerror or exc})")
        if not head:
            if not self.writable:
                self._fail("not a muzip catalog (empty file)")
            return False
        if head != SQLITE_MAGIC:
            self._fail("not a muzip catalog (not an SQLite file)")
        return True

    def _connect_ro(self) -> sqlite3.Connection:
        db = sqlite3.connect(_uri(self.path, mode="ro"), uri=True, timeout=30)
        try:
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            # A WAL-mode file in a folder this user cannot write: SQLite cannot make the -shm file. With no
            # -wal file there is nothing uncommitted and no writer (it would have made one): read it as is.
            db.close()
            if not any(w in str(exc) for w in ("unable to open", "readonly")) or os.path.exists(self.path + "-wal"):
                raise
            db = sqlite3.connect(_uri(self.path, mode="ro", immutable=1), uri=True, timeout=30)
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db

    def _check(self, db) -> bool:
        """True if `db` holds a muzip catalog of a schema this muzip reads; False if it holds no tables at all."""
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return False
        for table, cols in _COLUMNS.items():
            if table not in tables:
                self._fail("not a muzip catalog")
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if not cols <= have:
                self._fail(f"not a muzip catalog (table {table} lacks {', '.join(sorted(cols - have))})")
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is not None and str(row[0]) != str(SCHEMA_VERSION):
            self._fail(f"catalog schema {str(row[0])[:20]!r}, this muzip reads {SCHEMA_VERSION}")
        return True

    def _open(self, create: bool):
        exists = self._sniff()
        if not create:
            self.db = self._connect_ro()
            if not self._check(self.db):
                self._fail("not a muzip catalog")
            return
        if exists:  # look before writing anything: another tool's file is refused untouched
            probe = self._connect_ro()
            try:
                self._check(probe)
            finally:
                probe.close()
        self.db = sqlite3.connect(self.path, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        if self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self.db.execute("BEGIN IMMEDIATE")  # a read-only file or folder is found now, not after the embedding
        self.db.execute("ROLLBACK")

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _rows(self, sql: str, args=()) -> list:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise CatalogError(f"{self.path}: {_reason(exc)}") from None

    def _write(self, fn):
        try:
            with self.db:
                fn()
        except sqlite3.Error as exc:
            raise CatalogError(f"{self.path}: {_reason(exc)}") from None

    def unchanged(self, path: str, size: int, mtime: float, embedder: str) -> bool:
        """True if `path` is cataloged with this size, mtime and embedder, and a sound embedding."""
        rows = self._rows("SELECT size, mtime, embedder, dim, embedding FROM tracks WHERE path=?", (path,))
        if not rows:
            return False
        r_size, r_mtime, r_embedder, dim, blob = rows[0]
        if r_size != size or not isinstance(r_mtime, (int, float)) or abs(r_mtime - mtime) >= 1e-6 \
                or r_embedder != embedder or embedding_problem(dim, blob) is not None:
            return False
        return vector_problem(np.frombuffer(blob, "<f4")) is None

    def stored(self, path: str, size: int, mtime: float, embedder: str):
        """The stored embedding (float32) of an unchanged file (see `unchanged`), else None."""
        if not self.unchanged(path, size, mtime, embedder):
            return None
        (blob,) = self._rows("SELECT embedding FROM tracks WHERE path=?", (path,))[0]
        return np.frombuffer(blob, "<f4").astype(np.float32)

    def put_many(self, records: list[dict], embedder: str) -> None:
        """One transaction: all of the batch or none of it."""
        def write():
            self.db.executemany(
                "INSERT INTO tracks (path, size, mtime, duration, rate, channels, tags, model, embedder, source, dim, "
                "embedding) VALUES (:path, :size, :mtime, :duration, :rate, :channels, :tags, :model, :embedder, "
                ":source, :dim, :embedding) ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime=excluded.mtime, "
                "duration=excluded.duration, rate=excluded.rate, channels=excluded.channels, tags=excluded.tags, "
                "model=excluded.model, embedder=excluded.embedder, source=excluded.source, dim=excluded.dim, "
                "embedding=excluded.embedding",
                [{**r, "tags": json.dumps(r.get("tags") or {}, sort_keys=True), "embedder": embedder} for r in records])
            described = [r for r in records if r.get("descriptor") is not None]
            if described:
                ids = dict(self.db.execute(
                    f"SELECT path, id FROM tracks WHERE path IN ({','.join('?' * len(described))})",
                    [r["path"] for r in described]).fetchall())
                self.db.executemany("INSERT OR REPLACE INTO descriptors (track, value, fingerprint) VALUES (?, ?, ?)",
                                    [(ids[r["path"]], r["descriptor"], r.get("fingerprint")) for r in described])
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
        self._write(write)

    def descriptors(self, embedder: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, raw descriptors (N, dim) float64) of the tracks embedded by `embedder` that have a sound
        descriptor of that dimension (the others are re-described by the next `muzip index`)."""
        rows = self._rows("SELECT t.id, d.value FROM tracks t JOIN descriptors d ON d.track = t.id "
                          "WHERE t.embedder = ? ORDER BY t.id", (embedder,))
        ids, vecs = [], []
        for i, blob in rows:
            if isinstance(blob, bytes) and len(blob) == 4 * dim:
                v = np.frombuffer(blob, "<f4")
                if np.all(np.isfinite(v)):
                    ids.append(i)
                    vecs.append(v)
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, dim))
        return np.array(ids, np.int64), np.stack(vecs).astype(np.float64)

    def _described(self) -> bool:
        """False for a catalog of an earlier muzip opened read-only: it has no descriptors table."""
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE type='table' AND name='descriptors'"))

    def fingerprints(self, embedder: str) -> list[tuple[int, str, float | None, bytes]]:
        """(id, path, duration, fingerprint) of the tracks embedded by `embedder` that have one, in id order."""
        if not self._described():
            return []
        rows = self._rows("SELECT t.id, t.path, t.duration, d.fingerprint FROM tracks t JOIN descriptors d "
                          "ON d.track = t.id WHERE t.embedder = ? AND d.fingerprint IS NOT NULL ORDER BY t.id",
                          (embedder,))
        return [(i, p, dur if isinstance(dur, (int, float)) else None, fp) for i, p, dur, fp in rows
                if isinstance(p, str) and isinstance(fp, bytes)]

    def set_collection(self, embedder: str, ids: np.ndarray, vectors: np.ndarray, stats: np.ndarray) -> None:
        """Store the tracks' embeddings as projected under the collection's statistics, and those statistics."""
        def write():
            self.db.executemany("UPDATE tracks SET embedding=?, dim=? WHERE id=?",
                                [(np.asarray(v, "<f4").tobytes(), int(len(v)), int(i)) for i, v in zip(ids, vectors)])
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('collection', ?)",
                            (json.dumps({"embedder": embedder, "stats": np.asarray(stats).tolist()}),))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
        self._write(write)

    def collection_stats(self, embedder: str, dim: int) -> np.ndarray | None:
        """The statistics (2, dim) the catalog's embeddings were projected with, if stored for this embedder."""
        rows = self._rows("SELECT value FROM meta WHERE key='collection'")
        try:
            got = json.loads(rows[0][0]) if rows else None
            stats = np.asarray(got["stats"], np.float64) if got and got.get("embedder") == embedder else None
        except (TypeError, ValueError, KeyError):
            return None
        if stats is None or stats.shape != (2, dim) or not np.all(np.isfinite(stats)) or np.any(stats[1] <= 0):
            return None
        return stats

    def prune(self, keep=lambda path: os.path.exists(path)) -> list[str]:
        gone = [p for (p,) in self._rows("SELECT path FROM tracks") if not isinstance(p, str) or not keep(p)]
        if gone:
            def write():
                self.db.executemany("DELETE FROM tracks WHERE path=?", [(p,) for p in gone])
                self.db.execute("DELETE FROM descriptors WHERE track NOT IN (SELECT id FROM tracks)")
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(self.generation() + 1),))
            self._write(write)
        return [_path_text(p) for p in gone]

    def embedders(self) -> list[str]:
        """The embedder ids of the catalog's tracks (one, unless an index run was interrupted mid-change)."""
        return [e for (e,) in self._rows("SELECT DISTINCT embedder FROM tracks ORDER BY embedder")]

    def stored_descriptor(self, path: str, size: int, mtime: float, embedder: str, dim: int):
        """The stored raw descriptor (float64) of an unchanged file (see `unchanged`), else None."""
        if not self.unchanged(path, size, mtime, embedder):
            return None
        if not self._described():
            return None
        rows = self._rows("SELECT d.value FROM tracks t JOIN descriptors d ON d.track = t.id WHERE t.path=?", (path,))
        if not rows or not isinstance(rows[0][0], bytes) or len(rows[0][0]) != 4 * dim:
            return None
        v = np.frombuffer(rows[0][0], "<f4").astype(np.float64)
        return v if np.all(np.isfinite(v)) else None

    def generation(self) -> int:
        """Bumped by every write: the ANN index records the generation it was built from (0 if unreadable)."""
        rows = self._rows("SELECT value FROM meta WHERE key='generation'")
        try:
            return max(0, int(rows[0][0])) if rows else 0
        except (TypeError, ValueError, OverflowError):
            return 0

    def count(self) -> int:
        return self._rows("SELECT COUNT(*) FROM tracks")[0][0]

    def embeddings(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(ids, embeddings (N, D) float32, paths), in id order. A damaged row raises CatalogError naming its
        track; a row whose embedding is not finite or not a unit vector is left out and described in
        self.left_out ("track T: why; left out")."""
        rows = self._rows("SELECT id, path, dim, embedding FROM tracks ORDER BY id")
        self.left_out = []
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), []
        dims = [r[2] for r in rows if embedding_problem(r[2], r[3]) is None]
        expected = max(set(dims), key=dims.count) if dims else None  # the catalog's dimension: most rows'
        ids, vecs, paths = [], [], []
        for i, path, dim, blob in rows:
            if not isinstance(path, str):
                self._fail(f"catalog damaged: track {i} (its path is not text)")
            problem = embedding_problem(dim, blob, expected)
            if problem is not None:
                self._fail(f"catalog damaged: track {path} ({problem}; `muzip index` re-embeds it)")
            v = np.frombuffer(blob, "<f4")
            bad = vector_problem(v)
            if bad is not None:
                self.left_out.append(f"track {path}: {bad}; left out")
                continue
            ids.append(i)
            vecs.append(v)
            paths.append(path)
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, expected or 0), np.float32), []
        return np.array(ids, np.int64), np.stack(vecs).astype(np.float32), paths

    def lookup(self, path: str):
        """(id, embedding) of a cataloged track, None if it is not in the catalog; CatalogError if damaged."""
        rows = self._rows("SELECT id, dim, embedding FROM tracks WHERE path=?", (os.path.abspath(path),))
        if not rows:
            return None
        i, dim, blob = rows[0]
        problem = embedding_problem(dim, blob)
        if problem is None:
            problem = vector_problem(np.frombuffer(blob, "<f4"))
        if problem is not None:
            self._fail(f"catalog damaged: track {os.path.abspath(path)} ({problem}; `muzip index` re-embeds it)")
        return i, np.frombuffer(blob, "<f4").astype(np.float32)

    def tracks(self) -> list[dict]:
        cols = ("path", "size", "duration", "rate", "channels", "tags", "model", "source")
        return [dict(zip(cols, r)) for r in self._rows(f"SELECT {', '.join(cols)} FROM tracks ORDER BY id")]
