"""The library catalog: one SQLite file (WAL mode), one row per track with its embedding.

Writes happen in one transaction per batch of records, so a `kill -9` loses at most the batch being
written and a re-run resumes (unchanged files -- same size and mtime, same embedding model, a sound
stored embedding -- are skipped). Every write records the tracks it wrote or removed (table `changes`), so the
ANN index beside it (LIBRARY.usearch, muzip.library.search) is updated by what changed, and rebuilt from the
catalog only when it is missing, damaged, or most of it changed.

Only a writer (`Catalog(path)`, what `muzip index` opens) creates a catalog, migrates it or sets its
journal mode (WAL while it writes, rollback at rest, so readers leave no -wal/-shm files behind). A
reader (`Catalog(path, create=False)`: similar, cluster, map, classify) opens the file read-only (an
SQLite ``mode=ro`` URI) and never changes it. Either refuses, with one CatalogError naming the file, anything that is not a muzip catalog: not SQLite at all, another tool's SQLite file (its
tables are never touched), a newer schema. A row whose embedding is damaged (not float32 bytes of the
stored dimension) makes the catalog unreadable until `muzip index` re-embeds it; a row whose
embedding is not finite (NaN, infinity) or not a unit vector is left out by `embeddings()` and named in
`left_out`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from urllib.parse import quote

import numpy as np

from ..errors import MuzipError
from .catalog_reads import CatalogReads, embedding_problem, path_text, vector_problem

SCHEMA_VERSION = 1
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
    embedding BLOB NOT NULL,
    codec TEXT,
    kbps REAL
);
CREATE TABLE IF NOT EXISTS descriptors (track INTEGER PRIMARY KEY, value BLOB NOT NULL, fingerprint BLOB);
CREATE TABLE IF NOT EXISTS changes (track INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS tracks_by_duration ON tracks (duration);
"""
# descriptors: the raw descriptor of each track whose embedder projects descriptors by the collection's statistics
# (embed-v3: muzip.library.projection), and its fingerprint (muzip.library.fingerprint: `muzip dupes`); its rows
# go with their track's. A catalog without the table (made by an
# earlier muzip) gains it when opened for writing; readers never need it.
# changes: the generation that last wrote or removed each track, so that what is derived from a large catalog (its
# ANN index, its projection) is updated by what changed instead of rebuilt. Meta 'tracked' is the last generation
# whose writes all recorded their tracks here, 'tracked_since' the generation from which they all did: a write by an
# earlier muzip bumps the generation without recording, and `changed_since` then answers None (rebuild).
# codec, kbps: what a track's stream holds ("flac", "alac", "aac", "muzip-v2.7", ...; audio.probe.LOSSLESS_CODECS)
# and, for audio muzip decoded (a WAV of a .mz), the bitrate it was coded at: library.copies.best_first ranks by
# them. A catalog without them gains them when opened for writing (NULL: judged by the file's extension).
# tracks_by_duration: `similar` reads only the tracks as long as its query to find copies of it (library.copies);
# a catalog gains it when opened for writing, and one without it is read by a scan.
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
    if "disk is full" in low or "disk i/o" in low:
        return f"cannot write the catalog ({text})"
    if "unable to open" in low:
        return "cannot open the catalog (unable to open database file)"
    return f"catalog damaged ({text})"


class Catalog(CatalogReads):
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
        if not tables or tables == {"meta"} and db.execute("SELECT 1 FROM meta").fetchone() is None and \
                {r[1] for r in db.execute("PRAGMA table_info(meta)")} == _COLUMNS["meta"]:
            return False  # nothing, or muzip's empty meta table alone: a catalog's making cut off before session 60
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
        # One transaction: an `index` that fails while making the catalog (a full disk) leaves no half of one
        self.db.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
        have = {r[1] for r in self.db.execute("PRAGMA table_info(tracks)")}
        for column, kind in (("codec", "TEXT"), ("kbps", "REAL")):  # a catalog of an earlier muzip
            if column not in have:
                try:
                    with self.db:
                        self.db.execute(f"ALTER TABLE tracks ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:  # another index run added it first
                    if "duplicate column" not in str(exc):
                        raise
        if self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() is None:
            with self.db:
                self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('catalog_id', ?)", (uuid.uuid4().hex,))
        self.db.execute("BEGIN IMMEDIATE")  # a read-only file or folder is found now, not after the embedding
        self.db.execute("ROLLBACK")

    def close(self):
        if self.db is not None:
            if self.writable:
                # At rest the file is left in rollback mode: a read-only reader of a WAL file makes -wal and
                # -shm files it cannot delete. The next writer sets WAL again.
                try:
                    self.db.execute("PRAGMA journal_mode=DELETE")
                except sqlite3.Error:
                    pass  # another connection has it open: it stays WAL, which is as safe
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

    def _bump(self, ids) -> int:
        """Inside a write: the next generation, recorded for the tracks `ids` wrote or removed."""
        gen = self.generation()
        if str(self._meta("tracked")) != str(gen):  # first tracked write, or after an untracked one
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('tracked_since', ?)", (str(gen),))
        self.db.executemany("INSERT OR REPLACE INTO changes VALUES (?, ?)", [(int(i), gen + 1) for i in ids])
        # which catalog this is (an earlier muzip's gets one at its first write): the ANN index names it
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('catalog_id', ?)", (uuid.uuid4().hex,))
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [("generation", str(gen + 1)), ("tracked", str(gen + 1))])
        return gen + 1

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

    def without_codec(self) -> set[str]:
        """Paths of the tracks an earlier muzip stored without their codec (see sources.stored_codec)."""
        return {r[0] for r in self._rows("SELECT path FROM tracks WHERE codec IS NULL")}

    def set_codecs(self, rows: list[tuple[str, float | None, str]]) -> None:
        """(codec, kbps, path) of tracks whose file is unchanged: their labels, not their vectors."""
        self._write(lambda: self.db.executemany("UPDATE tracks SET codec=?, kbps=? WHERE path=?", rows))

    def put_many(self, records: list[dict], embedder: str) -> None:
        """One transaction: all of the batch or none of it."""
        def write():
            self.db.executemany(
                "INSERT INTO tracks (path, size, mtime, duration, rate, channels, tags, model, embedder, source, dim, "
                "embedding, codec, kbps) VALUES (:path, :size, :mtime, :duration, :rate, :channels, :tags, :model, "
                ":embedder, :source, :dim, :embedding, :codec, :kbps) ON CONFLICT(path) DO UPDATE SET "
                "size=excluded.size, mtime=excluded.mtime, duration=excluded.duration, rate=excluded.rate, "
                "channels=excluded.channels, tags=excluded.tags, model=excluded.model, embedder=excluded.embedder, "
                "source=excluded.source, dim=excluded.dim, embedding=excluded.embedding, codec=excluded.codec, "
                "kbps=excluded.kbps",
                [{"codec": None, "kbps": None, **r, "tags": json.dumps(r.get("tags") or {}, sort_keys=True),
                  "embedder": embedder} for r in records])
            ids = dict(self.db.execute(f"SELECT path, id FROM tracks WHERE path IN ({','.join('?' * len(records))})",
                                       [r["path"] for r in records]).fetchall()) if records else {}
            described = [r for r in records if r.get("descriptor") is not None]
            self.db.executemany("INSERT OR REPLACE INTO descriptors (track, value, fingerprint) VALUES (?, ?, ?)",
                                [(ids[r["path"]], r["descriptor"], r.get("fingerprint")) for r in described])
            self._bump(ids.values())
        self._write(write)

    def adopt(self, embedder: str, ids: np.ndarray, vectors: np.ndarray, stats: np.ndarray) -> None:
        """In one transaction: the tracks `ids` become `embedder`'s, with these vectors projected from their
        stored descriptors under the statistics `stats` (muzip.library.collection.adopt_described), so no
        reader ever sees a track labelled with one projection and holding another's vector."""
        def write():
            self.db.executemany("UPDATE tracks SET embedder=?, embedding=?, dim=? WHERE id=?",
                                [(embedder, np.asarray(v, "<f4").tobytes(), int(len(v)), int(i))
                                 for i, v in zip(ids, vectors)])
            gen = self._bump(ids)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('collection', ?)", (json.dumps(
                {"embedder": embedder, "stats": np.asarray(stats).tolist(), "tracks": int(len(ids)),
                 "generation": gen}),))
        self._write(write)

    def set_collection(self, embedder: str, ids: np.ndarray, vectors: np.ndarray, stats: np.ndarray,
                       tracks: int) -> None:
        """Store the tracks' embeddings as projected under the collection's statistics, and those statistics,
        computed from `tracks` tracks (muzip.library.collection: they stay frozen in a large catalog)."""
        def write():
            self.db.executemany("UPDATE tracks SET embedding=?, dim=? WHERE id=?",
                                [(np.asarray(v, "<f4").tobytes(), int(len(v)), int(i)) for i, v in zip(ids, vectors)])
            gen = self._bump(ids)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('collection', ?)", (json.dumps(
                {"embedder": embedder, "stats": np.asarray(stats).tolist(), "tracks": int(tracks), "generation": gen}),))
        self._write(write)

    def collection(self, embedder: str, dim: int) -> tuple[np.ndarray, int, int] | None:
        """(statistics (2, dim), tracks they were computed from, generation they were last applied at) of the
        catalog's projection, if stored for this embedder (tracks and generation 0 from an earlier muzip)."""
        rows = self._rows("SELECT value FROM meta WHERE key='collection'")
        try:
            got = json.loads(rows[0][0]) if rows else None
            if not got or got.get("embedder") != embedder:
                return None
            stats = np.asarray(got["stats"], np.float64)
            tracks, gen = int(got.get("tracks", 0)), int(got.get("generation", 0))
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError):
            return None
        if stats.shape != (2, dim) or not np.all(np.isfinite(stats)) or np.any(stats[1] <= 0):
            return None
        return stats, tracks, gen

    def collection_stats(self, embedder: str, dim: int) -> np.ndarray | None:
        """The statistics (2, dim) the catalog's embeddings were projected with, if stored for this embedder."""
        got = self.collection(embedder, dim)
        return None if got is None else got[0]

    def prune(self, keep=lambda path: os.path.exists(path)) -> list[str]:
        gone = [(i, p) for i, p in self._rows("SELECT id, path FROM tracks") if not isinstance(p, str) or not keep(p)]
        self._delete([i for i, _ in gone])
        return [path_text(p) for _, p in gone]

    def drop_changed(self, path: str, size: int, mtime: float) -> bool:
        """Drop `path`'s entry where it describes the file at another size or time (a file changed since, that can
        no longer be read: a similar list or a mix would offer it): True if one was dropped."""
        rows = self._rows("SELECT id, size, mtime FROM tracks WHERE path=?", (path,))
        if not rows or (rows[0][1] == size and isinstance(rows[0][2], (int, float)) and abs(rows[0][2] - mtime) < 1e-6):
            return False
        self._delete([rows[0][0]])
        return True

    def _delete(self, ids: list) -> None:
        if ids:
            def write():
                self.db.executemany("DELETE FROM tracks WHERE id=?", [(i,) for i in ids])
                self.db.execute("DELETE FROM descriptors WHERE track NOT IN (SELECT id FROM tracks)")
                self._bump(ids)
            self._write(write)

    def generation(self) -> int:
        """Bumped by every write: the ANN index records the generation it was built from (0 if unreadable)."""
        rows = self._rows("SELECT value FROM meta WHERE key='generation'")
        try:
            return max(0, int(rows[0][0])) if rows else 0
        except (TypeError, ValueError, OverflowError):
            return 0
