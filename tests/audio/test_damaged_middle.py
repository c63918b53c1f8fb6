"""An MP3 damaged in its middle, whose bad bytes mpg123 skips, is said to be damaged (muzip.audio.mpg123_notes).
(A FLAC damaged there is refused: tests/audio/test_audio_damage.py.)"""

import io

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.cli import cli

needs_mp3 = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile writes no MP3")


def _read(path):
    with AudioSource(str(path)) as src:
        return np.concatenate(list(src.blocks(3000))), src.warnings


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


@needs_mp3
def test_compress_of_a_damaged_mp3_warns_and_exits_3(runner, tmp_path):
    data = _mp3(4)
    data[len(data) // 2:len(data) // 2 + 600] = bytes(600)
    (tmp_path / "song.mp3").write_bytes(bytes(data))
    r = runner.invoke(cli, ["compress", str(tmp_path / "song.mp3")])
    assert r.exit_code == 3 and "song.mp3: the MP3 data is damaged at byte " in r.stderr
    assert (tmp_path / "song.mz").exists()
