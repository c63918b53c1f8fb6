"""muzip.audio.AudioSink: output formats, WAV LIST/INFO + id3 trailer, parameter checks."""

import io
import struct

import mutagen
import numpy as np
import pytest
import soundfile as sf

from muzip.audio import WRITABLE_FORMATS, AudioSink, AudioSource, can_write, encoder_rate, output_format_for
from muzip.audio import wav_header
from muzip.audio import write as audio_write
from muzip.errors import AudioFormatError

from conftest import NonSeekable

TAGS = {"title": "Tïtle ♪", "artist": "Artist", "album": "Album", "date": "2024", "genre": "Jazz",
        "tracknumber": "3", "discnumber": "2", "comment": "Cömment", "albumartist": "Various",
        "composer": "Comp"}
INFO_TAGS = {k: TAGS[k] for k in ("title", "artist", "album", "date", "genre", "tracknumber", "comment")}
COVER = ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)


def signal(n, channels=2):
    t = np.arange(n) / 44100.0
    return np.repeat(0.3 * np.sin(2 * np.pi * 440 * t)[:, None], channels, 1).astype(np.float32)


def write_file(path, fmt, rate, x, **kw):
    with open(path, "w+b") as f, AudioSink(f, rate, x.shape[1], fmt, num_samples=len(x), **kw) as sink:
        sink.write(x[:1000])
        sink.write(x[1000:])
    return sink


# --- names -------------------------------------------------------------------------------

def test_output_format_for_and_can_write():
    assert WRITABLE_FORMATS == ("wav", "flac", "ogg", "opus", "mp3")
    cases = {"a.wav": "wav", "B.WAVE": "wav", "x.flac": "flac", "x.Ogg": "ogg", "x.oga": "ogg",
             "x.opus": "opus", "x.MP3": "mp3", "x.mz": None, "noext": None, "dir.flac/x": None}
    for name, fmt in cases.items():
        assert output_format_for(name) == fmt, name
    assert can_write("wav") and can_write("flac") and can_write("WAV")
    assert not can_write("aac")


def test_encoder_rates():
    assert [encoder_rate("opus", r) for r in (8000, 11025, 22050, 44100, 48000, 96000)] == \
        [8000, 12000, 24000, 48000, 48000, 48000]
    assert [encoder_rate("mp3", r) for r in (8000, 11025, 37800, 44100, 88200, 192000)] == \
        [8000, 11025, 44100, 44100, 48000, 48000]
    assert encoder_rate("flac", 96000) == 96000 and encoder_rate("wav", 7) == 7


def test_unwritable_format_is_clear_error(monkeypatch):
    monkeypatch.setattr(audio_write, "can_write", lambda fmt: fmt in ("wav", "flac"))
    with pytest.raises(AudioFormatError, match=r"^this libsndfile cannot write MP3; use --format wav or flac$"):
        AudioSink(io.BytesIO(), 44100, 2, "mp3")
    with pytest.raises(AudioFormatError, match="unknown output format 'aiff'"):
        AudioSink(io.BytesIO(), 44100, 2, "aiff")


def test_can_write_probes_libsndfile(monkeypatch):
    can_write.cache_clear()
    try:
        monkeypatch.setattr(sf, "available_formats", lambda: {"WAV": "", "FLAC": ""})
        assert not can_write("mp3") and can_write("flac")
    finally:
        can_write.cache_clear()


def test_non_wav_needs_seekable():
    with pytest.raises(ValueError, match="seekable"):
        AudioSink(NonSeekable(), 44100, 2, "flac")


# --- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [f for f in WRITABLE_FORMATS if can_write(f)])
def test_roundtrip_every_format_with_tags_and_cover(tmp_path, fmt):
    x = signal(44100)
    p = tmp_path / f"out.{fmt}"
    sink = write_file(p, fmt, 44100, x, tags=TAGS, cover=COVER)
    assert sink.frames_written == len(x)
    with AudioSource(str(p)) as src:
        assert src.info.sample_rate == sink.output_rate == (48000 if fmt == "opus" else 44100)
        assert src.info.tags == TAGS
        assert src.info.cover == COVER
        y = np.concatenate(list(src.blocks(4096)))
    assert src.warnings == []
    assert abs(len(y) - sink.output_rate) <= 2 and y.shape[1] == 2
    if fmt in ("wav", "flac"):
        np.testing.assert_allclose(y, x, atol=1 / 32768 + 1e-6)
    else:
        assert 0.15 < np.sqrt(np.mean(y ** 2)) < 0.25  # a lossy codec: the tone is there
    m = mutagen.File(str(p))
    assert m is not None and m.info.length == pytest.approx(1.0, abs=0.06)


@pytest.mark.parametrize("fmt,rate,out_rate", [("opus", 22050, 24000), ("mp3", 96000, 48000)])
def test_fixed_rate_encoders_resample(tmp_path, fmt, rate, out_rate):
    if not can_write(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt}")
    x = signal(rate // 2, 1)
    p = tmp_path / f"r.{fmt}"
    sink = write_file(p, fmt, rate, x)
    assert sink.output_rate == out_rate and sink.frames_written == len(x)
    info = sf.info(str(p))
    assert info.samplerate == out_rate and abs(info.frames - out_rate // 2) <= out_rate // 100


# --- WAV trailer (LIST/INFO, id3) --------------------------------------------------------

def check_riff(b):
    assert struct.unpack("<I", b[4:8])[0] == len(b) - 8
    pos = 12
    while pos < len(b):  # every chunk size adds up to the end of the file
        size = struct.unpack("<I", b[pos + 4 : pos + 8])[0]
        pos += 8 + size + (size & 1)
    assert pos == len(b)


@pytest.mark.parametrize("seekable", [True, False])
@pytest.mark.parametrize("tags,cover", [(INFO_TAGS, None), (TAGS, COVER)])
def test_wav_tags_seekable_and_known_length_pipe(tmp_path, seekable, tags, cover):
    x = signal(1001)
    out = io.BytesIO() if seekable else NonSeekable()
    with AudioSink(out, 44100, 2, "wav", num_samples=len(x), tags=tags, cover=cover) as sink:
        sink.write(x)
    b = bytes(out.getvalue() if seekable else out.buf)
    check_riff(b)
    assert b[36:40] == b"data" and b[44 + len(x) * 4 : 44 + len(x) * 4 + 4] == b"LIST"  # after the data
    assert (b"id3 " in b) == (cover is not None)
    f = sf.SoundFile(io.BytesIO(b))  # libsndfile reads LIST/INFO
    assert f.frames == len(x)
    assert {k: getattr(f, k) for k in INFO_TAGS} == INFO_TAGS
    p = tmp_path / "t.wav"
    p.write_bytes(b)
    m = mutagen.File(str(p))  # mutagen parses the chunks (and the id3 one)
    assert m.info.length == pytest.approx(len(x) / 44100)
    with AudioSource(str(p)) as src:
        assert src.info.tags == tags and src.info.cover == cover


def test_wav_tags_left_out_on_unknown_length_pipe():
    x = signal(500, 1)
    out = NonSeekable()
    with AudioSink(out, 8000, 1, tags=TAGS, cover=COVER) as sink:
        sink.write(x)
    b = bytes(out.buf)
    assert b"LIST" not in b and b"id3 " not in b and len(b) == 44 + 1000
    with AudioSource("-", stdin=io.BytesIO(b)) as src:  # read to EOF: only audio there
        assert sum(len(y) for y in src.blocks(128)) == 500


def test_wav_seekable_unknown_length_patched_with_tags():
    x = signal(777, 1)
    buf = io.BytesIO()
    buf.write(b"xx")
    with AudioSink(buf, 8000, 1, tags={"title": "odd"}) as sink:
        sink.write(x)
    b = buf.getvalue()[2:]
    check_riff(b)
    f = sf.SoundFile(io.BytesIO(b))
    assert f.frames == 777 and f.title == "odd"


def test_wav_zero_frames_with_tags():
    buf = io.BytesIO()
    with AudioSink(buf, 8000, 1, num_samples=0, tags=TAGS):
        pass
    assert buf.getvalue()[40:44] == b"\0\0\0\0" and len(buf.getvalue()) == 44
    assert sf.info(io.BytesIO(buf.getvalue())).frames == 0


def test_info_values_nul_free_and_capped():
    chunk = wav_header.info_chunk({"title": "a\0b", "comment": "é" * 10000})
    assert b"a\0b" not in chunk and b"ab\0" in chunk
    assert len(chunk) < 8192 + 64  # 4096 "é" (2 bytes each), cut on a character boundary


# --- parameter checks --------------------------------------------------------------------

@pytest.mark.parametrize("rate,channels", [(2**32, 1), (2**31, 1), (10**12, 2), (44100, 40000), (44100, 32768),
                                           (0, 2), (-1, 1), (44100, 0)])
def test_absurd_wav_params_are_format_errors(rate, channels):
    out = io.BytesIO()
    with pytest.raises(AudioFormatError, match=r"^cannot write"):
        AudioSink(out, rate, channels, "wav")
    assert out.getvalue() == b""  # nothing half-written
    with pytest.raises(AudioFormatError):
        wav_header.wav_header(rate, channels, 100)


ABSURD = [(f, r, c) for f in WRITABLE_FORMATS[1:] for r, c in ((10**9, 2), (44100, 300), (44100, 1024))]


@pytest.mark.parametrize("fmt,rate,channels", ABSURD + [("ogg", 384000, 2), ("flac", 700000, 2), ("mp3", 44100, 3)])
def test_absurd_params_never_reach_libsndfile(fmt, rate, channels):
    # libsndfile 1.2 crashes (not errors) on Vorbis > 200 kHz or 256..1024 channels
    if not can_write(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt}")
    with pytest.raises(AudioFormatError, match=r"^cannot write"):
        AudioSink(io.BytesIO(), rate, channels, fmt)
