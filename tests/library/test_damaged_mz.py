"""A .mz with a damaged frame is described from its other frames, and said so (session 55's review: `index` and
`classify predict` took it without a word, where `eval` and `test` report the frame)."""

from pathlib import Path

import pytest

from muzip.cli import cli

CLIP = Path(__file__).resolve().parents[1] / "data" / "knolls_excerpt.ogg"


@pytest.mark.parametrize("model", ["muzip-v2.7", "muzip-v1"])  # coefficients read directly; decoded runs
def test_index_warns_of_a_damaged_frame(runner, tmp_path, model):
    mz = tmp_path / "a.mz"
    assert runner.invoke(cli, ["compress", "-q", "--model", model, str(CLIP), "-o", str(mz)]).exit_code == 0
    data = bytearray(mz.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 20] = bytes(b ^ 0xFF for b in data[middle:middle + 20])
    (tmp_path / "music").mkdir()
    (tmp_path / "music" / "flip.mz").write_bytes(bytes(data))
    r = runner.invoke(cli, ["test", str(tmp_path / "music" / "flip.mz")])
    assert r.exit_code == 1 and "CRC" in r.stderr  # the damage `test` reports ...
    r = runner.invoke(cli, ["index", "-q", "-j", "1", str(tmp_path / "music"), "--db", str(tmp_path / "lib.db")])
    assert r.exit_code == 3, r.output  # ... `index` says too, and describes the file from the other frames
    assert "flip.mz: 1 damaged frame (CRC) left out of its description" in r.stderr
