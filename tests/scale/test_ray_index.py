"""`muzip index --ray` (issue 26): workers write records as Parquet shards beside the catalog, merged after
the run; the catalog is the serial path's (every embedding, descriptor and fingerprint identical); shards a
killed run left are merged by the next run, once; a corrupt input is one reported failure."""

import sqlite3

import pytest

from muzip.cli import cli

pytest.importorskip("ray")


def _rows(db):
    with sqlite3.connect(db) as c:
        tracks = c.execute("SELECT path, embedder, dim, embedding, duration, rate, channels, tags FROM tracks "
                           "ORDER BY path").fetchall()
        desc = c.execute("SELECT t.path, d.value, d.fingerprint FROM descriptors d JOIN tracks t ON t.id = d.track "
                         "ORDER BY t.path").fetchall()
    return tracks, desc


def test_index_on_ray_is_the_serial_catalog(runner, local_ray, songs, tmp_path):
    serial = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "serial.db"), "-j", "1"])
    on_ray = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "ray.db"), "--ray"])
    assert serial.exit_code == on_ray.exit_code == 1  # the corrupt input
    assert "5 indexed, 0 unchanged, 1 failed" in on_ray.output
    assert [ln for ln in on_ray.output.splitlines() if ln.startswith("muzip: ")] == \
        [ln for ln in serial.output.splitlines() if ln.startswith("muzip: ")]
    assert _rows(tmp_path / "ray.db") == _rows(tmp_path / "serial.db") and len(_rows(tmp_path / "ray.db")[0]) == 5
    assert not (tmp_path / "ray.db.shards").exists()
    again = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "ray.db"), "--ray"])
    assert "0 indexed, 5 unchanged, 1 failed, 0 pruned; 5 tracks" in again.output


def test_index_on_ray_warns_of_a_truncated_mz_and_names_files_as_given(runner, local_ray, tmp_path, monkeypatch):
    from pathlib import Path
    whole = (Path(__file__).parents[1] / "data" / "golden" / "muzip-v1.mz").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "cut.mz").write_bytes(whole[:len(whole) * 2 // 3])
    (tmp_path / "in" / "junk.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["index", "-q", "in", "--db", "lib.db", "--ray"])
    assert r.exit_code == 1, r.output  # the failure outranks the warning's 3, as in the serial path
    assert "muzip: warning: in/cut.mz: file is truncated" in r.stderr, r.stderr
    assert "muzip: in/junk.wav: " in r.stderr
    with sqlite3.connect(tmp_path / "lib.db") as c:  # the shards were written beside it, not in Ray's folder
        assert c.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 1
    assert not (tmp_path / "lib.db.shards").exists()


def test_a_killed_runs_shards_are_merged_once(runner, local_ray, songs, tmp_path):
    """A run killed after its workers wrote shards: the next run merges them (those files are not embedded
    again), drops a killed writer's temporary file, and the catalog has one row per file."""
    import os

    from muzip.cli.library_cmds import _embed_one, _embedder
    from muzip.scale import shards
    db = str(tmp_path / "lib.db")
    folder = shards.folder_for(db)
    embedder = _embedder()[1]
    files = sorted(songs.rglob("s*.wav"))
    done = [_embed_one(str(p)) for p in files[:3]]
    shards.write_shard([rec for _, rec in done[:2]], folder, embedder)
    shards.write_shard([done[2][1]], folder, embedder)
    dead = tmp_path / "lib.db.shards" / ".shard-dead.parquet.part"
    dead.write_bytes(b"PAR1")
    os.utime(dead, (1, 1))  # a writer killed long ago (one that is recent may be a run still writing beside)
    # a shard of a file changed since, one of another embedder, one cut short by a crash: none of them merged
    stale = dict(done[0][1], path=str(files[3]), embedding=done[0][1]["embedding"])
    shards.write_shard([stale], folder, embedder)
    shards.write_shard([done[1][1]], folder, "embed-v0:other")
    (tmp_path / "lib.db.shards" / "shard-cut.parquet").write_bytes(b"")
    res = runner.invoke(cli, ["index", str(songs), "--db", db, "--ray"])
    assert "5 indexed, 0 unchanged, 1 failed, 0 pruned; 5 tracks" in res.output
    assert "shard-cut.parquet: cannot be read (ArrowInvalid); set aside as " in res.stderr and res.exit_code == 1
    assert sorted(os.listdir(tmp_path / "lib.db.shards")) == ["damaged-shard-cut.parquet"]
    serial = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "serial.db"), "-j", "1"])
    assert serial.exit_code == 1 and _rows(db) == _rows(tmp_path / "serial.db")  # files[3] has its own row


def test_index_on_an_unreachable_cluster_is_one_line_and_exit_2(runner, songs, tmp_path):
    res = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "x.db"), "--ray", "127.0.0.1:1"])
    assert res.exit_code == 2 and not (tmp_path / "x.db").exists()
    assert res.output.strip().splitlines() == ["muzip: cannot reach the Ray cluster at 127.0.0.1:1 (Connection refused)"]


def test_index_builds_the_vector_index_of_a_large_catalog(runner, local_ray, songs, tmp_path, monkeypatch):
    """Past EXACT_MAX tracks the merge ends with the usearch index written, and `similar` then uses it
    (memory-mapped) with the exact search's answer."""
    from muzip.library import search
    from muzip.library.catalog import Catalog
    monkeypatch.setattr(search, "EXACT_MAX", 2)
    db = str(tmp_path / "big.db")
    runner.invoke(cli, ["index", str(songs), "--db", db, "--ray"])
    assert (tmp_path / "big.db.usearch").is_file()
    with Catalog(db) as cat:
        ids, emb, paths = cat.embeddings()
        ann = search.nearest(cat, emb[1], 3)
        monkeypatch.setattr(search, "EXACT_MAX", 5000)
        assert [h["path"] for h in ann] == [h["path"] for h in search.nearest(cat, emb[1], 3)]


def test_shards_keep_what_a_file_holds(tmp_path):
    """The codec and a decoded file's coded bitrate, which rank the copies of a recording (session 55: the Ray
    path dropped them); a shard written before they were kept reads with them unknown."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    from muzip.scale.shards import _schema, read_shard, write_shard
    rec = {"path": "/m/a.wav", "size": 1, "mtime": 1.0, "duration": 1.0, "rate": 44100, "channels": 2, "tags": {},
           "model": None, "source": "audio", "dim": 2, "embedding": b"\0" * 8, "codec": "muzip-v2.7", "kbps": 24.0}
    got = read_shard(write_shard([rec], str(tmp_path)))[0]
    assert (got["codec"], got["kbps"]) == ("muzip-v2.7", 24.0)
    older = pa.schema([f for f in _schema() if f.name not in ("codec", "kbps")])
    pq.write_table(pa.Table.from_pylist([{**{k: rec.get(k) for k in older.names}, "tags": "{}"}], schema=older),
                   os.path.join(tmp_path, "shard-old.parquet"))
    got = read_shard(os.path.join(tmp_path, "shard-old.parquet"))[0]
    assert got["codec"] is None and got["path"] == "/m/a.wav"


def test_records_that_never_reach_the_catalogs_folder_are_said(runner, local_ray, songs, tmp_path, monkeypatch):
    """A cluster whose nodes write their shards to a folder of their own (the catalog's folder not shared):
    "N indexed, 0 failed" with N short of the files, without a word (a review, session 62). Here the driver
    is made to find no shard."""
    import muzip.cli.ray_batch as rb
    monkeypatch.setattr(rb, "_merge_shards", lambda *a: set())
    res = runner.invoke(cli, ["index", str(songs), "--db", str(tmp_path / "lib.db"), "--ray"])
    assert "5 of 5 files embedded on the cluster left no record in" in res.stderr and res.exit_code == 1
    assert "0 indexed, 0 unchanged, 1 failed" in res.output


@pytest.mark.parametrize("server", ["http", "silent"])
def test_a_port_that_is_not_ray_is_one_line_and_exit_2(runner, tmp_path, server):
    """`--ray HOST:PORT` at a port that accepts but is no Ray (the dashboard's 8265, a proxy) hung for 10 minutes
    or more without a word (a review, session 62): ray.init retries it. The port must answer HTTP/2's preface."""
    import socket
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if server == "http":
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                conn.close()
    threading.Thread(target=serve, daemon=True).start()
    try:
        res = runner.invoke(cli, ["index", str(tmp_path), "--db", str(tmp_path / "x.db"), "--ray", f"127.0.0.1:{port}"])
    finally:
        listener.close()
    assert res.exit_code == 2 and not (tmp_path / "x.db").exists()
    assert res.output.strip().splitlines() == [f"muzip: 127.0.0.1:{port} answers, but not as Ray (give the head's GCS "
                                               "port, 6379 unless set, or ray://HOST:10001 for Ray Client; 8265 is "
                                               "the dashboard)"]


def test_a_tls_server_may_be_ray_and_a_listing_answers_prune_but_for_hidden_names(monkeypatch):
    """A diff review (session 62): the HTTP/2 check refused a Ray cluster with TLS (its server answers the clear
    preface with an alert); --prune from the listing dropped catalogued objects the listing leaves out (hidden
    names, named alone once) without asking; a store's times at other precisions failed every shard record."""
    import socket
    import threading

    import muzip.cli.library_objects as lo
    from muzip.cli.ray_batch import _current
    from muzip.scale.ray_engine import _speaks_grpc
    a, b = socket.socketpair()

    def tls_server():
        b.recv(64)
        b.sendall(b"\x15\x03\x03\x00\x02\x02\x50")  # a TLS alert record
        b.close()
    threading.Thread(target=tls_server, daemon=True).start()
    a.settimeout(5)
    assert _speaks_grpc(a)
    a.close()
    asked = []
    monkeypatch.setattr(lo, "still_there", lambda p: asked.append(p) or True)
    keep = lo.prune_test(["s3://b/m"], {"s3://b/m/a.mp3": (1, 1.0)})
    assert keep("s3://b/m/a.mp3") and not keep("s3://b/m/gone.mp3") and asked == []
    assert keep("s3://b/m/.h.mp3") and keep("s3://b/m/.cache/x.flac") and keep("s3://b/m/x.weird") and len(asked) == 3
    current = _current({"s3://b/m/a.mp3": (10, 1700000000.0)})
    assert current("s3://b/m/a.mp3", 10, 1700000000.123) and not current("s3://b/m/a.mp3", 11, 1700000000.0)
