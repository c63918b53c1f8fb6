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
