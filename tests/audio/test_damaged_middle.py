"""A file damaged in its middle. A FLAC is read whole: its bad frames silence, every other sample in its place,
one warning (muzip.audio.ffmpeg_resume, salvage); without ffmpeg it is refused as before (test_audio_damage).
An MP3, whose bad bytes mpg123 skips, is said to be damaged (muzip.audio.mpg123_notes)."""

import io
import shutil

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.cli import cli
from muzip.errors import MuzipError

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
needs_mp3 = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")


def _flac(rate=44100, channels=2, seconds=8, subtype="PCM_16", seed=0):
    rng = np.random.default_rng(seed)
    n = rate * seconds
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / rate)[:, None] + 0.1 * rng.standard_normal((n, channels))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), rate, format="FLAC", subtype=subtype)
    data = bytearray(buf.getvalue())
    return data, sf.read(io.BytesIO(bytes(data)), dtype="float32", always_2d=True)[0]


def _read(path):
    with AudioSource(str(path)) as src:
        return np.concatenate(list(src.blocks(3000))), src.warnings


@needs_ffmpeg
@pytest.mark.parametrize("rate,channels,subtype", [(44100, 2, "PCM_16"), (48000, 1, "PCM_24")])
def test_one_flipped_bit_costs_one_frame_not_the_file(tmp_path, rate, channels, subtype):
    data, whole = _flac(rate, channels, subtype=subtype)
    data[len(data) // 3] ^= 0x10
    (tmp_path / "bit.flac").write_bytes(bytes(data))
    got, warnings = _read(tmp_path / "bit.flac")
    assert got.shape == whole.shape  # nothing lost or added: the rest keeps its time
    wrong = np.nonzero(np.abs(got - whole).max(axis=1) > 0)[0]
    assert 0 < len(wrong) <= 4608 and wrong[-1] - wrong[0] < 4608  # one frame (4,096 samples here)
    assert not got[wrong[0]:wrong[-1] + 1].any()  # ...and it is silence, not a glitch
    assert len(warnings) == 1
    assert warnings[0].startswith("the FLAC data is damaged from ")
    assert "read with its 1 damaged frame as silence, the rest in time (libsndfile: " in warnings[0]
    at = float(warnings[0].split("damaged from ")[1].split(" s")[0])
    assert abs(at - wrong[0] / rate) < 0.01


@needs_ffmpeg
def test_a_burst_in_three_places_is_three_frames(tmp_path):
    data, whole = _flac()
    for where in (len(data) // 4, len(data) // 2, 2 * len(data) // 3):
        data[where:where + 2000] = bytes(2000)
    (tmp_path / "burst.flac").write_bytes(bytes(data))
    got, warnings = _read(tmp_path / "burst.flac")
    assert got.shape == whole.shape
    assert (np.abs(got - whole).max(axis=1) > 0).sum() <= 3 * 4096
    assert len(warnings) == 1 and "its 3 damaged frames as silence" in warnings[0]


@needs_ffmpeg
def test_damaged_flacs_only_ever_read_or_fail_in_one_line(tmp_path):
    """Seeded flips and bursts with ffmpeg salvaging (test_audio_damage fuzzes without it)."""
    base, whole = _flac(seconds=3, seed=3)
    rng = np.random.default_rng(7)
    for i in range(8):
        d = bytearray(base)
        for _ in range(int(rng.integers(1, 6))):
            a = int(rng.integers(len(d) // 8, len(d)))
            k = min(int(rng.integers(1, 800)), len(d) - a)
            d[a:a + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        p = tmp_path / f"m{i}.flac"
        p.write_bytes(bytes(d))
        try:
            got, warnings = _read(p)
        except MuzipError as e:
            assert "\n" not in str(e)
            continue
        assert np.isfinite(got).all() and len(got) <= len(whole)
        assert all("\n" not in w for w in warnings)


@needs_ffmpeg
def test_compress_says_so_and_the_decoded_file_keeps_its_length(runner, tmp_path):
    data, whole = _flac(seconds=6)
    data[len(data) // 2] ^= 0x04
    (tmp_path / "song.flac").write_bytes(bytes(data))
    r = runner.invoke(cli, ["compress", str(tmp_path / "song.flac")])
    assert r.exit_code == 3, r.output  # warned
    assert "warning: " in r.stderr and "song.flac: the FLAC data is damaged from " in r.stderr
    assert runner.invoke(cli, ["decompress", str(tmp_path / "song.mz")]).exit_code == 0
    assert sf.info(str(tmp_path / "song.wav")).frames == len(whole)


def _mp3(seconds=6):
    n = 44100 * seconds
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(n) / 44100)[:, None] + 0.1 * np.random.default_rng(5).random((n, 2))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), 44100, format="MP3", subtype="MPEG_LAYER_III")
    return bytearray(buf.getvalue())


@needs_mp3
def test_an_mp3_damaged_in_its_middle_is_said_to_be(tmp_path, capfd):
    data = _mp3()
    (tmp_path / "whole.mp3").write_bytes(bytes(data))
    at = len(data) // 2
    data[at:at + 600] = bytes(600)
    (tmp_path / "bad.mp3").write_bytes(bytes(data))
    whole, none = _read(tmp_path / "whole.mp3")
    got, warnings = _read(tmp_path / "bad.mp3")
    assert none == [] and len(got) < len(whole)
    assert len(warnings) == 1 and warnings[0].startswith("the MP3 data is damaged at byte ")
    assert f"(of {len(data):,}); mpg123 skipped " in warnings[0]
    assert abs(int(warnings[0].split("at byte ")[1].split(" ")[0].replace(",", "")) - at) < 2000
    assert "Illegal" not in capfd.readouterr().err  # mpg123's own notes still never reach the terminal


@needs_mp3
def test_what_follows_an_mp3s_audio_is_not_damage(tmp_path):
    data = _mp3(3) + b"TAG" + bytes(125) + b"junk at the end of the file" * 20
    (tmp_path / "tagged.mp3").write_bytes(bytes(data))
    _, warnings = _read(tmp_path / "tagged.mp3")
    assert not any("damaged" in w for w in warnings)
