"""`muzip compress --ray` with an S3-compatible store (issue 26): moto's S3 server on this machine as the
store, its endpoint and credentials in the environment as a user would set them. Inputs listed and read
from s3://, outputs uploaded there, byte-identical to the serial path's; a corrupt input is one failure named
by its URI; a re-run skips what exists; no temporary object is ever left; a store that does not answer is
one line and exit 2."""

import logging
import socket

import pytest

from muzip.cli import cli
from muzip.scale import storage

ray = pytest.importorskip("ray")
moto_server = pytest.importorskip("moto.server")
pafs = pytest.importorskip("pyarrow.fs")


@pytest.fixture(scope="module")
def bucket(songs):
    """s3://music with the songs under in/ (their folder layout kept)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's per-request lines
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "muzip",
                            "AWS_SECRET_ACCESS_KEY": "muzip-test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        storage._FILESYSTEMS.clear()
        fs = pafs.S3FileSystem(endpoint_override=f"{host}:{port}", scheme="http", allow_bucket_creation=True)
        fs.create_dir("music")
        for p in sorted(songs.rglob("*.wav")):
            with fs.open_output_stream(f"music/in/{p.relative_to(songs).as_posix()}") as out:
                out.write(p.read_bytes())
        yield fs
        storage._FILESYSTEMS.clear()
    server.stop()


def _objects(fs, prefix):
    found = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    return {f.path[len(prefix) + 1:]: fs.open_input_stream(f.path).read() for f in found
            if f.type == pafs.FileType.File}


def test_compress_reads_and_writes_s3_with_the_serial_paths_bytes(runner, local_ray, songs, bucket, tmp_path):
    on_ray = runner.invoke(cli, ["compress", "--ray", "-r", "s3://music/in", "--output-dir", "s3://music/mz"])
    serial = runner.invoke(cli, ["compress", "-r", str(songs), "--output-dir", str(tmp_path / "serial"), "-j", "1"])
    assert on_ray.exit_code == serial.exit_code == 1  # the corrupt input, in both
    expected = {p.relative_to(tmp_path / "serial").as_posix(): p.read_bytes()
                for p in (tmp_path / "serial").rglob("*.mz")}
    assert _objects(bucket, "music/mz") == expected and len(expected) == 5
    failures = [ln for ln in on_ray.output.splitlines() if ln.startswith("muzip: ")]
    assert len(failures) == 1 and failures[0].startswith("muzip: s3://music/in/broken.wav: corrupt or truncated")
    assert "s3://music/in/b/s1.wav -> s3://music/mz/b/s1.mz: " in on_ray.output
    assert "muzip-stage-" not in on_ray.output and "Traceback" not in on_ray.output
    again = runner.invoke(cli, ["compress", "--ray", "-r", "s3://music/in", "--output-dir", "s3://music/mz"])
    assert again.exit_code == 1 and again.output.count("exists, skipped") == 5
    assert "s3://music/mz/s0.mz: exists, skipped" in again.output
    assert _objects(bucket, "music/mz") == expected  # nothing rewritten, nothing temporary left


def test_s3_inputs_to_a_local_folder(runner, local_ray, bucket, tmp_path):
    res = runner.invoke(cli, ["compress", "s3://music/in/s0.wav", "s3://music/in/b/s1.wav",
                              "--output-dir", str(tmp_path / "out"), "--ray"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s0.mz", "s1.mz"]
    res = runner.invoke(cli, ["compress", "s3://music/in/s0.wav", "--output-dir", "s3://nobucket/mz", "--ray"])
    assert (res.exit_code, res.output) == (2, "muzip: s3://nobucket: no such bucket\n")


def test_a_refused_upload_is_the_outputs_failure(songs, monkeypatch):
    """No "-> OUTPUT" line and no bytes out for an output the store refused; the failure names the output."""
    def refuse(local, uri):
        raise storage.StorageError(f"{uri}: cannot write (Access Denied)")
    monkeypatch.setattr(storage, "upload", refuse)
    from muzip.cli.batch import run_job
    from muzip.cli.codec_jobs import CompressOptions, compress_one
    from muzip.cli.plan import Item
    from muzip.cli.staged import StagedJob
    src = str(songs / "s0.wav")
    outcome = run_job(StagedJob(compress_one), Item(src, "s3://music/mz/s0.mz"), CompressOptions(24, False, False, None),
                      lambda total, desc: __import__("contextlib").nullcontext(type("B", (), {"update": print})))
    assert outcome.failed and outcome.bytes_out == 0
    assert outcome.messages == [("fail", "s3://music/mz/s0.mz: cannot write (Access Denied)")]


def test_object_store_paths_need_ray_and_a_store_that_answers(runner, songs, tmp_path, monkeypatch):
    res = runner.invoke(cli, ["compress", "-r", "s3://music/in", "--output-dir", str(tmp_path)])
    assert res.exit_code == 2 and "s3:// and gs:// inputs and output folders need --ray" in res.output
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "muzip")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "muzip-test")
    monkeypatch.setattr(storage, "_FILESYSTEMS", {})
    res = runner.invoke(cli, ["compress", "--ray", "-r", str(songs), "--output-dir", "s3://music/mz"])
    lines = res.output.strip().splitlines()
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("muzip: s3://music: ") \
        and "Could not connect" in lines[0], res.output


def _rows(db):
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT t.path, t.size, t.duration, t.embedding, d.value FROM tracks t "
                       "JOIN descriptors d ON d.track = t.id ORDER BY t.path").fetchall()
    con.close()
    return rows


def test_index_reads_s3_into_a_catalog_of_uris(runner, local_ray, songs, bucket, tmp_path, monkeypatch):
    """The serial catalog's records, each named by its URI; a re-run skips them; `similar URI` finds the
    track; --prune drops an object that is gone; a missing URI is reported as a missing path is."""
    import json
    with bucket.open_output_stream("music/extra/s0.wav") as out:
        out.write((songs / "s0.wav").read_bytes())
    db, local_db = str(tmp_path / "s3.db"), str(tmp_path / "local.db")
    res = runner.invoke(cli, ["index", "s3://music/in", "s3://music/extra/s0.wav", "--db", db, "--ray"])
    (tmp_path / "extra").mkdir()  # the same six files, on the local disk
    (tmp_path / "extra" / "s0.wav").write_bytes((songs / "s0.wav").read_bytes())
    local = runner.invoke(cli, ["index", "-j", "1", str(songs), str(tmp_path / "extra"), "--db", local_db])
    assert res.exit_code == local.exit_code == 1, res.output
    failures = [ln for ln in res.output.splitlines() if ln.startswith("muzip: ")]
    assert len(failures) == 1 and failures[0].startswith("muzip: s3://music/in/broken.wav: corrupt or truncated")
    assert "muzip-stage-" not in res.output and "Traceback" not in res.output
    on_s3, serial = _rows(db), _rows(local_db)
    assert [r[0] for r in on_s3] == ["s3://music/extra/s0.wav", "s3://music/in/b/s1.wav", "s3://music/in/b/s3.wav",
                                     "s3://music/in/s0.wav", "s3://music/in/s2.wav", "s3://music/in/s4.wav"]
    local_name = {"s3://music/in/" + r[0][len(str(songs)) + 1:]: r[1:] for r in serial}
    local_name["s3://music/extra/s0.wav"] = next(r[1:] for r in serial if r[0].endswith("extra/s0.wav"))
    assert len(serial) == 6 and all(r[1:] == local_name[r[0]] for r in on_s3)  # sizes, embeddings, descriptors
    again = runner.invoke(cli, ["index", "s3://music/in", "s3://music/extra/s0.wav", "--db", db, "--json", "--ray"])
    summary = json.loads(again.output.strip().splitlines()[-1])
    assert (summary["indexed"], summary["unchanged"], summary["failed"]) == (0, 6, 1)
    hit = runner.invoke(cli, ["similar", "s3://music/extra/s0.wav", "--db", db, "-n", "1", "--json"])
    assert hit.exit_code == 0 and json.loads(hit.output)[0]["path"] == "s3://music/in/s0.wav"  # its copy
    bucket.delete_file("music/extra/s0.wav")
    pruned = runner.invoke(cli, ["index", "s3://music/in", "--db", db, "--prune", "--json", "--ray"])
    summary = json.loads(pruned.output.strip().splitlines()[-1])
    assert (summary["pruned"], summary["tracks"]) == (0, 6)  # only under the paths given (session 61)
    pruned = runner.invoke(cli, ["index", "s3://music/in", "s3://music/extra", "--db", db, "--prune", "--json",
                                 "--ray"])  # a prefix holding nothing now: not found, its tracks kept
    summary = json.loads(pruned.output.strip().splitlines()[-1])
    assert (summary["pruned"], summary["tracks"]) == (0, 6)
    import muzip.scale.storage as storage
    asked = []  # the listing in hand says what is gone: no request per catalogued object (session 62)
    monkeypatch.setattr(storage, "exists", lambda uri, _real=storage.exists: asked.append(uri) or _real(uri))
    pruned = runner.invoke(cli, ["index", "s3://music", "--db", db, "--prune", "--json", "--ray"])  # the bucket's
    summary = json.loads(pruned.output.strip().splitlines()[-1])
    assert summary["pruned"] == 1 and "s3://music/extra/s0.wav" not in [r[0] for r in _rows(db)] and asked == []
    res = runner.invoke(cli, ["index", "s3://music/in", "--db", db])
    assert res.exit_code == 2 and "s3:// and gs:// inputs need --ray" in res.output
    res = runner.invoke(cli, ["index", "s3://nobucket/in", "--db", db, "--ray"])
    assert res.exit_code == 1 and res.output.startswith("muzip: s3://nobucket/in: no such file or folder\n")
