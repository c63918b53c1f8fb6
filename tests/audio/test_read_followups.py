"""AudioSource follow-ups (issue 23, item 8): an M4A read through ffmpeg comes back at the length its MP4
states (not with the AAC encoder's padding); nothing mpg123 prints on fd 2 gets out, with or without -q; an
MP3 without a Xing/Info frame promises no length (libsndfile's guess counted an ID3v2 tag as audio)."""

import io
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf

import muzip.audio.ffmpeg_read as ffmpeg_read
import muzip.audio.read as read
from muzip.audio import AudioSource, can_write
from muzip.audio.mp3_frames import mp3_states_length

from mp3_files import lame_mp3_bytes, mp3_bytes, xing_mp3

HAVE_MP3 = "MP3" in sf.available_formats()
needs_mp3 = pytest.mark.skipif(not HAVE_MP3, reason="this libsndfile does not read MP3")
ENV = dict(os.environ, PYTHONUNBUFFERED="1")
ENV.pop("MUZIP_BACKEND", None)


def drain(src, n=1 << 16):
    return sum(len(b) for b in src.blocks(n))


def _muzip(args, cwd):
    return subprocess.run([sys.executable, "-m", "muzip", *map(str, args)], cwd=cwd, env=ENV, capture_output=True,
                          text=True, timeout=120)


# --- 1. an M4A at its stated length -----------------------------------------------------------------------

class _Segment:
    """What pydub's AudioSegment.from_file gives: 16-bit interleaved samples."""

    def __init__(self, frames, channels=2, rate=44100):
        x = (np.arange(frames * channels) % 200 - 100).astype("<i2")
        self.raw_data, self.channels, self.sample_width, self.frame_rate = x.tobytes(), channels, 2, rate


@pytest.fixture
def fake_ffmpeg(monkeypatch):
    """ffmpeg "decodes" any file to 441344 frames (10 s + AAC padding); the container states `stated[0]`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pydub
    stated, asked = [441000], []
    monkeypatch.setattr(ffmpeg_read, "ffmpeg_available", lambda: True)
    monkeypatch.setattr(pydub.AudioSegment, "from_file", staticmethod(lambda path, *a, **k: _Segment(441344)))

    def fake_stated(path, *a, **k):
        asked.append(path)
        return stated[0], "aac", None
    monkeypatch.setattr(ffmpeg_read, "stream_facts", fake_stated)
    return stated, asked


def _m4a_like(path):
    path.write_bytes(b"\0\0\0\x20ftypM4A \0\0\0\0M4A mp42isom\0\0\0\0" + b"\x11" * 4000)  # libsndfile rejects it
    return path


def test_ffmpeg_read_m4a_is_trimmed_to_its_stated_length(tmp_path, fake_ffmpeg):
    stated, asked = fake_ffmpeg
    p = _m4a_like(tmp_path / "ten.m4a")
    with AudioSource(str(p)) as src:
        assert src.info.num_samples == 441000 and src.info.format == "m4a"
        assert drain(src) == 441000
    assert src.samples_read == 441000 and asked == [str(p)]
    assert not any("promises" in w for w in src.warnings)


def test_ffmpeg_read_keeps_everything_when_the_stated_length_is_not_padding(tmp_path, fake_ffmpeg):
    stated, _ = fake_ffmpeg
    p = _m4a_like(tmp_path / "odd.m4a")
    for claim in (None, 441344 - 4097, 441344, 500000):  # unknown, too far off to be padding, equal, longer
        stated[0] = claim
        with AudioSource(str(p)) as src:
            assert src.info.num_samples == 441344 and drain(src) == 441344


def test_ffmpeg_read_of_a_non_mp4_is_not_trimmed(tmp_path, fake_ffmpeg):
    """ADTS AAC, WMA...: ffprobe's length there may be a bitrate estimate, which must not cut real audio."""
    stated, asked = fake_ffmpeg
    p = tmp_path / "raw.aac"
    p.write_bytes(b"\xff\xf1\x50\x80" + b"\x11" * 4000)
    with AudioSource(str(p)) as src:  # ffprobe is asked (for the codec), its length not taken
        assert src.info.num_samples == 441344 and drain(src) == 441344 and stated[0] < 441344
    assert asked == [str(p)] and src.info.codec == "aac"


# --- 2. nothing from mpg123 on stderr --------------------------------------------------------------------

@pytest.fixture
def lying_xing(tmp_path):
    if not can_write("mp3"):
        pytest.skip("this libsndfile cannot write MP3")
    p = xing_mp3(tmp_path / "xing.mp3")
    probe = subprocess.run([sys.executable, "-c", "import soundfile as sf, sys; sf.SoundFile(sys.argv[1])", str(p)],
                           capture_output=True, text=True)
    if "Xing" not in probe.stderr:
        pytest.skip("this mpg123 does not warn about the Xing header")
    return p


def test_reading_an_mp3_prints_nothing_on_fd2(lying_xing, capfd):
    data = mp3_bytes(seconds=4)
    half = len(data) // 2
    junk = lying_xing.parent / "junk.mp3"  # mpg123: "Note: Illegal Audio-MPEG-Header ..." as it decodes
    junk.write_bytes(data[:half] + b"\0" * 3000 + b"\xff\xfb\x90\x00" * 50 + data[half:])
    with AudioSource(str(lying_xing)) as src:
        assert drain(src, 4096) > 0
    try:
        with AudioSource(str(junk)) as src:
            drain(src, 4096)
    except read.AudioReadError:
        pass
    sys.stderr.write("after\n")  # fd 2 is back where it was
    out, err = capfd.readouterr()
    assert err == "after\n", err


def test_compress_without_q_prints_only_muzips_lines(lying_xing):
    r = _muzip(["compress", lying_xing.name], lying_xing.parent)
    assert r.returncode in (0, 3), r.stderr  # 3: the lying Xing frame count gives a (right) length warning
    assert "Xing" not in r.stderr and "Warning:" not in r.stderr and "Note:" not in r.stderr, r.stderr
    for line in r.stderr.splitlines():
        assert line.startswith("muzip: ") or line.startswith("xing.mp3 -> xing.mz: "), r.stderr


def test_only_mp3_blocks_are_muted(tmp_path, monkeypatch):
    """Muting fd 2 costs two dup2s a block: done for MP3 reads only (every open is muted: the format is not
    known before)."""
    entered = []

    class Spy(read.quiet_native_stderr):
        def __enter__(self):
            entered.append(self.enabled)
            return super().__enter__()
    monkeypatch.setattr(read, "quiet_native_stderr", Spy)
    p = tmp_path / "a.flac"
    sf.write(p, np.zeros((50000, 1), np.float32), 44100)
    with AudioSource(str(p)) as src:
        assert drain(src, 1000) == 50000
    assert entered[0] is True and len(entered) > 50 and not any(entered[1:])


# --- 3. an MP3 without a Xing frame promises no length ---------------------------------------------------

def _tag(path, cover_bytes=50_000):
    from mutagen.id3 import APIC, ID3, TIT2
    tag = ID3()
    tag.add(TIT2(encoding=3, text="tagged"))
    cover = np.random.default_rng(0).integers(0, 256, cover_bytes, dtype=np.uint8).tobytes()
    tag.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="", data=b"\xff\xd8\xff\xe0" + cover))
    tag.save(str(path))
    return path


@needs_mp3
def test_mp3_states_length_only_with_a_xing_frame(tmp_path):
    lame = tmp_path / "lame.mp3"
    lame.write_bytes(lame_mp3_bytes(2))
    tagged_lame = tmp_path / "tagged_lame.mp3"
    tagged_lame.write_bytes(lame.read_bytes())
    _tag(tagged_lame)
    buf = io.BytesIO()
    sf.write(buf, np.zeros((44100, 2), np.float32), 44100, format="MP3")
    info = tmp_path / "info.mp3"
    info.write_bytes(buf.getvalue())
    tagged_info = tmp_path / "tagged_info.mp3"
    tagged_info.write_bytes(buf.getvalue())
    _tag(tagged_info)
    mono = io.BytesIO()
    sf.write(mono, np.zeros(22050, np.float32), 22050, format="MP3")  # MPEG-2: other side-info size
    (tmp_path / "mono.mp3").write_bytes(mono.getvalue())
    (tmp_path / "junk.mp3").write_bytes(b"ID3\x04\0\0\0\0\0\x05hello" + b"\0" * 100)
    want = {"lame.mp3": False, "tagged_lame.mp3": False, "info.mp3": True, "tagged_info.mp3": True,
            "mono.mp3": True, "junk.mp3": False}
    for name, stated in want.items():
        fd = os.open(tmp_path / name, os.O_RDONLY)
        try:
            assert mp3_states_length(fd) is stated, name
        finally:
            os.close(fd)


@needs_mp3
def test_tagged_mp3_without_xing_reads_without_a_warning(tmp_path):
    p = tmp_path / "tagged.mp3"
    p.write_bytes(lame_mp3_bytes(6))
    _tag(p)
    assert os.path.getsize(p) > 140_000  # ~96 kB of audio, ~50 kB of tag: libsndfile guesses ~9 s
    with AudioSource(str(p)) as src:
        n = drain(src)
        assert src.info.cover is not None
    assert abs(n - 6 * 44100) < 2 * 1152 and src.warnings == []


@needs_mp3
def test_tagged_mp3_without_xing_compresses_with_exit_0(tmp_path):
    p = tmp_path / "tagged.mp3"
    p.write_bytes(lame_mp3_bytes(6))
    _tag(p)
    r = _muzip(["compress", p.name], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr and "promises" not in r.stderr, r.stderr
    assert (tmp_path / "tagged.mz").exists()


@needs_mp3
def test_truncated_tagged_mp3_with_an_info_frame_still_warns(tmp_path):
    """The ID3v2 tag is skipped to find the Info frame: its frame count is still a promise."""
    x = (np.random.default_rng(0).standard_normal((44100 * 3, 2)) * 0.2).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, x, 44100, format="MP3")
    p = tmp_path / "cut.mp3"
    p.write_bytes(buf.getvalue())
    _tag(p, 5000)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) * 2 // 5])
    with AudioSource(str(p)) as src:
        n = drain(src)
    assert len(src.warnings) == 1 and src.warnings[0].startswith("header promises 3.000 s"), src.warnings
    assert f"the file holds {n / 44100:.3f} s" in src.warnings[0]


def test_an_mp3_without_a_stated_length_is_not_lengthened_by_its_tags(tmp_path):
    """Session 56: mpg123 estimates such an MP3's length from the file's size, so a 300-kB cover made a 6-s MP3
    read as 25 s: the library's duration, the duplicate search's window and the progress were off."""
    from mutagen.id3 import APIC, ID3, TIT2
    plain, covered = tmp_path / "plain.mp3", tmp_path / "covered.mp3"
    plain.write_bytes(lame_mp3_bytes(6))
    covered.write_bytes(lame_mp3_bytes(6))
    tags = ID3()
    tags.add(TIT2(encoding=3, text="a title"))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="front", data=b"\xff\xd8" + bytes(300_000)))
    tags.save(covered, v1=2)  # an ID3v1 tag at the end too
    with open(plain, "rb") as f:
        assert not mp3_states_length(f.fileno())  # the case: no Xing/Info frame
    for path in (plain, covered):
        with AudioSource(str(path)) as src:
            stated = src.info.num_samples
            read = sum(len(b) for b in src.blocks(1 << 16))
        assert abs(stated - read) < 0.01 * read, (path, stated, read)


def test_a_pipe_named_as_a_file_is_read_as_a_wav_stream(tmp_path):
    """Session 56's review: `compress <(ffmpeg ... -f wav -)` and `... | compress /dev/stdin` said "empty file"
    (a pipe has no size); they are read as `-` is, and another format through a pipe is named as such."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    x = (0.25 * np.sin(np.arange(44100) / 10.0)).astype(np.float32)
    wav = io.BytesIO()
    sf.write(wav, np.stack([x, -x], 1), 44100, format="WAV", subtype="PCM_16")
    p = subprocess.Popen([sys.executable, "-m", "muzip", "compress", "-q", str(fifo), "-o", str(tmp_path / "a.mz")],
                         stderr=subprocess.PIPE, text=True)
    with open(fifo, "wb") as f:
        f.write(wav.getvalue())
    assert p.wait(timeout=120) == 0, p.stderr.read()
    assert (tmp_path / "a.mz").stat().st_size > 0
    p = subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", "/dev/stdin", "-o", str(tmp_path / "b.mz")],
                       input=b"fLaC" + bytes(100), capture_output=True, timeout=120)
    assert p.returncode == 1 and p.stderr.decode() == "muzip: /dev/stdin: not a WAV stream (a pipe must carry " \
        "RIFF/WAVE: give a file for other formats)\n"
    assert not (tmp_path / "b.mz").exists()


def test_a_wav_stream_keeps_the_tags_of_its_info_chunk(tmp_path):
    """Session 56's review: `ffmpeg -i x.mp3 -f wav - | muzip compress -` lost the tags ffmpeg puts in a LIST/INFO
    chunk before the data."""
    import struct

    def sub(cid, text):
        data = text.encode() + b"\0"
        return cid + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)
    info = b"INFO" + sub(b"INAM", "A Title") + sub(b"IART", "An Artist") + sub(b"ISFT", "Lavf60")
    pcm = (np.zeros((4410, 2))).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 2, 44100, 44100 * 4, 4, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", len(info)) + info \
        + b"data" + struct.pack("<I", len(pcm)) + pcm
    with AudioSource("-", stdin=io.BytesIO(b"RIFF" + struct.pack("<I", len(body)) + body)) as src:
        assert src.info.tags == {"title": "A Title", "artist": "An Artist"} and src.info.software == "Lavf60"
        assert sum(len(b) for b in src.blocks(4096)) == 4410


def test_the_second_reviews_edges_of_pipes_tags_and_copies(tmp_path):
    """Session 56's second review: a u-law WAV labelled "restored to WAV" (a kbps stored for it), a WAV stream's
    70-kB INFO tag an internal error, a pipe's first bytes eaten by the .mz probe, a tag size past the file's
    end taking an MP3's length to 0, and a short write to stdout passing for a whole copy."""
    import struct
    from types import SimpleNamespace

    from muzip.audio.mp3_frames import mp3_audio_share
    from muzip.library.sampled import is_mz, stream_kbps
    from muzip.outputs import _copy_whole
    assert stream_kbps(__file__, SimpleNamespace(codec="ulaw", format="wav", cover=None), 1.0) is None
    assert stream_kbps(__file__, SimpleNamespace(codec="mp3", format="mp3", cover=None), 1.0) > 0
    long_info = b"INFO" + b"ICMT" + struct.pack("<I", 70_000) + b"x" * 70_000
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"LIST" + struct.pack("<I", len(long_info)) \
        + long_info + b"data" + struct.pack("<I", 800) + bytes(800)
    with AudioSource("-", stdin=io.BytesIO(b"RIFF" + struct.pack("<I", len(body)) + body)) as src:
        assert src.info.tags == {} and "tag comment is 70,000 bytes" in src.warnings[0]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert not is_mz(str(fifo))  # returns at once, reading nothing
    bogus = tmp_path / "bogus.mp3"
    bogus.write_bytes(lame_mp3_bytes(1) + b"APETAGEX" + struct.pack("<IIII", 2000, 10**9, 0, 0) + bytes(8))
    with open(bogus, "rb") as f:
        assert mp3_audio_share(f.fileno()) == 1.0

    class Trickle(io.RawIOBase):  # takes 3 bytes a write, then goes away
        def __init__(self):
            self.got = b""

        def writable(self):
            return True

        def write(self, b):
            if len(self.got) >= 9:
                return 0
            self.got += bytes(b[:3])
            return min(3, len(b))
    with pytest.raises(BrokenPipeError):
        _copy_whole(io.BytesIO(b"0123456789abcdef"), Trickle())


@pytest.mark.skipif(ffmpeg_read.ffmpeg_available() is False, reason="needs ffmpeg")
def test_a_vbr_mp3_held_in_a_wav_is_read_whole(tmp_path):
    """libsndfile opens MPEG audio in a WAV (format tag 0x55) and times it by the header's byte rate: a VBR
    stream read 2.9 s of 20 without a word (sessions 58-60). ffmpeg reads its frames: every one."""
    n = 44100 * 6
    x = 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 44100) * np.linspace(0, 1, n)
    sf.write(tmp_path / "src.wav", np.stack([x, x[::-1]], 1), 44100)
    for name, rate in (("vbr.wav", ["-q:a", "4"]), ("cbr.wav", ["-b:a", "128k"])):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", tmp_path / "src.wav", "-c:a", "libmp3lame", *rate,
                        "-f", "wav", tmp_path / name], check=True)
        assert sf.info(tmp_path / name).subtype == "MPEG_LAYER_III"
        want = len(subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / name, "-f", "s16le", "-"],
                                  capture_output=True, check=True).stdout) // 4
        with AudioSource(str(tmp_path / name)) as src:
            assert drain(src) == want and src.warnings == [], name
            assert (src.info.codec, src.info.sample_rate, src.info.channels) == ("mp3", 44100, 2)
            assert src._mem is None  # streamed: a 20-min one decoded whole took 1.28 GB (a review)
        assert want > 6 * 44100
        data = (tmp_path / name).read_bytes()  # cut in half: said, as a cut MP3 is (the fact chunk's length)
        (tmp_path / "half.wav").write_bytes(data[:len(data) // 2])
        with AudioSource(str(tmp_path / "half.wav")) as src:
            drain(src)
            assert len(src.warnings) == 1 and src.warnings[0].startswith("header promises 6.0"), src.warnings


@pytest.mark.skipif(ffmpeg_read.ffmpeg_available() is False, reason="needs ffmpeg")
def test_an_mp3_of_no_frames_is_said_to_hold_no_audio(tmp_path):
    """ffmpeg's MP3 of a cut past its source's end: an Info frame stating 0 frames. It was "corrupt or truncated
    MP3 data (libsndfile: File does not exist or is not a regular file (possibly a pipe?))" (session 60)."""
    from muzip.errors import AudioReadError
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-ss", "5", "-c:a", "libmp3lame",
                    str(tmp_path / "none.mp3")], check=True)
    with pytest.raises(AudioReadError, match=r"none\.mp3: no audio in it \(an MP3 whose Info frame states 0 frames\)$"):
        AudioSource(str(tmp_path / "none.mp3"))
