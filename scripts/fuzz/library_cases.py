"""The input kinds of scripts/fuzz/library_fuzz.py: builders that write one crafted or mutated catalog or
classifier file from the run's seeds (library_fuzz.Seeds: catalog and classifier bytes, their members, paths,
embeddings), and the helpers they share (zip, .npy and SQLite writers, the unpickling canary, deflate bombs).

* catalog kinds (catalog-*): `build(rng, seeds, db)` writes `db` -- random bytes, truncated and bit-flipped
  catalogs, other tools' SQLite schemas, rows with bad blobs, dimensions, NaN/infinite/huge values or odd
  types, wrong or missing meta, a table of the right columns without constraints holding junk, an empty
  file, a folder, a missing file;
* classifier kinds (clf-*): `build(rng, seeds, clf, case_dir)` writes `clf` -- random bytes, truncated and
  bit-flipped classifiers, wrong, missing and mistyped members, pickled object arrays (a canary that
  creates a file if ever unpickled), deflate bombs (large declared sizes, and a zip entry that lies about
  its size), renamed .npy files.

Each returns a short note for the report. CATALOG_KINDS and CLASSIFIER_KINDS map kind names to builders.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import zipfile

import numpy as np

DIM = 128  # the seed embeddings' dimension


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _write(path: str, data: bytes):
    with open(path, "wb") as f:
        f.write(data)


def _sql(db: str, *statements):
    con = sqlite3.connect(db)
    try:
        with con:
            for statement, args in statements:
                con.execute(statement, args)
    finally:
        con.close()


def _npy(a, allow_pickle: bool = False) -> bytes:
    f = io.BytesIO()
    np.save(f, a, allow_pickle=allow_pickle)
    return f.getvalue()


def _zip(members: dict, method=zipfile.ZIP_STORED) -> bytes:
    f = io.BytesIO()
    with zipfile.ZipFile(f, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return f.getvalue()


class _Canary:
    """Unpickling one creates the file `path`: proof that an object array was loaded."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def _make_bomb(kind: str, members: dict) -> bytes:
    """coef/big/meta: that member declares 96-256 MB of zeros; extra: an unread extra member does; liar: coef's
    zip entry declares the small array its .npy header describes, and its stream inflates to 64 MB."""
    f = io.BytesIO()
    target = {"meta": "meta.npy", "extra": "extra.npy"}.get(kind, "coef.npy")
    size = {"coef": 96 << 20, "big": 256 << 20, "meta": 96 << 20, "liar": 64 << 20, "extra": 96 << 20}[kind]
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for other, data in members.items():
            if other != target:
                z.writestr(other, data)
        with z.open(target, "w") as w:
            if kind == "meta":
                w.write(_npy_header("|u1", (size,)))
            elif kind == "liar":
                w.write(_npy_header("<f4", (2, DIM)))
            else:
                w.write(_npy_header("<f4", (size // (DIM * 4), DIM)))
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                w.write(chunk)
    raw = bytearray(f.getvalue())
    if kind == "liar":
        _patch_size(raw, "coef.npy", len(_npy(np.zeros((2, DIM), np.float32))))
    return bytes(raw)


def _npy_header(descr: str, shape: tuple) -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue()


def _patch_size(raw: bytearray, name: str, now: int):
    """A zip member's uncompressed size, rewritten in its local header and its central directory entry."""
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(name)
    places = [info.header_offset + 22]
    pos = raw.find(b"PK\x01\x02")
    while pos >= 0:
        n = int.from_bytes(raw[pos + 28:pos + 30], "little")
        if raw[pos + 46:pos + 46 + n] == name.encode():
            places.append(pos + 24)
        pos = raw.find(b"PK\x01\x02", pos + 4)
    for at in places:
        raw[at:at + 4] = now.to_bytes(4, "little")


# -- catalog inputs: each writes `db` (a path in the case folder) from the seed and returns a note -----------------
def c_ok(rng, s, db):
    _write(db, s.catalog)
    return "seed"


def c_bytes(rng, s, db):
    n = int(_pick(rng, [0, 1, 15, 16, 99, 100, 512, 4096, 20000]))
    data = rng.integers(0, 256, n, np.uint8).tobytes()
    if rng.random() < 0.5:
        data = b"SQLite format 3\x00" + data
    _write(db, data)
    return f"{len(data)} random bytes"


def c_truncated(rng, s, db):
    n = int(_pick(rng, [int(rng.integers(0, 100)), int(rng.integers(100, len(s.catalog))),
                        4096 * int(rng.integers(1, max(2, len(s.catalog) // 4096)))]))
    _write(db, s.catalog[:n])
    return f"first {n} bytes"


def c_bitflip(rng, s, db):
    b = bytearray(s.catalog)
    for _ in range(int(rng.integers(1, 12))):
        at = int(rng.integers(100)) if rng.random() < 0.3 else int(rng.integers(len(b)))
        b[at] ^= 1 << int(rng.integers(8))
    _write(db, bytes(b))
    return "bits flipped"


def c_foreign(rng, s, db):
    """Another tool's SQLite file: its own tables, maybe a `tracks` or `meta` of other columns, maybe WAL."""
    statements = []
    if rng.random() < 0.3:
        statements.append(("PRAGMA journal_mode=WAL", ()))
    names = ["songs", "tracks", "meta", "items", "library", "albums"]
    for _ in range(int(rng.integers(0, 4))):
        name = _pick(rng, names)
        cols = ", ".join(f"{_pick(rng, ['id', 'path', 'title', 'key', 'value', 'dim', 'embedding', 'x'])}{j}"
                         for j in range(int(rng.integers(1, 5))))
        statements.append((f"CREATE TABLE IF NOT EXISTS {name} ({cols})", ()))
    if rng.random() < 0.3:  # muzip's tables, one lacking a column
        statements.append(("CREATE TABLE IF NOT EXISTS meta (key TEXT, value TEXT)", ()))
        statements.append(("CREATE TABLE IF NOT EXISTS tracks (id INTEGER PRIMARY KEY, path TEXT, dim INT)", ()))
    con = sqlite3.connect(db)
    try:
        for statement, args in statements:
            con.execute(statement, args)
        con.commit()
    finally:
        con.close()
    return f"{len(statements)} statements"


def _bad_value(rng, column: str):
    choice = int(rng.integers(12))
    if column == "embedding":
        v = np.random.default_rng(int(rng.integers(1 << 30))).standard_normal(DIM).astype("<f4")
        v /= np.linalg.norm(v)
        if choice == 0:
            return rng.integers(0, 256, int(rng.integers(0, 4 * DIM + 8)), np.uint8).tobytes()
        if choice == 1:
            return "text " * int(rng.integers(0, 10))
        if choice == 2:
            return int(rng.integers(-5, 5))
        if choice == 3:
            return float(rng.standard_normal())
        if choice in (4, 5, 6):
            v[int(rng.integers(DIM))] = _pick(rng, [np.nan, np.inf, -np.inf, 1e30, 3e38])
            return v.tobytes()
        if choice == 7:
            return (v * float(_pick(rng, [0.0, 1e-20, 2.0, 1e20]))).astype("<f4").tobytes()
        if choice == 8:
            return v.tobytes()[:int(rng.integers(0, 4 * DIM))]
        if choice == 9:
            return v.tobytes() + v.tobytes()[:int(rng.integers(1, 4 * DIM))]
        return np.full(DIM, np.nan, "<f4").tobytes()
    if column == "dim":
        return _pick(rng, [-1, 0, 1, DIM - 1, DIM + 1, 1 << 40, -(1 << 62), "128", "abc", 128.5, b"\x80"])
    if column == "path":
        return _pick(rng, [5, 1.5, b"/lib/blob.mz", "", "/lib/new\nline.mz", "x" * 5000, "/lib/x/t0.mz"])
    if column in ("size", "mtime"):
        return _pick(rng, ["big", b"\x00", -1, 1e308, float("nan")])
    return _pick(rng, ["{not json", "[]", 7, b"\xff"])


def c_rows(rng, s, db):
    """The seed catalog with some rows damaged: blobs, dimensions, values, types."""
    _write(db, s.catalog)
    statements, notes = [], []
    for _ in range(int(rng.integers(1, 4))):
        column = _pick(rng, ["embedding", "embedding", "embedding", "dim", "path", "size", "mtime", "tags"])
        row = int(rng.integers(1, len(s.paths) + 1))
        value = _bad_value(rng, column)
        statements.append((f"UPDATE OR IGNORE tracks SET {column}=? WHERE id=?", (value, row)))
        notes.append(f"{column}@{row}")
    if rng.random() < 0.2:
        statements.append(("DELETE FROM tracks WHERE id % 2 = 0", ()))
    _sql(db, *statements)
    return ", ".join(notes)


def c_meta(rng, s, db):
    """The seed catalog with its meta table changed: schema, generation, missing rows, a dropped table."""
    _write(db, s.catalog)
    choice = int(rng.integers(6))
    value = _pick(rng, ["2", "0", "x", "", "1.0", str(1 << 70), 1, None])
    statement = [("UPDATE meta SET value=? WHERE key='schema'", (value,)),
                 ("UPDATE meta SET value=? WHERE key='generation'", (value,)),
                 ("DELETE FROM meta", ()),
                 ("DROP TABLE meta", ()),
                 ("ALTER TABLE tracks RENAME TO old_tracks", ()),
                 ("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (_pick(rng, ["-5", "abc", str(1 << 80)]),))][choice]
    try:
        _sql(db, statement)
    except sqlite3.IntegrityError:  # NOT NULL: leave the row as it was
        pass
    return statement[0]


def c_loose(rng, s, db):
    """muzip's columns without types or constraints, holding NULLs and junk."""
    con = sqlite3.connect(db)
    try:
        con.execute("CREATE TABLE meta (key, value)")
        con.execute("INSERT INTO meta VALUES ('schema', '1')")
        cols = ["id", "path", "size", "mtime", "duration", "rate", "channels", "tags", "model", "embedder", "source",
                "dim", "embedding"]
        con.execute(f"CREATE TABLE tracks ({', '.join(c + (' INTEGER PRIMARY KEY' if c == 'id' else '') for c in cols)})")
        for i in range(int(rng.integers(0, 6))):
            row = [None, s.paths[i], 1, 0.0, None, None, None, "{}", "m", s.embedder, "mz", DIM, s.emb[i].tobytes()]
            for _ in range(int(rng.integers(0, 3))):
                j = int(rng.integers(1, len(cols)))
                row[j] = None if rng.random() < 0.5 else _bad_value(rng, cols[j])
            con.execute(f"INSERT INTO tracks VALUES ({', '.join('?' * len(cols))})", row)
        con.commit()
    finally:
        con.close()
    return "loose schema"


def c_odd(rng, s, db):
    choice = _pick(rng, ["empty file", "folder", "missing"])
    if choice == "empty file":
        open(db, "wb").close()
    elif choice == "folder":
        os.makedirs(db)
    return choice


# -- classifier inputs: each writes `clf` and returns a note ---------------------------------------------------------
def k_ok(rng, s, clf, case_dir):
    _write(clf, s.classifier)
    return "seed"


def k_bytes(rng, s, clf, case_dir):
    n = int(_pick(rng, [0, 1, 4, 30, 100, 1000, 5000]))
    data = _pick(rng, [b"", b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY"]) + rng.integers(0, 256, n, np.uint8).tobytes()
    _write(clf, data)
    return f"{len(data)} bytes"


def k_truncated(rng, s, clf, case_dir):
    n = int(rng.integers(0, len(s.classifier)))
    _write(clf, s.classifier[:n])
    return f"first {n} bytes"


def k_bitflip(rng, s, clf, case_dir):
    b = bytearray(s.classifier)
    for _ in range(int(rng.integers(1, 8))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    _write(clf, bytes(b))
    return "bits flipped"


def _meta(rng, s):
    meta = json.loads(np.load(io.BytesIO(s.members["meta.npy"])).tobytes())
    choice = int(rng.integers(7))
    if choice == 0:
        meta["format"] = _pick(rng, ["muzip-classifier-2", None, 1])
    elif choice == 1:
        meta["classes"] = _pick(rng, [["a"], "ab", None, ["a", "b", "c"], [1, 2], []])
    elif choice == 2:
        return json.dumps([meta]).encode()
    elif choice == 3:
        return b"[" * int(rng.integers(1, 100000))
    elif choice == 4:
        return rng.integers(0, 256, int(rng.integers(0, 200)), np.uint8).tobytes()
    elif choice == 5:
        return json.dumps(meta).encode()[:int(rng.integers(0, 50))]
    else:
        meta["embedder"] = {"x": [1] * 10}
    return json.dumps(meta).encode()


def k_members(rng, s, clf, case_dir):
    """Wrong, missing, renamed, mistyped or misshapen members."""
    members = dict(s.members)
    choice = int(rng.integers(10))
    note = ["drop", "rename", "extra", "meta", "coef dtype", "coef shape", "bias shape", "nan", "fortran", "f8 big-endian"][choice]
    if choice == 0:
        members.pop(_pick(rng, sorted(members)))
    elif choice == 1:
        name = _pick(rng, sorted(members))
        members[name.upper()] = members.pop(name)
    elif choice == 2:
        members["extra.npy"] = _npy(np.zeros(3))
        members["readme.txt"] = b"hello"
    elif choice == 3:
        members["meta.npy"] = _npy(np.frombuffer(_meta(rng, s), np.uint8))
    elif choice == 4:
        coef = np.load(io.BytesIO(members["coef.npy"]))
        members["coef.npy"] = _npy(coef.astype(_pick(rng, [np.int64, np.complex64, np.float16, np.bool_, "U3", "S4"])))
    elif choice == 5:
        members["coef.npy"] = _npy(np.zeros(_pick(rng, [(2,), (2, DIM, 1), (3, DIM), (2, 0), (0, DIM), (2, 7)]), np.float32))
    elif choice == 6:
        members["bias.npy"] = _npy(np.zeros(_pick(rng, [(3,), (2, 1), (), (0,)]), np.float32))
    elif choice == 7:
        coef = np.load(io.BytesIO(members["coef.npy"]))
        coef[0, int(rng.integers(DIM))] = _pick(rng, [np.nan, np.inf, 1e38])
        members["coef.npy"] = _npy(coef)
    elif choice == 8:
        members["coef.npy"] = _npy(np.asfortranarray(np.load(io.BytesIO(members["coef.npy"]))))
    else:
        members["coef.npy"] = _npy(np.load(io.BytesIO(members["coef.npy"])).astype(">f8"))
    _write(clf, _zip(members, _pick(rng, [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])))
    return note


def k_pickle(rng, s, clf, case_dir):
    """Object arrays whose unpickling would create the canary file."""
    canary = _Canary(os.path.join(case_dir, "UNPICKLED"))
    arr = np.array([canary, {"a": 1}], dtype=object)
    where = _pick(rng, ["coef.npy", "bias.npy", "meta.npy", "npy"])
    if where == "npy":
        _write(clf, _npy(arr, allow_pickle=True))
    else:
        _write(clf, _zip({**s.members, where: _npy(arr, allow_pickle=True)}))
    return where


def k_bomb(rng, s, clf, case_dir):
    kind = _pick(rng, ["coef", "big", "meta", "liar", "extra"])
    _write(clf, s.bomb(kind))
    return kind


def k_npy(rng, s, clf, case_dir):
    """A .npy renamed .npz: the coefficients alone, a meta-like byte array, a structured array."""
    a = _pick(rng, [np.load(io.BytesIO(s.members["coef.npy"])), np.frombuffer(b'{"format": 1}', np.uint8),
                    np.zeros(3, dtype=[("coef", "<f4"), ("bias", "<f4")])])
    _write(clf, _npy(a))
    return str(a.dtype)


CATALOG_KINDS = {"catalog-ok": c_ok, "catalog-bytes": c_bytes, "catalog-truncated": c_truncated,
                 "catalog-bitflip": c_bitflip, "catalog-foreign": c_foreign, "catalog-rows": c_rows,
                 "catalog-meta": c_meta, "catalog-loose": c_loose, "catalog-odd": c_odd}
CLASSIFIER_KINDS = {"clf-ok": k_ok, "clf-bytes": k_bytes, "clf-truncated": k_truncated, "clf-bitflip": k_bitflip,
                    "clf-members": k_members, "clf-pickle": k_pickle, "clf-bomb": k_bomb, "clf-npy": k_npy}
KINDS = list(CATALOG_KINDS) + list(CLASSIFIER_KINDS)
