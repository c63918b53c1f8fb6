"""An AAC M4A decodes to its stated length (issue 23, item 8): ffmpeg 5 hands over the encoder's padding at
the end (a 10.000 s source came back 10.008 s long), although the MP4 edit list says 10.000 s."""

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from muzip.audio.probe import MAX_END_PADDING, stated_frames, trim_to_stated

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


@pytest.fixture(scope="module")
def ten_second_m4a(tmp_path_factory):
    if not HAVE_FFMPEG:
        pytest.skip("ffmpeg not installed")
    folder = tmp_path_factory.mktemp("m4a")
    noise = (np.random.default_rng(1).standard_normal((441000, 2)) * 0.2).astype(np.float32)
    sf.write(folder / "ten.wav", noise, 44100)
    m4a = folder / "ten.m4a"
    made = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(folder / "ten.wav"), "-c:a", "aac",
                           "-b:a", "128k", str(m4a)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this ffmpeg cannot encode AAC ({made.stderr.strip()[-200:]})")
    return m4a


def test_trim_to_stated_takes_only_an_encoders_padding():
    assert trim_to_stated(441344, 441000) == 441000  # AAC: the last frame's padding
    assert trim_to_stated(441000, 441000) == 441000
    assert trim_to_stated(441000 + MAX_END_PADDING + 1, 441000) == 441000 + MAX_END_PADDING + 1  # a wrong header
    assert trim_to_stated(440000, 441000) == 440000  # shorter than stated: all of it (the reader warns)
    assert trim_to_stated(441344, None) == 441344


def test_stated_frames_without_ffprobe_or_of_junk(tmp_path, monkeypatch):
    (tmp_path / "junk.m4a").write_bytes(b"not an mp4" * 100)
    assert stated_frames(str(tmp_path / "junk.m4a")) is None
    assert stated_frames(str(tmp_path / "missing.m4a")) is None
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert stated_frames(str(tmp_path / "junk.m4a")) is None


def test_an_m4a_states_its_exact_length(ten_second_m4a):
    assert stated_frames(str(ten_second_m4a)) == 441000


def test_an_m4a_reads_back_at_its_exact_length(ten_second_m4a):
    from muzip.audio import AudioSource
    with AudioSource(str(ten_second_m4a)) as src:
        frames = sum(len(b) for b in src.blocks(1 << 16))
        assert src.info.num_samples == 441000
    assert frames == 441000
