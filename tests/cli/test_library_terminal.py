"""`muzip map` at a terminal (issue 23): a status line while it works, on stderr only when stderr is a
terminal; nothing extra on a pipe. The catalog is written by hand: no audio, no embedder."""

import subprocess
import sys

import numpy as np

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
