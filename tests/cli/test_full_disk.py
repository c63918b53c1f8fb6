"""A full disk (here a file size limit, which fails writes as a full disk does) while writing an output: one line
naming the output, exit 1, nothing left behind (session 56's review: a hidden .part file stayed, and a FLAC
output printed libsndfile's callback traceback)."""

import os
import resource
import subprocess
import sys

import pytest

from conftest import CLIP
from terminal import ENV

LIMIT = 300_000  # bytes a process may write to one file


def _limited():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "-b", "64", str(CLIP), "-o", str(root / "a.mz")],
                   check=True, env=ENV)
    return root / "a.mz"


@pytest.mark.parametrize("out", ["out.wav", "out.flac"])  # muzip's own writer; libsndfile's, through callbacks
def test_decompress_into_a_full_disk(tmp_path, coded, out):
    p = subprocess.run([sys.executable, "-m", "muzip", "decompress", "-q", str(coded), "-o", out], cwd=tmp_path,
                       env=ENV, capture_output=True, text=True, preexec_fn=_limited, timeout=120)
    assert p.returncode == 1 and p.stderr == f"muzip: {out}: cannot write (File too large)\n", p.stderr
    assert os.listdir(tmp_path) == []


def test_compress_into_a_full_disk(tmp_path):
    import numpy as np
    import soundfile as sf
    x, sr = sf.read(CLIP, dtype="float32")
    sf.write(tmp_path / "in.wav", np.tile(x, (10, 1)), sr)  # 2 minutes: a 64-kbps .mz of ~1 MB
    p = subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "-b", "64", "in.wav", "-o", "out.mz"],
                       cwd=tmp_path, env=ENV, capture_output=True, text=True, preexec_fn=_limited, timeout=300)
    assert p.returncode == 1 and p.stderr == "muzip: out.mz: cannot write (File too large)\n", p.stderr
    assert os.listdir(tmp_path) == ["in.wav"]


@pytest.mark.parametrize("out", ["out.mp3", "out.flac"])
def test_a_full_disk_while_the_tags_are_written(tmp_path, out):
    """The audio fits, its 400-kB cover does not: mutagen's error was swallowed as a tag problem, and the output
    published without its tags (session 56's second review)."""
    import numpy as np
    import soundfile as sf
    from mutagen.flac import FLAC, Picture
    sf.write(tmp_path / "in.flac", np.zeros((44100, 2), np.float32), 44100)
    f = FLAC(tmp_path / "in.flac")
    pic = Picture()
    pic.type, pic.mime, pic.data = 3, "image/jpeg", b"\xff\xd8\xff" + bytes(400_000)
    f.add_picture(pic)
    f.save()
    subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "in.flac", "-o", "a.mz"], cwd=tmp_path,
                   check=True, env=ENV)
    p = subprocess.run([sys.executable, "-m", "muzip", "decompress", "-q", "a.mz", "-o", out], cwd=tmp_path,
                       env=ENV, capture_output=True, text=True, preexec_fn=_limited, timeout=120)
    assert p.returncode == 1 and p.stderr == f"muzip: {out}: cannot write (File too large)\n", p.stderr
    assert sorted(os.listdir(tmp_path)) == ["a.mz", "in.flac"]


def test_no_room_to_spool_for_standard_output_is_said_as_such(tmp_path, coded):
    """FLAC to a pipe is spooled in $TMPDIR first: a full $TMPDIR was said as standard output's failure."""
    p = subprocess.run(f'"{sys.executable}" -m muzip decompress -q -c --format flac "{coded}" | cat > /dev/null',
                       shell=True, cwd=tmp_path, env=dict(ENV, TMPDIR=str(tmp_path)), capture_output=True,
                       text=True, preexec_fn=_limited, timeout=120)
    assert p.stderr == f"muzip: standard output: no room for the file's spooled copy in {tmp_path} (File too " \
        "large); set TMPDIR to a folder with room\n", p.stderr
    assert os.listdir(tmp_path) == []
