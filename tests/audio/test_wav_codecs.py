"""WAVs that hold no PCM (session 61): an extensible fmt chunk naming MP3, ADPCM and G.722 cut short, MPEG audio
in a WAV cut mid-frame. Each was read wrong or refused: pydub read the extensible MP3 as PCM (no sample width:
"corrupt"; with one, noise), a cut ADPCM or G.722 WAV was read short without a word (its bytes state no frame
count), and a cut MP3-in-WAV was "corrupt" where ffmpeg met the partial last frame."""

import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.audio.probe import riff_data_cut, riff_format

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="needs ffmpeg")
_GUID_TAIL = bytes.fromhex("0000" "0000" "1000" "800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_*, after the tag


def _ffmpeg(*args):
    return subprocess.run(["ffmpeg", "-v", "error", "-y", *map(str, args)], capture_output=True, check=True).stdout


def _source(tmp_path, seconds=4, rate=44100):
    n = rate * seconds
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t)) / 1.5
    sf.write(tmp_path / "src.wav", np.stack([x, x[::-1]], 1), rate)
    return tmp_path / "src.wav"


def _extensible(data: bytes) -> bytes:
    """The WAV `data` with its fmt chunk rewritten as WAVE_FORMAT_EXTENSIBLE naming the same codec."""
    pos = 12
    while data[pos:pos + 4] != b"fmt ":
        pos += 8 + struct.unpack("<I", data[pos + 4:pos + 8])[0]
    size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
    body = data[pos + 8:pos + 8 + size]
    tag, channels = struct.unpack("<HH", body[:4])
    ext = struct.pack("<H", 0xFFFE) + body[2:16] + struct.pack("<HHIH", 22, 0, 3 if channels == 2 else 4, tag) \
        + _GUID_TAIL
    out = data[:pos] + b"fmt " + struct.pack("<I", len(ext)) + ext + data[pos + 8 + size + (size & 1):]
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def _read(path):
    with AudioSource(str(path)) as src:
        got = np.concatenate(list(src.blocks(1 << 14)))
        return got, src.warnings


def test_an_extensible_wav_holding_mp3_is_read_as_its_mp3(tmp_path):
    _ffmpeg("-i", _source(tmp_path), "-c:a", "libmp3lame", "-b:a", "128k", tmp_path / "mp3.wav")
    (tmp_path / "x.wav").write_bytes(_extensible((tmp_path / "mp3.wav").read_bytes()))
    with open(tmp_path / "x.wav", "rb") as f:
        assert riff_format(f.fileno()) == (0x55, True)
    want = np.frombuffer(_ffmpeg("-i", tmp_path / "mp3.wav", "-f", "f32le", "-"), "<f4").reshape(-1, 2)
    got, warned = _read(tmp_path / "x.wav")
    assert warned == [] and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4)  # its music, not its bytes read as PCM


@pytest.mark.parametrize("codec, rate", [("adpcm_ima_wav", 44100), ("adpcm_ms", 44100), ("g722", 16000),
                                         ("libmp3lame", 44100)])
def test_a_wav_of_another_codec_cut_short_is_said_cut(tmp_path, codec, rate):
    _ffmpeg("-i", _source(tmp_path, rate=rate), "-c:a", codec, tmp_path / "whole.wav")
    whole, warned = _read(tmp_path / "whole.wav")
    assert warned == [] and abs(len(whole) - 4 * rate) < rate // 10
    data = (tmp_path / "whole.wav").read_bytes()
    for share in (0.5, 0.7, 0.93):  # anywhere in a frame: a partial last MPEG frame was "corrupt"
        (tmp_path / "cut.wav").write_bytes(data[:int(len(data) * share)])
        with open(tmp_path / "cut.wav", "rb") as f:
            stated, held = riff_data_cut(f.fileno())
        assert held < stated < len(data)
        got, warned = _read(tmp_path / "cut.wav")
        assert len(warned) == 1 and ("cut short" in warned[0] or "header promises" in warned[0]), (share, warned)
        assert 0.3 * len(whole) < len(got) < 0.97 * len(whole)


def test_a_whole_wav_or_one_of_unknown_length_is_not_said_cut(tmp_path):
    src = _source(tmp_path)
    with open(src, "rb") as f:
        assert riff_data_cut(f.fileno()) is None and riff_format(f.fileno()) == (1, False)
    data = bytearray(src.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # a streaming writer's data size: unknown
    (tmp_path / "streamed.wav").write_bytes(bytes(data[:len(data) // 2]))
    with open(tmp_path / "streamed.wav", "rb") as f:
        assert riff_data_cut(f.fileno()) is None


def test_damage_in_the_middle_of_a_cut_mpeg_wav_is_not_taken_for_the_cut(tmp_path):
    """The cut excused every error ffmpeg found, so 2,000 random bytes a third of the way in were said only as a
    cut at the end (a review of session 61). Only ffmpeg's word for a frame cut off is the cut's."""
    from muzip.errors import AudioReadError
    _ffmpeg("-i", _source(tmp_path), "-c:a", "libmp3lame", "-b:a", "128k", tmp_path / "mp3.wav")
    data = bytearray((tmp_path / "mp3.wav").read_bytes())
    at = len(data) // 3
    data[at:at + 2000] = np.random.default_rng(1).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    cut = bytes(data[:int(len(data) * 0.8)])
    (tmp_path / "midcut.wav").write_bytes(cut)
    with pytest.raises(AudioReadError, match="corrupt or truncated WAV data"):
        _read(tmp_path / "midcut.wav")
    (tmp_path / "midcut_x.wav").write_bytes(_extensible(cut))  # read whole by ffmpeg: both said
    _, warned = _read(tmp_path / "midcut_x.wav")
    assert len(warned) == 2 and "(cut short)" in warned[0] and "ffmpeg found the data damaged" in warned[1], warned
