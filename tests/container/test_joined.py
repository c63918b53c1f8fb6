"""Two .mz files joined with `cat` (session 56): the first is read, and that is what is said, with where the
second starts. It used to be reported as a damaged index or trailer, with a bitrate over both files' bytes."""

import io
from pathlib import Path

import numpy as np
import soundfile as sf
from click.testing import CliRunner

from muzip.cli import cli
from muzip.cli.common import EXIT_WARN
from muzip.codec.verify import INDEX_DAMAGED, verify_file
from muzip.container import MAGIC, joined_message, read_info

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def _joined(tmp_path):
    a, b = (GOLDEN / "muzip-v2.7.mz").read_bytes(), (GOLDEN / "muzip-v2.6.mz").read_bytes()
    (tmp_path / "a.mz").write_bytes(a)
    (tmp_path / "ab.mz").write_bytes(a + b)
    return a, tmp_path / "ab.mz"


def test_a_joined_file_is_read_as_its_first_and_said_to_be_joined(tmp_path):
    a, path = _joined(tmp_path)
    alone, info = read_info(io.BytesIO(a)), read_info(open(path, "rb"))
    assert info["joined_at"] == len(a) and not info["index_damaged"] and not info["truncated"]
    assert info["duration_s"] == alone["duration_s"] and info["file_size"] == path.stat().st_size
    assert info["actual_bitrate_bps"] == alone["actual_bitrate_bps"]  # its own bytes, not both files'
    with open(path, "rb") as f:
        assert verify_file(f).warnings == [joined_message(len(a))]
    assert "head -c " + str(len(a)) in joined_message(len(a))


def test_the_commands_say_so_and_decode_the_first(tmp_path):
    a, path = _joined(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["test", str(path)])
    assert r.exit_code == EXIT_WARN and joined_message(len(a)) in r.stderr and "damaged" not in r.stderr, r.output
    r = runner.invoke(cli, ["info", str(path)])
    assert r.exit_code == EXIT_WARN and f"another muzip file follows at byte {len(a):,}" in r.stdout, r.output
    for name in ("ab.mz", "a.mz"):
        r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / name), "-o", str(tmp_path / (name + ".wav"))])
        assert r.exit_code == (EXIT_WARN if name == "ab.mz" else 0), r.output
    assert np.array_equal(sf.read(tmp_path / "ab.mz.wav")[0], sf.read(tmp_path / "a.mz.wav")[0])


def test_other_bytes_after_the_end_are_still_damage(tmp_path):
    a = (GOLDEN / "muzip-v2.7.mz").read_bytes()
    for tail in (MAGIC[:3], MAGIC + b"junk", b"junk after the trailer"):
        with io.BytesIO(a + tail) as f:
            result = verify_file(f)
        assert result.warnings == [INDEX_DAMAGED] and read_info(io.BytesIO(a + tail))["joined_at"] is None


def test_a_decoded_files_mark_states_its_own_bitrate_joined_or_cut(tmp_path):
    """The rate in a decoded WAV's software note was the file's size over its header's length: a joined file's
    counted both files' bytes, a cut one's was low by the share cut off (session 61)."""
    from muzip.audio import AudioSource
    from muzip.audio.tags import read_decoded_mark
    a, path = _joined(tmp_path)
    (tmp_path / "cut.mz").write_bytes(a[:len(a) * 2 // 3])
    runner = CliRunner()
    marks = {}
    for name in ("a.mz", "ab.mz", "cut.mz"):
        out = tmp_path / (name + ".wav")
        r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / name), "-o", str(out)])
        assert r.exit_code in (0, EXIT_WARN), r.output
        with AudioSource(str(out)) as src:
            marks[name] = read_decoded_mark(src.info.software)
    alone = read_info(io.BytesIO(a))["actual_bitrate_bps"] / 1000
    assert marks["a.mz"] == marks["ab.mz"] and abs(marks["a.mz"][1] - alone) < 0.06
    assert abs(marks["cut.mz"][1] - alone) < 0.15 * alone, marks  # size over the header's length: 2/3 of it
