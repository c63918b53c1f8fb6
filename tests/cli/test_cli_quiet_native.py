"""-q silences what C libraries print on stderr too: mpg123's "Warning: Xing stream size off ..." and
"Note: Illegal Audio-MPEG-Header ..." leaked through it (issue 23, item 8). Errors are still one line."""

import os
import subprocess
import sys

import pytest

from muzip.audio import can_write

from mp3_files import mp3_bytes, xing_mp3

ENV = dict(os.environ, PYTHONUNBUFFERED="1")
ENV.pop("MUZIP_BACKEND", None)


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
    xing_mp3(tmp_path / "xing.mp3")
    probe = subprocess.run([sys.executable, "-c", "import soundfile as sf, sys; sf.SoundFile(sys.argv[1])",
                            str(tmp_path / "xing.mp3")], capture_output=True, text=True)
    if "Xing" not in probe.stderr:
        pytest.skip("this mpg123 does not warn about the Xing header")
    data = mp3_bytes(seconds=4)
    half = len(data) // 2
    (tmp_path / "junk.mp3").write_bytes(data[:half] + b"\0" * 3000 + b"\xff\xfb\x90\x00" * 50 + data[half:])
    return tmp_path


def test_quiet_compress_prints_nothing_from_mpg123(mp3s):
    loud = _run(["compress", "xing.mp3"], mp3s)
    assert loud.returncode in (0, 3) and "xing.mp3 -> xing.mz" in loud.stderr
    assert "Xing" not in loud.stderr and "Warning:" not in loud.stderr, loud.stderr  # AudioSource mutes it anyway
    r = _run(["compress", "-q", "-f", "xing.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr


def test_quiet_parallel_and_restore_print_nothing_from_mpg123(mp3s):
    (mp3s / "b.mp3").write_bytes((mp3s / "xing.mp3").read_bytes())
    r = _run(["compress", "-q", "-j", "2", "xing.mp3", "b.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr
    r = _run(["restore", "-q", "--model", "none", "xing.mp3"], mp3s)
    assert r.returncode in (0, 3) and muzip_lines_only(r.stderr), r.stderr


def test_quiet_damage_is_said_in_muzips_lines_only(mp3s):
    """mpg123 gives up in junk.mp3's 3 kB of junk and prints its notes; muzip's frame walk finds the frames after
    it, and the junk (inserted: the file states its frame count, and none is missing) is left out (session 58)."""
    r = _run(["compress", "-q", "junk.mp3"], mp3s)
    assert r.returncode == 3
    assert r.stderr.splitlines() == [ln for ln in r.stderr.splitlines() if ln.startswith("muzip: warning: junk.mp3: ")]
    assert "3,200 bytes that hold no whole frame are left out" in r.stderr and "Illegal" not in r.stderr, r.stderr


def test_quiet_failure_is_still_one_line(mp3s, tmp_path):
    """An MP3 whose second half is no MPEG audio, without ffmpeg to try it: refused in one line, none of mpg123's."""
    data = (mp3s / "junk.mp3").read_bytes()
    (mp3s / "half.mp3").write_bytes(data[:len(data) // 3] + b"\x01" * 200_000)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python")
    env = dict(ENV, PATH=str(bin_dir))
    r = subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "half.mp3"], cwd=mp3s, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [ln for ln in r.stderr.splitlines() if ln.startswith("muzip: half.mp3: ")]
    assert len(r.stderr.splitlines()) == 1, r.stderr
