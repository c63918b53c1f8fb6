"""Two tagged MP3s joined with `cat` (session 61): both are read, as players play them; the second's ID3 tag in
the middle, where ffmpeg says "Header missing", is said as a join, not quoted as damage."""

import shutil
import subprocess

import numpy as np
import pytest

from muzip.audio import AudioSource
from muzip.audio.mp3_frames import joined_mp3_at


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_two_tagged_mp3s_joined_are_read_whole_and_said_joined(tmp_path):
    for name, seconds, f in (("a", 5, 440), ("b", 3, 660)):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=f={f}:d={seconds}", "-metadata",
                        f"title={name}", "-c:a", "libmp3lame", "-b:a", "128k", str(tmp_path / f"{name}.mp3")],
                       check=True)
    a = (tmp_path / "a.mp3").read_bytes()
    (tmp_path / "ab.mp3").write_bytes(a + (tmp_path / "b.mp3").read_bytes())
    with open(tmp_path / "ab.mp3", "rb") as f:
        assert joined_mp3_at(f.fileno()) == len(a)
    with open(tmp_path / "a.mp3", "rb") as f:
        assert joined_mp3_at(f.fileno()) is None
    with AudioSource(str(tmp_path / "ab.mp3")) as src:
        x = np.concatenate(list(src.blocks(1 << 14)))
        warned = src.warnings
    assert abs(len(x) / 44100 - 8) < 0.1
    assert warned == [f"another MP3 follows the first's 5.000 s, with its own tags from byte {len(a):,} (files "
                      "joined with `cat`?); read on by ffmpeg"], warned
