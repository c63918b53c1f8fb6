"""MP3 files for the tests of every package: an MP3 whose Xing header lies (mpg123 prints a warning on fd 2
when it opens it), and plain LAME frames without any Xing/Info frame (libsndfile's length is then a guess)."""

import io
import struct

import numpy as np
import pytest

from conftest import sine


def mp3_bytes(seconds=2):
    """A stereo 44.1 kHz sine written by libsndfile (LAME, with its Info frame), from its first frame on."""
    from muzip.audio import AudioSink
    buf = io.BytesIO()
    with AudioSink(buf, 44100, 2, "mp3") as sink:
        sink.write(sine(440, seconds, 44100, 2))
    data = buf.getvalue()
    return data[data.find(b"\xff\xfb"):] if b"\xff\xfb" in data else data


def xing_mp3(path):
    """An MP3 whose Xing header states three times its real size: mpg123 warns when it opens it."""
    data = mp3_bytes()
    i = data.find(b"\xff\xfb")
    header = bytearray(data[i:i + 4])
    header[2] &= ~0x02  # no padding bit
    bitrate = {9: 128000, 10: 160000, 11: 192000, 12: 224000, 13: 256000, 14: 320000, 8: 112000, 7: 96000,
               6: 80000, 5: 64000, 4: 56000, 3: 48000, 2: 40000, 1: 32000}[header[2] >> 4]
    size = 144 * bitrate // 44100
    frame = bytes(header) + b"\0" * 32 + b"Xing" + struct.pack(">III", 3, 100, len(data) * 3)
    path.write_bytes(frame + b"\0" * (size - len(frame)) + data[i:])
    return path


def lame_mp3_bytes(seconds=6, rate=44100, channels=2, kbps=128):
    """CBR MP3 frames straight from lameenc: no Xing/Info frame, so no stated length (skips without lameenc)."""
    lameenc = pytest.importorskip("lameenc")
    enc = lameenc.Encoder()
    enc.set_bit_rate(kbps)
    enc.set_in_sample_rate(rate)
    enc.set_channels(channels)
    enc.set_quality(7)
    pcm = (np.clip(sine(440, seconds, rate, channels), -1, 1) * 32767).astype("<i2")
    return bytes(enc.encode(pcm.tobytes()) + enc.flush())
