"""Tests for muzip.audio / muzip.outputs (fast, no tensorflow)."""

import io
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

from muzip import audio
from muzip.audio import AudioSink, AudioSource, StreamResampler, downmix_to_stereo
from muzip.audio import ffmpeg_read
from muzip.errors import AudioFormatError, AudioReadError, MuzipError, OutputExistsError
from muzip.outputs import atomic_output, same_file, stdout_output

from conftest import NonSeekable

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None


def signal(n, channels, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000.0
    x = 0.3 * np.sin(2 * np.pi * 220 * t)[:, None] + 0.1 * rng.standard_normal((n, channels))
    return np.clip(x, -1, 1).astype(np.float32)


def read_all(src, block=1000):
    bs = list(src.blocks(block))
    for b in bs:
        assert b.dtype == np.float32 and b.ndim == 2 and 0 < b.shape[0] <= block
    if not bs:
        return np.zeros((0, src.info.channels), np.float32)
    return np.concatenate(bs)


def wav_bytes(x, rate, subtype="PCM_16", data_size=None):
    """WAV bytes via soundfile; data_size overrides the data-chunk (and RIFF) sizes."""
    buf = io.BytesIO()
    sf.write(buf, x, rate, format="WAV", subtype=subtype)
    b = bytearray(buf.getvalue())
    if data_size is not None:
        i = b.index(b"data")
        b[i + 4 : i + 8] = struct.pack("<I", data_size)
        b[4:8] = struct.pack("<I", 0xFFFFFFFF if data_size == 0xFFFFFFFF else data_size)
    return bytes(b)


class Dribble(io.RawIOBase):
    """A pipe-like reader returning at most 7 bytes per read()."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def read(self, n=-1):
        n = 7 if n < 0 else min(n, 7)
        b = self.data[self.pos : self.pos + n]
        self.pos += len(b)
        return b


# --- file round trips --------------------------------------------------------------------

@pytest.mark.parametrize("rate,ch", [(8000, 1), (44100, 2), (96000, 2)])
@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")])
def test_roundtrip_files(tmp_path, rate, ch, fmt, subtype):
    x = signal(rate // 2 + 123, ch)
    p = tmp_path / f"a.{fmt.lower()}"
    sf.write(p, x, rate, format=fmt, subtype=subtype)
    with AudioSource(str(p)) as src:
        assert (src.info.sample_rate, src.info.channels) == (rate, ch)
        assert src.info.format == fmt.lower()
        y = read_all(src, 777)
    assert src.info.num_samples == len(x) == len(y)
    if fmt == "OGG":
        assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] > 0.9
    else:
        np.testing.assert_allclose(y, x, atol=1 / 32768 + 1e-6)
        # blocks concatenate to exactly what a whole-file read gives
        np.testing.assert_array_equal(y, sf.read(p, dtype="float32", always_2d=True)[0])


def test_zero_length_wav_file(tmp_path):
    p = tmp_path / "z.wav"
    sf.write(p, np.zeros((0, 2), np.float32), 44100)
    with AudioSource(str(p)) as src:
        assert src.info.num_samples == 0 and src.info.channels == 2
        assert list(src.blocks(100)) == []


# --- errors ------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    p = str(tmp_path / "nope.wav")
    with pytest.raises(AudioReadError, match=r"nope\.wav: no such file"):
        AudioSource(p)


def test_empty_file(tmp_path):
    p = tmp_path / "e.wav"
    p.write_bytes(b"")
    with pytest.raises(AudioReadError, match=r"e\.wav: empty file"):
        AudioSource(str(p))


def test_not_audio(tmp_path):
    p = tmp_path / "song.xyz"
    p.write_bytes(b"this is just some text, definitely not audio\n" * 50)
    with pytest.raises(AudioReadError, match=r"song\.xyz: not an audio file") as e:
        AudioSource(str(p))
    assert "\n" not in str(e.value)
    named = tmp_path / "song.wav"  # named as audio: said so, not "corrupt or truncated WAV data" (session 56)
    named.write_bytes(p.read_bytes())
    with pytest.raises(AudioReadError, match=r"song\.wav: not audio \(named as WAV, but it does not start as WAV "
                                             r"data\)$"):
        AudioSource(str(named))


def test_rate_too_low(tmp_path):
    p = tmp_path / "low.wav"
    sf.write(p, signal(4000, 1), 4000)
    with pytest.raises(AudioFormatError, match="4000"):
        AudioSource(str(p))


def test_six_channels_refused_and_downmixed(tmp_path):
    n = 1000
    vals = np.array([0.5, -0.25, 0.4, 0.9, 0.2, -0.6], np.float32)  # L R C LFE Ls Rs
    x = np.tile(vals, (n, 1))
    p = tmp_path / "surround.wav"
    sf.write(p, x, 48000, subtype="FLOAT")
    with pytest.raises(AudioFormatError, match=r"surround\.wav: 6 channels; muzip codes mono or stereo \(use --downmix\)"):
        AudioSource(str(p))
    with AudioSource(str(p), downmix=True) as src:
        assert src.info.channels == 2 and src.info.num_samples == n
        y = read_all(src, 300)
    s = audio.DOWNMIX_51_SCALE
    exp_l = (0.5 + 0.7071 * 0.4 + 0.7071 * 0.2) * s
    exp_r = (-0.25 + 0.7071 * 0.4 - 0.7071 * 0.6) * s
    np.testing.assert_allclose(y[0], [exp_l, exp_r], atol=1e-5)
    assert y.shape == (n, 2)
    # worst case never clips
    assert np.abs(downmix_to_stereo(np.ones((4, 6), np.float32))).max() <= 1.0 + 1e-6


def test_downmix_other_counts():
    """Every count but 6 averaged the even channels into L and the odd ones into R: a 3-channel file's centre
    went to the left only, a 5.0 file's left surround to the right (a review, session 62). Each count of 3-8
    channels now plays where its layout says, and no mix clips."""
    x = np.array([[1.0, 0.0, 0.5, 0.2]], np.float32)  # quad: FL FR BL BR
    np.testing.assert_allclose(downmix_to_stereo(x), [[(1 + 0.7071 * 0.5) / 1.7071, 0.7071 * 0.2 / 1.7071]],
                               atol=1e-5)
    for c, left, both in [(3, [0], [2]), (5, [0, 3], [2]), (7, [0, 5], [2, 4]), (8, [0, 4, 6], [2])]:
        for ch in range(c):
            x = np.zeros((1, c), np.float32)
            x[0, ch] = 1
            y = downmix_to_stereo(x)[0]
            want = "both" if ch in both else "left" if ch in left else "LFE" if (c > 6 and ch == 3) else "right"
            got = "both" if y[0] > 0 and abs(y[0] - y[1]) < 1e-6 else "left" if y[0] > 0 and y[1] == 0 else \
                "LFE" if not y.any() else "right" if y[1] > 0 and y[0] == 0 else str(y)
            assert got == want, (c, ch, y)
        assert np.abs(downmix_to_stereo(np.ones((2, c), np.float32))).max() <= 1 + 1e-6
    x = np.arange(9, dtype=np.float32)[None, :]  # no layout known: even channels left, odd right, as before
    np.testing.assert_allclose(downmix_to_stereo(x), [[4.0, 4.0]])


# --- stdin -------------------------------------------------------------------------------

@pytest.mark.parametrize("subtype,atol", [("PCM_16", 1 / 32768), ("PCM_24", 1e-6), ("PCM_32", 1e-6), ("FLOAT", 0)])
@pytest.mark.parametrize("known_len", [True, False])
def test_stdin_wav(subtype, atol, known_len):
    x = signal(5003, 2)
    data = wav_bytes(x, 44100, subtype, None if known_len else 0xFFFFFFFF)
    with AudioSource("-", stdin=Dribble(data)) as src:
        assert src.info.sample_rate == 44100 and src.info.channels == 2
        assert src.info.num_samples == (len(x) if known_len else None)
        y = read_all(src, 1024)
    assert len(y) == len(x)
    np.testing.assert_allclose(y, x, atol=atol + 1e-7)


def test_stdin_extensible_and_zero_size():
    x = signal(999, 1)
    with AudioSource("-", stdin=io.BytesIO(wav_bytes(x, 8000, "FLOAT", data_size=0))) as src:
        assert src.info.num_samples is None
        np.testing.assert_array_equal(read_all(src), x)
    buf = io.BytesIO()
    sf.write(buf, x, 8000, format="WAVEX", subtype="PCM_16")
    with AudioSource("-", stdin=io.BytesIO(buf.getvalue())) as src:
        assert src.info.num_samples == len(x)
        np.testing.assert_allclose(read_all(src), x, atol=1 / 32768 + 1e-7)


def test_stdin_errors():
    with pytest.raises(AudioReadError, match="^-: "):
        AudioSource("-", stdin=io.BytesIO(b"not a wav at all, sorry"))
    with pytest.raises(AudioReadError, match="^-: "):
        AudioSource("-", stdin=io.BytesIO(b""))
    with pytest.raises(AudioFormatError, match="6 channels"):
        AudioSource("-", stdin=io.BytesIO(wav_bytes(np.zeros((10, 6), np.float32), 8000)))


def test_stdin_zero_frames():
    with AudioSource("-", stdin=io.BytesIO(wav_bytes(np.zeros((0, 1), np.float32), 8000))) as src:
        assert list(src.blocks(10)) == []


# --- tags --------------------------------------------------------------------------------

def test_flac_tags_roundtrip(tmp_path):
    tags = {"title": "Tïtle", "artist": "Artist", "album": "Album", "date": "2024",
            "genre": "Jazz", "tracknumber": "3", "albumartist": "Various", "composer": "Comp",
            "bogus": "dropped"}
    x = signal(4000, 2)
    p = tmp_path / "t.flac"
    with open(p, "w+b") as f, AudioSink(f, 44100, 2, "flac", tags=tags) as sink:
        sink.write(x[:1000])
        sink.write(x[1000:])
    with AudioSource(str(p)) as src:
        got = src.info.tags
        y = read_all(src)
    for k in ("title", "artist", "album", "date", "genre", "tracknumber", "albumartist", "composer"):
        assert got.get(k) == tags[k], k
    assert "bogus" not in got
    np.testing.assert_allclose(y, x, atol=1 / 32768 + 1e-6)


def test_bad_tags_never_fail(tmp_path, monkeypatch):
    p = tmp_path / "a.wav"
    sf.write(p, signal(100, 1), 8000)
    import mutagen

    monkeypatch.setattr(mutagen, "File", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    with AudioSource(str(p)) as src:
        assert src.info.tags == {}


# --- sink --------------------------------------------------------------------------------

def test_wav_sink_nonseekable():
    x = signal(1234, 2)
    out = NonSeekable()
    with AudioSink(out, 48000, 2, "wav", num_samples=len(x)) as sink:
        sink.write(x[:500])
        sink.write(x[500:])
    b = bytes(out.buf)
    assert b[:4] == b"RIFF" and b[8:16] == b"WAVE" + b"fmt "
    assert struct.unpack("<I", b[4:8])[0] == len(b) - 8
    assert struct.unpack("<HHIIHH", b[20:36]) == (1, 2, 48000, 48000 * 4, 4, 16)
    assert b[36:40] == b"data" and struct.unpack("<I", b[40:44])[0] == len(x) * 4
    pcm = np.frombuffer(b[44:], "<i2").reshape(-1, 2)
    np.testing.assert_array_equal(pcm, np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16))
    y, rate = sf.read(io.BytesIO(b), dtype="float32")
    assert rate == 48000 and y.shape == x.shape


def test_wav_sink_unknown_length_streaming_and_patched():
    x = signal(300, 1)
    out = NonSeekable()
    with AudioSink(out, 8000, 1) as sink:
        sink.write(x)
    assert bytes(out.buf[4:8]) == b"\xff\xff\xff\xff" and bytes(out.buf[40:44]) == b"\xff\xff\xff\xff"
    with AudioSource("-", stdin=io.BytesIO(bytes(out.buf))) as src:  # our reader takes it back
        assert len(read_all(src)) == 300
    seek = io.BytesIO()
    seek.write(b"xx")  # header patched relative to the start position
    with AudioSink(seek, 8000, 1) as sink:
        sink.write(x)
        sink.write(np.full((5, 1), 2.0, np.float32))  # clipped
    y, _ = sf.read(io.BytesIO(seek.getvalue()[2:]), dtype="float32")
    assert len(y) == 305 and y[-1] == pytest.approx(32767 / 32768)


def test_wav_sink_bit_exact_16bit_passthrough(tmp_path):
    x = signal(2000, 2)
    p = tmp_path / "in.wav"
    sf.write(p, x, 44100, subtype="PCM_16")
    buf = io.BytesIO()
    with AudioSource(str(p)) as src, AudioSink(buf, 44100, 2, num_samples=src.info.num_samples) as sink:
        for b in src.blocks(512):
            sink.write(b)
    assert buf.getvalue()[44:] == p.read_bytes()[-len(x) * 4:]


def test_wav_sink_short_nonseekable_is_error():
    with pytest.raises(ValueError):
        with AudioSink(NonSeekable(), 8000, 1, num_samples=10) as sink:
            sink.write(np.zeros((5, 1), np.float32))


# --- resampler ---------------------------------------------------------------------------

def test_resampler_roundtrip_sine():
    n = 44100
    t = np.arange(n) / 44100
    x = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 1000 * t)], 1).astype(np.float32)

    def run(r, data):
        parts = [r.process(data[i : i + 4096]) for i in range(0, len(data), 4096)]
        parts.append(r.process(np.zeros((0, 2), np.float32), last=True))
        return np.concatenate(parts)

    up = run(StreamResampler(44100, 48000, 2), x)
    assert abs(len(up) - 48000) <= 4 and up.dtype == np.float32 and up.shape[1] == 2
    back = run(StreamResampler(48000, 44100, 2), up)
    assert abs(len(back) - n) <= 4
    m = min(len(back), n)
    assert np.max(np.abs(back[1000 : m - 1000] - x[1000 : m - 1000])) < 1e-2


def test_resampler_identity_and_mono():
    x = signal(100, 1)
    r = StreamResampler(8000, 8000, 1)
    np.testing.assert_array_equal(r.process(x), x)
    r = StreamResampler(8000, 16000, 1)
    y = np.concatenate([r.process(x[:, 0]), r.process(x[:0], last=True)])
    assert y.shape[1] == 1 and abs(len(y) - 200) <= 2


# --- ffmpeg formats ----------------------------------------------------------------------

@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_m4a_via_ffmpeg(tmp_path):
    x = signal(44100, 2)
    w = tmp_path / "in.wav"
    sf.write(w, x, 44100)
    m = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(w), "-c:a", "aac", "-b:a", "128k",
                    "-metadata", "title=Hello", "-metadata", "artist=Me", str(m)], check=True)
    with AudioSource(str(m)) as src:
        assert src.info.sample_rate == 44100 and src.info.channels == 2
        assert src.info.format == "m4a"
        assert src.info.tags.get("title") == "Hello" and src.info.tags.get("artist") == "Me"
        y = read_all(src, 4096)
    assert abs(len(y) - len(x)) < 4096 and np.abs(y).max() > 0.1


def test_m4a_without_ffmpeg(tmp_path, monkeypatch):
    p = tmp_path / "x.m4a"
    p.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 200)
    monkeypatch.setattr(ffmpeg_read.shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(AudioReadError, match=r"x\.m4a: format not supported by libsndfile; install ffmpeg to read it"):
        AudioSource(str(p))


# --- outputs -----------------------------------------------------------------------------

def test_atomic_output_refuses_existing(tmp_path):
    p = tmp_path / "x.mz"
    p.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match=r"x\.mz: exists \(use -f to overwrite\)"):
        with atomic_output(str(p), force=False) as f:
            f.write(b"new")
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.mz"]


def test_atomic_output_force_and_success(tmp_path):
    p = tmp_path / "x.mz"
    p.write_bytes(b"old")
    with atomic_output(str(p), force=True) as f:
        f.write(b"new")
    assert p.read_bytes() == b"new" and os.listdir(tmp_path) == ["x.mz"]
    q = tmp_path / "fresh.wav"
    with atomic_output(str(q), force=False) as f:
        with AudioSink(f, 8000, 1) as sink:  # seekable temp file: sizes patched
            sink.write(signal(50, 1))
    assert sf.info(str(q)).frames == 50


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_atomic_output_cleans_up(tmp_path, exc):
    p = tmp_path / "x.mz"
    p.write_bytes(b"old")
    with pytest.raises(exc):
        with atomic_output(str(p), force=True) as f:
            assert os.path.basename(f.name).startswith(".x.mz.") and f.name.endswith(".part")
            f.write(b"partial")
            raise exc()
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["x.mz"]
    with pytest.raises(exc):
        with atomic_output(str(tmp_path / "new.mz"), force=False):
            raise exc()
    assert os.listdir(tmp_path) == ["x.mz"]


def test_same_file_refused(tmp_path):
    p = tmp_path / "a.wav"
    p.write_bytes(b"data")
    os.symlink(p, tmp_path / "link.wav")
    assert same_file(str(p), str(tmp_path / "link.wav"))
    assert not same_file(str(p), "-") and not same_file(str(p), str(tmp_path / "other"))
    with pytest.raises(MuzipError):
        with atomic_output(str(tmp_path / "link.wav"), force=True, inputs=[str(p)]):
            pass
    assert p.read_bytes() == b"data"


def test_atomic_output_missing_dir(tmp_path):
    with pytest.raises(MuzipError):
        with atomic_output(str(tmp_path / "nodir" / "x.mz"), force=False):
            pass


def test_stdout_output(monkeypatch):
    class Fake:
        buffer = io.BytesIO()

    monkeypatch.setattr("sys.stdout", Fake)
    with stdout_output() as f:
        f.write(b"abc")
    assert Fake.buffer.getvalue() == b"abc"
