"""Bad catalogs and classifiers (issue 23): one line `muzip: FILE: reason`, exit 1, no traceback, no
`internal error`, nothing written, the input untouched; read commands open the catalog read-only; JSON
output is strict JSON; map refuses to overwrite and numbers clusters as `muzip cluster` does; `classify
train --db` reuses the catalog's embeddings. Catalogs here are written by hand (no audio, no embedding)."""

import io
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import tempfile
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from muzip.cli import cli
from muzip.library import classify as C
from muzip.library.catalog import Catalog

DIM = 16


def unit_rows(n, dim=DIM, seed=0, centers=None):
    rng = np.random.default_rng(seed)
    if centers is None:
        v = rng.standard_normal((n, dim))
    else:  # well separated groups: centers[k] tracks around direction k
        v = np.concatenate([np.eye(dim)[k] * 4 + rng.standard_normal((m, dim)) * 0.3 for k, m in enumerate(centers)])
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def write_catalog(path, emb=None, paths=None, embedder="test-embedder:0", sizes=None):
    """A muzip catalog of the given unit vectors (default: 8 random ones) for tracks /lib/<folder>/tN.mz."""
    emb = unit_rows(8) if emb is None else emb
    paths = paths or [f"/lib/{'ab'[i % 2]}/t{i}.mz" for i in range(len(emb))]
    with Catalog(str(path)) as cat:
        cat.put_many([{"path": p, "size": (sizes or {}).get(p, (1, 0.0))[0], "mtime": (sizes or {}).get(p, (1, 0.0))[1],
                       "duration": 1.0, "rate": 44100, "channels": 2, "tags": {}, "model": "muzip-v1", "source": "mz",
                       "dim": int(e.size), "embedding": e.astype("<f4").tobytes()} for p, e in zip(paths, emb)], embedder)
    return paths


def write_classifier(path, dim=DIM, seed=0):
    C.save(C.train(unit_rows(12, dim, seed), ["a"] * 6 + ["b"] * 6, "test-embedder:0"), str(path))
    return path


def sql(db, *statements):
    """Run (statement, args) pairs and close the connection (its WAL checkpointed into the file)."""
    con = sqlite3.connect(db)
    try:
        with con:
            for statement, args in statements:
                con.execute(statement, args)
    finally:
        con.close()


def fingerprint(path):
    return open(path, "rb").read(), os.stat(path).st_mtime_ns


def invoke(*args):
    """The CLI in-process; an exception other than the exit is a bug (the real main prints `internal error`)."""
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output and "internal error" not in r.output
    return r


def strict_json(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def one_line(r, prefix):
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), r.stderr
    return lines[0]


# -- 1. damaged catalogs and classifiers: one line, exit 1 --------------------------------------------------

def _damage(db, kind):
    if kind == "foreign":
        sql(db, ("CREATE TABLE songs (title TEXT, plays INTEGER)", ()), ("INSERT INTO songs VALUES ('x', 3)", ()))
        return "not a muzip catalog"
    if kind == "not sqlite":
        db.write_bytes(b"just some text, not a database\n" * 40)
        return "not a muzip catalog"
    if kind == "empty":
        db.write_bytes(b"")
        return "not a muzip catalog"
    write_catalog(db)
    track = "/lib/b/t1.mz"
    statement, args, reason = {
        "short blob": ("UPDATE tracks SET embedding=? WHERE path=?", (b"\0" * 12, track),
                       f"catalog damaged: track {track} (embedding has 3 values, expected {DIM}"),
        "text blob": ("UPDATE tracks SET embedding=? WHERE path=?", ("hello", track),
                      f"catalog damaged: track {track} (embedding is text"),
        "dim -1": ("UPDATE tracks SET dim=? WHERE path=?", (-1, track),
                   f"catalog damaged: track {track} (stored dimension -1"),
        "other dim": ("UPDATE tracks SET dim=?, embedding=? WHERE path=?", (4, unit_rows(1, 4).tobytes(), track),
                      f"catalog damaged: track {track} (embedding has 4 values, expected {DIM}"),
        "newer schema": ("UPDATE meta SET value=? WHERE key='schema'", ("9",), "catalog schema '9', this muzip reads 1"),
    }[kind]
    sql(db, (statement, args))
    return reason


READERS = {
    "similar": lambda db, tmp: ["similar", "/lib/a/t0.mz", "--db", db],
    "cluster": lambda db, tmp: ["cluster", "--db", db, "--json"],
    "map": lambda db, tmp: ["map", "--db", db, "-o", tmp / "map.png"],
    "predict": lambda db, tmp: ["classify", "predict", write_classifier(tmp / "c.npz"), "--db", db, "--json"],
}


@pytest.mark.parametrize("kind", ["short blob", "text blob", "dim -1", "other dim", "newer schema", "foreign",
                                  "not sqlite", "empty"])
@pytest.mark.parametrize("command", sorted(READERS))
def test_a_bad_catalog_is_one_line_and_untouched(tmp_path, kind, command):
    db = tmp_path / "lib.db"
    reason = _damage(db, kind)
    before = fingerprint(db)
    r = invoke(*READERS[command](db, tmp_path))
    assert r.exit_code == 1 and r.stdout == ""
    assert one_line(r, f"muzip: {db}: ").startswith(f"muzip: {db}: {reason}")
    assert fingerprint(db) == before
    assert not (tmp_path / "map.png").exists()


@pytest.mark.parametrize("kind", ["foreign", "not sqlite"])
def test_index_refuses_what_is_not_a_catalog_untouched(tmp_path, kind):
    db = tmp_path / "lib.db"
    _damage(db, kind)
    before = fingerprint(db)
    (tmp_path / "empty").mkdir()
    r = invoke("index", tmp_path / "empty", "--db", db)
    assert r.exit_code == 1 and one_line(r, f"muzip: {db}: not a muzip catalog")
    assert fingerprint(db) == before
    assert sorted(os.listdir(tmp_path)) == ["empty", "lib.db"]  # no journal, no WAL left beside it


def test_index_repairs_a_damaged_row(tmp_path, monkeypatch):
    """A damaged row is not `unchanged`: index embeds that file again."""
    import muzip.cli.library_cmds as L
    song = tmp_path / "song.mz"
    song.write_bytes(b"x" * 10)
    st = os.stat(song)
    db = tmp_path / "lib.db"
    write_catalog(db, unit_rows(2), [str(song), "/lib/other.mz"], sizes={str(song): (st.st_size, st.st_mtime)})
    sql(db, ("UPDATE tracks SET embedding=? WHERE path=?", (np.full(DIM, np.nan, np.float32).tobytes(), str(song))))
    good = unit_rows(1, seed=5)[0]
    monkeypatch.setitem(L._STATE, "embedder", (None, "test-embedder:0"))
    monkeypatch.setattr(L, "_embed_one", lambda p: ("ok", {
        "path": p, "size": st.st_size, "mtime": st.st_mtime, "duration": 1.0, "rate": 44100, "channels": 2, "tags": {},
        "model": "muzip-v1", "source": "mz", "dim": DIM, "embedding": good.tobytes()}))
    r = invoke("index", "-j", "1", "--json", song, "--db", db)
    assert r.exit_code == 0 and strict_json(r.stdout)["indexed"] == 1
    r = invoke("cluster", "--db", db, "--json")
    assert r.exit_code == 0 and r.stderr == ""


def _npy_bytes(a, allow_pickle=False):
    f = io.BytesIO()
    np.save(f, a, allow_pickle=allow_pickle)
    return f.getvalue()


class _Canary:
    """Unpickling this creates a file: proof that a classifier's object array was (wrongly) unpickled."""
    path = None

    def __reduce__(self):
        return open, (self.path, "w")


@pytest.mark.parametrize("kind", ["renamed npy", "pickled object array", "object member", "text", "empty",
                                  "truncated", "no meta", "meta not json", "nan weights", "int weights"])
@pytest.mark.parametrize("command", ["predict", "map"])
def test_a_bad_classifier_is_one_line(tmp_path, kind, command):
    db = tmp_path / "lib.db"
    write_catalog(db)
    clf = tmp_path / "genre.npz"
    good = write_classifier(tmp_path / "good.npz").read_bytes()
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        members = {name: z.read(name) for name in z.namelist()}
    _Canary.path = str(tmp_path / "unpickled")

    def zipped(**changes):
        f = io.BytesIO()
        with zipfile.ZipFile(f, "w") as z:
            for name, data in {**members, **changes}.items():
                if data is not None:
                    z.writestr(name, data)
        return f.getvalue()
    clf.write_bytes({
        "renamed npy": lambda: _npy_bytes(np.zeros((2, DIM), np.float32)),
        "pickled object array": lambda: _npy_bytes(np.array([_Canary()], dtype=object), allow_pickle=True),
        "object member": lambda: zipped(**{"coef.npy": _npy_bytes(np.array([_Canary()], dtype=object), True)}),
        "text": lambda: b"label,weight\na,1\n",
        "empty": lambda: b"",
        "truncated": lambda: good[:len(good) // 2],
        "no meta": lambda: zipped(**{"meta.npy": None}),
        "meta not json": lambda: zipped(**{"meta.npy": _npy_bytes(np.frombuffer(b"{not json", np.uint8))}),
        "nan weights": lambda: zipped(**{"coef.npy": _npy_bytes(np.full((2, DIM), np.nan, np.float32))}),
        "int weights": lambda: zipped(**{"coef.npy": _npy_bytes(np.ones((2, DIM), np.int64))}),
    }[kind]())
    before = fingerprint(clf)
    if command == "predict":
        r = invoke("classify", "predict", clf, "--db", db)
    else:
        r = invoke("map", "--db", db, "-o", tmp_path / "map.png", "--color", "label", "--classifier", clf)
    assert r.exit_code == 1 and r.stdout == ""
    line = one_line(r, f"muzip: {clf}: ")
    assert "not a muzip classifier" in line or "damaged classifier" in line
    assert fingerprint(clf) == before and not (tmp_path / "unpickled").exists() and not (tmp_path / "map.png").exists()


# -- read-only files and folders (root ignores file modes: the child drops to nobody) -----------------------

def _as_other_user(fn, *args):
    """fn(*args) in a forked child that cannot write files it does not own: under root it becomes nobody
    first (everything it needs is imported beforehand). -> what fn returned."""
    def child(q):
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            q.put(fn(*args))
        except BaseException as exc:  # noqa: BLE001
            q.put(("child failed", repr(exc)))
    q = mp.get_context("fork").SimpleQueue()
    p = mp.get_context("fork").Process(target=child, args=(q,))
    p.start()
    p.join(120)
    return q.get()


def _invoke_plain(args):
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr, repr(r.exception) if not isinstance(r.exception, (SystemExit, type(None))) else None


@pytest.fixture
def shared_dir():
    """A folder another user can enter (tmp_path's parents are private to root)."""
    d = tempfile.mkdtemp(prefix="muzip-ro-")
    os.chmod(d, 0o755)
    yield d
    os.chmod(d, 0o755)
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("readonly", ["file", "folder"])
def test_a_read_only_catalog_is_read_and_refused_for_writing(shared_dir, monkeypatch, readonly):
    import muzip.cli.library_cmds as L
    import muzip.library.cluster  # noqa: F401 - imported before the child drops its rights
    import sklearn.cluster  # noqa: F401
    db = os.path.join(shared_dir, "lib.db")
    write_catalog(db)
    song = os.path.join(shared_dir, "song.mz")
    with open(song, "wb") as f:
        f.write(b"x" * 10)
    os.chmod(song, 0o644)
    os.chmod(db, 0o444)
    os.chmod(shared_dir, 0o777)  # the folder open to all: SQLite can make its -shm file beside the catalog
    if readonly == "folder":
        os.chmod(db, 0o644)
        os.chmod(shared_dir, 0o555)
    before = fingerprint(db)
    monkeypatch.setitem(L._STATE, "embedder", (None, "test-embedder:0"))
    monkeypatch.setattr(L, "_embed_one", lambda p: ("ok", {
        "path": p, "size": 10, "mtime": 0.0, "duration": 1.0, "rate": 44100, "channels": 2, "tags": {},
        "model": "muzip-v1", "source": "mz", "dim": DIM, "embedding": unit_rows(1)[0].tobytes()}))
    code, out, err, exc = _as_other_user(_invoke_plain, ["cluster", "--db", db, "--json"])
    assert (code, exc, err) == (0, None, "") and len(strict_json(out)["clusters"]) >= 1
    code, out, err, exc = _as_other_user(_invoke_plain, ["index", "-j", "1", song, "--db", db])
    assert exc is None and code == 1, (code, err, exc)
    assert err == f"muzip: {db}: cannot write the catalog (read-only)\n"  # found before any embedding
    assert fingerprint(db) == before


# -- 2. a deflate bomb is refused from its declared sizes, in bounded memory ---------------------------------

def test_a_classifier_bomb_is_refused_before_it_is_read(tmp_path):
    db = tmp_path / "lib.db"
    write_catalog(db)
    bomb = tmp_path / "bomb.npz"
    meta = json.dumps({"format": C.FORMAT, "classes": [str(i) for i in range(4200)], "embedder": "e"}).encode()
    with open(bomb, "wb") as f:  # 17 MB of float32 zeros, more than MAX_MEMBER_BYTES, in about 20 kB
        np.savez_compressed(f, coef=np.zeros((4200, 1024), np.float32), bias=np.zeros(4200, np.float32),
                            meta=np.frombuffer(meta, np.uint8))
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    t0 = time.monotonic()
    with pytest.raises(C.ClassifierError, match=r"coef declares 17,203,\d{3} bytes"):
        C.load(str(bomb))
    elapsed, (_, peak) = time.monotonic() - t0, tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 2 << 20  # nothing decompressed
    r = invoke("classify", "predict", bomb, "--db", db)
    assert r.exit_code == 1 and one_line(r, f"muzip: {bomb}: not a muzip classifier (coef declares")


def _patch_size(raw: bytearray, name: str, was: int, now: int):
    """Make a zip member declare `now` uncompressed bytes, in its local header and its central directory entry."""
    info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(name)
    places = [info.header_offset + 22]
    pos = raw.find(b"PK\x01\x02")
    while pos >= 0:
        n = int.from_bytes(raw[pos + 28:pos + 30], "little")
        if raw[pos + 46:pos + 46 + n] == name.encode():
            places.append(pos + 24)
        pos = raw.find(b"PK\x01\x02", pos + 4)
    assert len(places) == 2
    for at in places:
        assert int.from_bytes(raw[at:at + 4], "little") == was
        raw[at:at + 4] = now.to_bytes(4, "little")


def test_a_classifier_whose_zip_sizes_lie_is_refused(tmp_path):
    """The zip entry says 160 bytes; the stream inflates to 64 MB: only the declared bytes are read."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("meta.npy", _npy_bytes(np.frombuffer(json.dumps({"format": C.FORMAT, "classes": ["a", "b"]}).encode(), np.uint8)))
        z.writestr("bias.npy", _npy_bytes(np.zeros(2, np.float32)))
        with z.open("coef.npy", "w") as f:
            f.write(_npy_bytes(np.zeros((2, 8), np.float32)))
            for _ in range(64):
                f.write(bytes(1 << 20))
    raw = bytearray(data.getvalue())
    true_size = len(_npy_bytes(np.zeros((2, 8), np.float32))) + (64 << 20)
    _patch_size(raw, "coef.npy", true_size, 128 + 64)
    liar = tmp_path / "liar.npz"
    liar.write_bytes(bytes(raw))
    tracemalloc.start()
    with pytest.raises(C.ClassifierError):
        C.load(str(liar))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 << 20


def test_a_classifier_round_trips(tmp_path):
    path = write_classifier(tmp_path / "ok.npz")
    model = C.load(str(path))
    assert model["classes"] == ["a", "b"] and model["coef"].shape == (2, DIM) and model["coef"].dtype == np.float32


# -- 3. read commands never change the catalog ---------------------------------------------------------------

@pytest.mark.parametrize("foreign", [False, True])
def test_read_commands_leave_the_catalog_as_it_was(tmp_path, foreign):
    db = tmp_path / "lib.db"
    if foreign:
        sql(db, ("CREATE TABLE songs (title TEXT)", ()))
    else:
        write_catalog(db)
    clf = write_classifier(tmp_path / "c.npz")
    before = fingerprint(db)
    for args in (["similar", "/lib/a/t0.mz", "--db", db], ["similar", "/lib/a/t0.mz", "--db", db, "--json"],
                 ["cluster", "--db", db], ["map", "--db", db, "-o", tmp_path / "m.png", "-f"],
                 ["map", "--db", db, "-o", tmp_path / "m.png", "-f", "--color", "label", "--classifier", clf],
                 ["classify", "predict", clf, "--db", db]):
        r = invoke(*args)
        if foreign:
            assert r.exit_code == 1 and r.stderr == f"muzip: {db}: not a muzip catalog\n"
        else:
            assert r.exit_code == 0 and r.stdout.strip() or args[0] == "map", r.output
        assert fingerprint(db) == before, args
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    con.close()
    assert tables == ({"songs"} if foreign else {"meta", "tracks", "descriptors", "changes"})
    assert mode == "delete"  # a writer leaves it in rollback mode, so no reader leaves -wal/-shm files
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm"))]


# -- 4. strict JSON: a non-finite embedding is reported and left out -----------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e30])
def test_json_output_is_strict_json_without_the_bad_track(tmp_path, bad):
    db = tmp_path / "lib.db"
    paths = write_catalog(db)
    v = unit_rows(1, seed=3)[0]
    v[2] = bad
    sql(db, ("UPDATE tracks SET embedding=? WHERE path=?", (v.tobytes(), paths[3])))
    clf = write_classifier(tmp_path / "c.npz")
    for args in (["similar", paths[0], "--db", db, "--json", "-n", "20"], ["cluster", "--db", db, "--json"],
                 ["classify", "predict", clf, "--db", db, "--json"]):
        r = invoke(*args)
        assert r.exit_code == 1, r.output
        assert one_line(r, f"muzip: {db}: track {paths[3]}: embedding is not")
        out = [strict_json(line) for line in r.stdout.splitlines()]
        assert paths[3] not in json.dumps(out) and paths[1] in json.dumps(out)
    r = invoke("similar", paths[3], "--db", db, "--json")  # the bad track as the query
    assert r.exit_code == 1 and r.stdout == "" and one_line(r, f"muzip: {db}: catalog damaged: track {paths[3]}")


# -- 5. map refuses to overwrite without -f --------------------------------------------------------------------

def test_map_refuses_to_overwrite_without_force(tmp_path):
    db = tmp_path / "lib.db"
    write_catalog(db)
    png = tmp_path / "map.png"
    png.write_bytes(b"precious")
    r = invoke("map", "--db", db, "-o", png)
    assert r.exit_code == 1 and r.stderr == f"muzip: {png}: exists (use -f to overwrite)\n"
    assert png.read_bytes() == b"precious"
    r = invoke("map", "--db", db, "-o", db, "-f")  # never over its own input (nor anything but a .png)
    assert r.exit_code == 2 and "ending in .png" in r.stderr
    r = invoke("map", "--db", db, "-o", png, "--force")
    assert r.exit_code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["lib.db", "map.png"]  # no temp file, no -wal/-shm left


# -- 6. map colours by the numbers `muzip cluster` prints -------------------------------------------------------

def test_map_clusters_are_numbered_as_cluster_prints_them(tmp_path, monkeypatch):
    from muzip.library import tsne_map
    db = tmp_path / "lib.db"
    paths = write_catalog(db, unit_rows(0, centers=[2, 4, 7]), [f"/lib/t{i:02d}.mz" for i in range(13)])
    r = invoke("cluster", "--db", db, "--json")
    clusters = strict_json(r.stdout)["clusters"]
    assert [len(c["members"]) for c in clusters] == [7, 4, 2]  # largest first: not the order AP found them
    printed = {m: f"cluster {k + 1}" for k, c in enumerate(clusters) for m in c["members"]}
    seen = {}
    monkeypatch.setattr(tsne_map, "draw", lambda xy, groups, labelled, f, title: seen.update(
        groups=groups, labelled=labelled))
    r = invoke("map", "--db", db, "-o", tmp_path / "m.png")
    assert r.exit_code == 0, r.output
    assert dict(zip(paths, seen["groups"])) == printed
    assert {paths[i] for i in seen["labelled"]} == {c["exemplar"] for c in clusters}


# -- 7. classify train --db reuses the catalog's embeddings --------------------------------------------------------

def test_classify_train_reuses_cataloged_embeddings(tmp_path, monkeypatch):
    import muzip.cli.classify_cmds as K
    import muzip.cli.library_cmds as L
    root = tmp_path / "labelled"
    files = []
    for label in ("calm", "loud"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            f = root / label / f"{label}{i}.mz"
            f.write_bytes(label.encode() * (i + 1))
            files.append(str(f))
    emb = unit_rows(0, centers=[4, 4])
    cataloged = files[:3] + files[4:7]  # two files are not in the catalog
    db = tmp_path / "lib.db"
    write_catalog(db, np.stack([emb[files.index(f)] for f in cataloged]), cataloged,
                  sizes={f: (os.stat(f).st_size, os.stat(f).st_mtime) for f in cataloged})
    changed = files[6]  # ... and one changed since it was indexed
    os.utime(changed, (1e9, 1e9))
    before = fingerprint(db)
    embedded = []

    def fake_embed(path):
        embedded.append(path)
        return "ok", {"embedding": emb[files.index(path)].tobytes()}
    monkeypatch.setitem(L._STATE, "embedder", (None, "test-embedder:0"))
    monkeypatch.setattr(K, "_embed_one", fake_embed)
    r = invoke("classify", "train", root, "-o", tmp_path / "c.npz", "--db", db, "-j", "1", "--json")
    assert r.exit_code == 0, r.output
    assert sorted(embedded) == sorted([files[3], files[7], changed])
    res = strict_json(r.stdout)
    assert res["tracks"] == 8 and res["from_catalog"] == 5 and res["classes"] == ["calm", "loud"]
    assert fingerprint(db) == before
    embedded.clear()
    monkeypatch.setitem(L._STATE, "embedder", (None, "another-embedder:1"))  # another embedder: nothing reused
    r = invoke("classify", "train", root, "-o", tmp_path / "c.npz", "--db", db, "-j", "1", "--json", "-f")
    assert r.exit_code == 0 and len(embedded) == 8 and strict_json(r.stdout)["from_catalog"] == 0


@pytest.mark.parametrize("command", [["cluster"], ["similar", "/lib/a/t0.mz", "-n", "5"]])
def test_a_reader_that_goes_away_ends_a_library_command_quietly(tmp_path, command):
    """`muzip similar X --db L | head -1` (here `| true`, gone before muzip writes): exit 141, no message."""
    import subprocess
    import sys
    db = tmp_path / "lib.db"
    write_catalog(db)
    args = " ".join(f'"{a}"' for a in command)
    proc = subprocess.run(f'"{sys.executable}" -m muzip {args} --db "{db}" | true; echo "${{PIPESTATUS[0]}}"',
                          shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert proc.stdout.strip() == "141" and proc.stderr == ""
