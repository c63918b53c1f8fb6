"""The catalog's queries (muzip.library.catalog.Catalog reads through these): whole-catalog reads for the
commands that need every track (cluster, map, dupes, the projection), and reads by id for what a large
catalog's queries touch (a `similar` through the ANN index reads only its hits' rows)."""

from __future__ import annotations

import os

import numpy as np

MAX_DIM = 65536  # a stored dimension above this is damage, not an embedding


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


def _plain(dim, blob) -> bool:
    """embedding_problem(dim, blob) is None, for the values SQLite returns, at a tenth of its cost (a catalog
    read checks every row)."""
    return type(dim) is int and type(blob) is bytes and 0 < dim <= MAX_DIM and len(blob) == 4 * dim


# (id, path, duration, fingerprint) of an embedder's tracks that have a fingerprint: `fingerprints` and
# `fingerprints_within` add their conditions.
_PRINTS_SQL = ("SELECT t.id, t.path, t.duration, d.fingerprint FROM tracks t JOIN descriptors d "
               "ON d.track = t.id WHERE t.embedder = ? AND d.fingerprint IS NOT NULL")


def path_text(path) -> str:
    return path if isinstance(path, str) else repr(path)


class CatalogReads:
    """Read queries of a Catalog (self.db, self._rows, self._fail, self.unchanged come from it)."""

    def _meta(self, key: str):
        rows = self._rows("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def _by_ids(self, sql: str, ids, args=()) -> list:
        """`sql` ending in "IN" for the given ids (after `args`), in chunks SQLite's variable limit allows."""
        ids, rows = [int(i) for i in ids], []
        for k in range(0, len(ids), 10000):
            part = ids[k:k + 10000]
            rows += self._rows(f"{sql} ({','.join('?' * len(part))})", (*args, *part))
        return rows

    def changed_since(self, generation: int) -> np.ndarray | None:
        """The ids of the tracks written or removed after `generation`, in id order; None when the catalog
        cannot say (an earlier muzip wrote to it since, or `generation` predates its record of changes)."""
        try:
            since, tracked = int(self._meta("tracked_since")), int(self._meta("tracked"))
        except (TypeError, ValueError):
            return None
        if tracked != self.generation() or generation < since or generation > tracked:
            return None
        rows = self._rows("SELECT track FROM changes WHERE generation > ? ORDER BY track", (int(generation),))
        return np.array([r[0] for r in rows], np.int64)

    def identity(self) -> str | None:
        """A random id given to the catalog when it was made (or first written by muzip 1.2 after session 62):
        a catalog made anew in the same place, with as many tracks, is another catalog."""
        return self._meta("catalog_id")

    def count(self) -> int:
        return self._rows("SELECT COUNT(*) FROM tracks")[0][0]

    def embedders(self) -> list[str]:
        """The embedder ids of the catalog's tracks (one, unless an index run was interrupted mid-change)."""
        return [e for (e,) in self._rows("SELECT DISTINCT embedder FROM tracks ORDER BY embedder")]

    def paths_of_other_embedders(self, embedder: str) -> dict[str, list[str]]:
        """{embedder id: paths} of the tracks embedded by an embedder other than `embedder`."""
        out: dict[str, list[str]] = {}
        for path, e in self._rows("SELECT path, embedder FROM tracks WHERE embedder != ? ORDER BY id", (embedder,)):
            out.setdefault(e, []).append(path)
        return out

    def embeddings(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(ids, embeddings (N, D) float32, paths), in id order. A damaged row raises CatalogError naming its
        track; a row whose embedding is not finite or not a unit vector is left out and described in
        self.left_out ("track T: why; left out")."""
        rows = self._rows("SELECT id, path, dim, embedding FROM tracks ORDER BY id")
        dims = [r[2] for r in rows if _plain(r[2], r[3])]
        expected = max(set(dims), key=dims.count) if dims else None  # the catalog's dimension: most rows'
        ids, vecs, paths, self.left_out_by_id = self._sound(rows, expected)
        self.left_out = list(self.left_out_by_id.values())
        return ids, vecs, paths

    def vectors_of(self, ids, dim: int) -> tuple[np.ndarray, np.ndarray, list[str], dict[int, str]]:
        """(ids, embeddings, paths, {id: why left out}) of those tracks of `ids` that exist, as `embeddings`
        reads them (a damaged row raises CatalogError), for a catalog of `dim`-d embeddings."""
        return self._sound(sorted(self._by_ids("SELECT id, path, dim, embedding FROM tracks WHERE id IN", ids)), dim)

    def _sound(self, rows, expected):
        for i, path, dim, blob in rows:  # damage in any row stops the read, naming its track
            if dim == expected and type(path) is str and _plain(dim, blob):
                continue
            if not isinstance(path, str):
                self._fail(f"catalog damaged: track {i} (its path is not text)")
            problem = embedding_problem(dim, blob, expected)
            if problem is not None:
                self._fail(f"catalog damaged: track {path} ({problem}; `muzip index` re-embeds it)")
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, expected or 0), np.float32), [], {}
        # One array for all rows: checking them one by one took 0.26 s of a 10,000-track read (session 53).
        mat = np.frombuffer(b"".join(r[3] for r in rows), "<f4").reshape(len(rows), expected)
        norms = np.sqrt(np.einsum("ij,ij->i", mat, mat, dtype=np.float64))
        sound = np.isfinite(mat).all(axis=1) & (np.abs(norms - 1.0) <= 1e-3)
        problems = {k: vector_problem(mat[k]) for k in np.nonzero(~sound)[0]}
        sound[[k for k, why in problems.items() if why is None]] = True  # a norm a rounding from 1 +- 1e-3
        left = {rows[k][0]: f"track {rows[k][1]}: {why}; left out" for k, why in problems.items() if why}
        keep = np.nonzero(sound)[0]
        return (np.array([rows[k][0] for k in keep], np.int64), mat[keep].astype(np.float32),
                [rows[k][1] for k in keep], left)

    def paths_of(self, ids) -> dict[int, str]:
        return {i: path_text(p) for i, p in self._by_ids("SELECT id, path FROM tracks WHERE id IN", ids)}

    def paths_under(self, folders) -> list[str]:
        """The stored paths inside these folders (absolute, as `index` stores them)."""
        prefixes = tuple(os.path.join(f, "") for f in folders)
        return [p for (p,) in self._rows("SELECT path FROM tracks") if isinstance(p, str) and p.startswith(prefixes)]

    def lookup(self, path: str):
        """(id, embedding) of the track stored as `path` (an absolute path, or an object's URI), None if it is
        not in the catalog; CatalogError if damaged."""
        rows = self._rows("SELECT id, dim, embedding FROM tracks WHERE path=?", (path,))
        if not rows:
            return None
        i, dim, blob = rows[0]
        problem = embedding_problem(dim, blob)
        if problem is None:
            problem = vector_problem(np.frombuffer(blob, "<f4"))
        if problem is not None:
            self._fail(f"catalog damaged: track {path} ({problem}; `muzip index` re-embeds it)")
        return i, np.frombuffer(blob, "<f4").astype(np.float32)

    def embedder_of(self, track_id: int) -> str | None:
        rows = self._rows("SELECT embedder FROM tracks WHERE id=?", (int(track_id),))
        return rows[0][0] if rows and isinstance(rows[0][0], str) else None

    def tracks(self, ids=None) -> list[dict]:
        """The tracks' stored facts, in id order (of those in `ids`, if given)."""
        cols = ("path", "size", "duration", "rate", "channels", "tags", "model", "source")
        sql = f"SELECT id, {', '.join(cols)} FROM tracks"
        rows = self._rows(sql + " ORDER BY id") if ids is None else sorted(self._by_ids(sql + " WHERE id IN", ids))
        return [dict(zip(cols, r[1:])) for r in rows]

    def facts_of(self, ids) -> dict[int, dict]:
        """{id: the track's stored facts (as `tracks`, and its codec and kbps where stored)} of those of `ids`
        that exist."""
        cols = ("rate", "size", "duration", "path", "channels") + (("codec", "kbps") if self._coded() else ())
        rows = self._by_ids(f"SELECT id, {', '.join(cols)} FROM tracks WHERE id IN", ids)
        return {int(r[0]): dict(zip(cols, r[1:])) for r in rows}

    def _coded(self) -> bool:
        """False for a catalog of an earlier muzip opened read-only: its tracks have no codec column."""
        return any(r[1] == "codec" for r in self._rows("PRAGMA table_info(tracks)"))

    def descriptors(self, embedder: str, dim: int, ids=None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, raw descriptors (N, dim) float64) of the tracks embedded by `embedder` (of those in `ids`, if
        given) that have a sound descriptor of that dimension (the others are re-described by the next index)."""
        if not self._described():  # a catalog of an earlier muzip, opened read-only
            return np.zeros(0, np.int64), np.zeros((0, dim))
        sql = "SELECT t.id, d.value FROM tracks t JOIN descriptors d ON d.track = t.id WHERE t.embedder = ?"
        if ids is None:
            rows = self._rows(sql + " ORDER BY t.id", (embedder,))
        else:
            rows = sorted(self._by_ids(sql + " AND t.id IN", ids, (embedder,)))
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

    def fingerprints(self, embedder: str, ids=None) -> list[tuple[int, str, float | None, bytes]]:
        """(id, path, duration, fingerprint) of the tracks embedded by `embedder` that have one (of those in
        `ids`, if given), in id order."""
        if not self._described():
            return []
        sql = _PRINTS_SQL
        rows = self._rows(sql + " ORDER BY t.id", (embedder,)) if ids is None \
            else sorted(self._by_ids(sql + " AND t.id IN", ids, (embedder,)))
        return self._prints(rows)

    def fingerprints_within(self, embedder: str, windows) -> list:
        """As `fingerprints`, of the tracks whose duration lies in one of `windows` [(low, high) s] or is unknown
        (all of them where `windows` is None); the catalog's duration index makes each window a range read."""
        if not self._described():
            return []
        sql = _PRINTS_SQL
        if windows is None:
            return self._prints(self._rows(sql + " ORDER BY t.id", (embedder,)))
        merged = []
        for lo, hi in sorted(windows):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        rows = self._rows(sql + " AND t.duration IS NULL", (embedder,))
        for k in range(0, len(merged), 400):  # SQLite's variable limit
            part = merged[k:k + 400]
            rows += self._rows(sql + " AND (" + " OR ".join(["t.duration BETWEEN ? AND ?"] * len(part)) + ")",
                               (embedder, *[x for w in part for x in w]))
        return self._prints(sorted(rows))

    def count_lasting(self, duration: float, gap: float) -> int:
        """How many tracks last within `gap` s of `duration` (the duration index alone answers)."""
        return int(self._rows("SELECT COUNT(*) FROM tracks WHERE duration BETWEEN ? AND ?",
                              (duration - gap, duration + gap))[0][0])

    @staticmethod
    def _prints(rows) -> list[tuple[int, str, float | None, bytes]]:
        return [(i, p, dur if isinstance(dur, (int, float)) else None, fp) for i, p, dur, fp in rows
                if isinstance(p, str) and isinstance(fp, bytes)]

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
