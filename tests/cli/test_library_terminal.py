"""`muzip map` at a terminal (issue 23): a status line while it works, on stderr only when stderr is a
terminal; nothing extra on a pipe. The catalog is written by hand: no audio, no embedder."""

import subprocess
import sys

import numpy as np
import pytest

from muzip.library.catalog import Catalog

from terminal import ENV, run_in_pty


def _catalog(path, n=30, dim=16):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((n, dim))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype("<f4")
    with Catalog(str(path)) as cat:
        cat.put_many([{"path": f"/lib/t{i}.mz", "size": 1, "mtime": 0.0, "duration": 1.0, "rate": 44100, "channels": 2,
                       "tags": {}, "model": "muzip-v1", "source": "mz", "dim": dim, "embedding": e.tobytes()}
                      for i, e in enumerate(emb)], "test-embedder:0")


def test_map_shows_a_status_line_at_a_terminal_only(tmp_path):
    db = tmp_path / "lib.db"
    _catalog(db)
    code, screen = run_in_pty(["map", "--db", db, "-o", "a.png"], tmp_path)
    assert code == 0, screen
    for step in ("reading", "clustering 30 tracks", "placing 30 tracks (t-SNE)", "drawing"):
        assert f"muzip: map: {step}" in screen, screen
    assert "\r\x1b[K" in screen  # rewritten in place, and wiped before the last line
    assert screen.rstrip().endswith("a.png: 30 tracks, " + screen.rstrip().rsplit(", ", 1)[-1])
    p = subprocess.run([sys.executable, "-m", "muzip", "map", "--db", str(db), "-o", "b.png"], cwd=tmp_path, env=ENV,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout == ""
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("b.png: 30 tracks, "), p.stderr
    assert (tmp_path / "a.png").read_bytes()[:4] == (tmp_path / "b.png").read_bytes()[:4] == b"\x89PNG"


def test_an_interrupted_map_wipes_its_status_line(tmp_path):
    """Ctrl-C in `map` printed `muzip: map: drawing a.png...^Cmuzip: interrupted` on one line (a first-use
    review); here the t-SNE sends its own process the SIGINT that Ctrl-C sends."""
    db = tmp_path / "lib.db"
    _catalog(db)
    code = ("import os, signal, sys, time; import muzip.library.tsne_map as T\n"
            "def stop(*a, **k): os.kill(os.getpid(), signal.SIGINT); time.sleep(30)\n"
            "T.tsne_2d = stop; sys.argv[0] = 'muzip'\n"
            "from muzip.cli import main; main()")
    status, screen = run_in_pty(["map", "--db", db, "-o", "a.png"], tmp_path, code=code)
    assert status == 130, screen
    assert "muzip: map: placing 30 tracks (t-SNE)" in screen
    assert screen.replace("\r\n", "\n").split("\n")[-2].split("\r")[-1] in ("muzip: interrupted", "\x1b[Kmuzip: interrupted")
    assert not (tmp_path / "a.png").exists()


def test_index_prints_a_failure_above_its_bar(tmp_path):
    """A bad file in `muzip index` at a terminal: its line starts a line of its own (tqdm.write), never
    glued to the end of the progress bar."""
    import shutil

    from tests.conftest import CLIP
    (tmp_path / "m").mkdir()
    for i in range(3):
        shutil.copy(CLIP, tmp_path / "m" / f"t{i}.ogg")
    (tmp_path / "m" / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    code, screen = run_in_pty(["index", "m", "--db", "lib.db", "-j", "1"], tmp_path)
    assert code == 1, screen
    lines = screen.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert [ln for ln in lines if "bad.wav" in ln] == [ln for ln in lines if ln.startswith("muzip: ") and "bad.wav" in ln]
    assert any(ln.startswith("muzip: ") and "bad.wav" in ln for ln in lines), screen
    assert "lib.db: 3 indexed, 0 unchanged, 1 failed" in screen


@pytest.mark.parametrize("older", ["embed-v3.1", "embed-v4"])
def test_index_of_an_older_catalog_says_its_files_are_read_again(tmp_path, monkeypatch, older):
    """Upgrading the default embedder at a terminal to embed-v5 from embed-v3.1 (whose descriptors are shorter:
    no onset patterns) or from embed-v4 (as long, but another version of the patterns): a line before the bar
    says every file is read again, and it is. (Another projection of the same descriptors is re-projected
    instead: tests/library/test_reprojection.py.)"""
    import shutil

    from click.testing import CliRunner

    from muzip.cli import cli, library_cmds
    from muzip.defaults import DEFAULT_EMBEDDER
    from muzip.library import load_embedder
    from tests.conftest import CLIP
    assert DEFAULT_EMBEDDER == "embed-v5"
    (tmp_path / "m").mkdir()
    for i in range(2):
        shutil.copy(CLIP, tmp_path / "m" / f"t{i}.ogg")
    monkeypatch.setitem(library_cmds._STATE, "embedder", load_embedder(older))
    made = CliRunner().invoke(cli, ["index", str(tmp_path / "m"), "--db", str(tmp_path / "lib.db"), "-q", "-j", "1"])
    assert made.exit_code == 0, made.output
    code, screen = run_in_pty(["index", "m", "--db", "lib.db", "-j", "1"], tmp_path)
    assert code == 0, screen
    lines = [ln.strip() for ln in screen.replace("\r\n", "\n").replace("\r", "\n").split("\n") if ln.strip()]
    assert lines[0] == f"lib.db: 2 tracks indexed with {older}; embed-v5 reads them again", screen
    assert "lib.db: 2 indexed, 0 unchanged, 0 failed" in screen
    with Catalog(str(tmp_path / "lib.db"), create=False) as cat:
        assert [e.split(":")[0] for e in cat.embedders()] == [DEFAULT_EMBEDDER]
