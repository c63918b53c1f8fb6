"""-q silences what C libraries print on stderr too: mpg123's "Warning: Xing stream size off ..." and
"Note: Illegal Audio-MPEG-Header ..." leaked through it (issue 23, item 8). Errors are still one line."""

import os
import struct
import subprocess
import sys

import pytest

from muzip.audio import AudioSink, can_write

from conftest import sine

ENV = dict(os.environ, PYTHONUNBUFFERED="1")
ENV.pop("MUZIP_BACKEND", None)


def _mp3_bytes(seconds=2):
    import io
    buf = io.BytesIO()
    with AudioSink(buf, 44100, 2, "mp3") as sink:
        sink.write(sine(440, seconds, 44100, 2))
    data = buf.getvalue()
    return data[data.find(b"\xff\xfb"):] if b"\xff\xfb" in data else data


def _xing_mp3(path):
    """An MP3 whose Xing header states three times its real size: mpg123 warns when it opens it."""
    data = _mp3_bytes()
    i = data.find(b"\xff\xfb")
    header = bytearray(data[i:i + 4])
    header[2] &= ~0x02  # no padding bit
    bitrate = {9: 128000, 10: 160000, 11: 192000, 12: 224000, 13: 256000, 14: 320000, 8: 112000, 7: 96000,
               6: 80000, 5: 64000, 4: 56000, 3: 48000, 2: 40000, 1: 32000}[header[2] >> 4]
    size = 144 * bitrate // 44100
    frame = bytes(header) + b"\0" * 32 + b"Xing" + struct.pack(">III", 3, 100, len(data) * 3)
    path.write_bytes(frame + b"\0" * (size - len(frame)) + data[i:])
    return path


def muzip_lines_only(stderr):
    """-q leaves only muzip's own warnings and errors (its Xing header is wrong: a length warning is right)."""
    return all(ln.startswith("muzip: ") for ln in stderr.splitlines()) and "Xing" not in stderr


def _run(args, cwd):
    return subprocess.run([sys.executable, "-m", "muzip", *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def mp3s(tmp_path):
    if not can_write("mp3"):
        pytest.skip("this libsndfile cannot write MP3")
    _xing_mp3(tmp_path / "xing.mp3")
    probe = subprocess.run([sys.executable, "-c", "import soundfile as sf, sys; sf.SoundFile(sys.argv[1])",
                            str(tmp_path / "xing.mp3")], capture_output=True, text=True)
    if "Xing" not in probe.stderr:
        pytest.skip("this mpg123 does not warn about the Xing header")
    data = _mp3_bytes(seconds=4)
    half = len(data) // 2
    (tmp_path / "junk.mp3").write_bytes(data[:half] + b"\0" * 3000 + b"\xff\xfb\x90\x00" * 50 + data[half:])
    return tmp_path


def test_quiet_compress_prints_nothing_from_mpg123(mp3s):
    loud = _run(["compress", "xing.mp3"], mp3s)
    assert loud.returncode in (0, 3) and "xing.mp3 -> xing.mz" in loud.stderr
    assert "Xing" in loud.stderr  # without -q mpg123 still speaks (muzip/audio/read.py would have to mute it)
    r = _run(["compress", "-q", "-f", "xing.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr


def test_quiet_parallel_and_restore_print_nothing_from_mpg123(mp3s):
    (mp3s / "b.mp3").write_bytes((mp3s / "xing.mp3").read_bytes())
    r = _run(["compress", "-q", "-j", "2", "xing.mp3", "b.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr
    r = _run(["restore", "-q", "--model", "none", "xing.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr


def test_quiet_failure_is_still_one_line(mp3s):
    r = _run(["compress", "-q", "junk.mp3"], mp3s)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [ln for ln in r.stderr.splitlines() if ln.startswith("muzip: junk.mp3: ")]
    assert len(r.stderr.splitlines()) == 1, r.stderr
