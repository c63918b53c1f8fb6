"""muzip.audio.AudioSource on damaged input: every failure is a MuzipError, salvage is warned."""

import io
import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.errors import AudioReadError, MuzipError

HAVE_FFMPEG = shutil.which("ffmpeg") is not None and shutil.which("ffprobe") is not None
# (extension, soundfile format, subtype, rate); MP3 and Opus only where this libsndfile has them
FORMATS = [("wav", "WAV", "PCM_16", 44100), ("wav", "WAV", "FLOAT", 44100), ("flac", "FLAC", "PCM_16", 44100),
           ("ogg", "OGG", "VORBIS", 44100)]
if "MP3" in sf.available_formats():
    FORMATS.append(("mp3", "MP3", "MPEG_LAYER_III", 44100))
if "OPUS" in sf.available_subtypes("OGG"):
    FORMATS.append(("opus", "OGG", "OPUS", 48000))


def noise(n, channels=2, seed=0):
    """Noisy music-ish signal: compresses badly, so files are big enough to damage mid-way."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 44100.0
    x = 0.3 * np.sin(2 * np.pi * 330 * t)[:, None] + 0.2 * rng.standard_normal((n, channels))
    return np.clip(x, -1, 1).astype(np.float32)


def encode(x, rate, fmt, subtype):
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def read_or_muzip_error(path):
    """Reading damaged input either works (finite float32 blocks) or raises a MuzipError: nothing else."""
    try:
        with AudioSource(str(path)) as src:
            return drain(src)
    except MuzipError as exc:
        assert "\n" not in str(exc)  # one line
        return None


def drain(src, block=4096):
    n = 0
    for b in src.blocks(block):
        assert b.dtype == np.float32 and np.isfinite(b).all()
        n += b.shape[0]
    assert n == src.samples_read
    return n


def one_line(messages):
    for m in messages:
        assert isinstance(m, str) and m and "\n" not in m


# --- header promises more than the file holds --------------------------------------------

def test_truncated_wav_warns_with_both_lengths(tmp_path):
    data = encode(np.zeros((441000, 1), np.float32), 44100, "WAV", "PCM_16")
    p = tmp_path / "cut.wav"
    p.write_bytes(data[: 44 + 123480 * 2])  # 10 s promised, 2.8 s there
    with AudioSource(str(p)) as src:
        assert src.info.num_samples == 123480  # libsndfile clamps to the data present...
        assert drain(src) == 123480
    # ...so the promise is read from the RIFF header itself
    assert src.warnings == ["header promises 10.000 s (441000 samples) but the file holds "
                            "2.800 s (123480 samples); read what is there"]


@pytest.mark.parametrize("ext,fmt,subtype,rate", [f for f in FORMATS if f[0] in ("flac", "mp3")])
def test_truncated_flac_mp3_warn(tmp_path, ext, fmt, subtype, rate):
    data = encode(noise(rate * 3), rate, fmt, subtype)
    p = tmp_path / f"cut.{ext}"
    p.write_bytes(data[: len(data) * 2 // 5])
    with AudioSource(str(p)) as src:
        n = drain(src)
    assert 0 < n < rate * 3 * 0.6
    assert len(src.warnings) == 1 and src.warnings[0].startswith(f"header promises 3.000 s ({rate * 3} samples)")
    assert f"the file holds {n / rate:.3f} s ({n} samples); read what is there" in src.warnings[0]


@pytest.mark.parametrize("ext,fmt,subtype,rate", [f for f in FORMATS if f[1] == "OGG"])
def test_truncated_ogg_warns(tmp_path, ext, fmt, subtype, rate):
    data = encode(noise(rate * 6), rate, fmt, subtype)
    p = tmp_path / f"cut.{ext}"
    p.write_bytes(data[: len(data) * 3 // 5])  # an Ogg cut before its first audio page is an error
    with AudioSource(str(p)) as src:
        n = drain(src)
    assert src.warnings == ["the Ogg stream ends without its end-of-stream page (file cut short?); "
                            f"read the {n / rate:.3f} s ({n} samples) that are there"]


@pytest.mark.parametrize("ext,fmt,subtype,rate", FORMATS)
def test_intact_files_have_no_warnings(tmp_path, ext, fmt, subtype, rate):
    p = tmp_path / f"ok.{ext}"
    p.write_bytes(encode(noise(rate), rate, fmt, subtype))
    with AudioSource(str(p)) as src:
        assert drain(src, 1000) == rate
    assert src.warnings == []


def test_stdin_truncated_warns():
    data = encode(noise(8000, 1), 8000, "WAV", "PCM_16")
    with AudioSource("-", stdin=io.BytesIO(data[: 44 + 3000 * 2 + 1])) as src:
        assert src.info.num_samples == 8000
        assert drain(src, 512) == 3000
    assert src.warnings == ["header promises 1.000 s (8000 samples) but the file holds 0.375 s "
                            "(3000 samples); read what is there"]


# --- corrupt data ------------------------------------------------------------------------

def test_corrupt_flac_mid_stream_is_read_on_past_it(tmp_path):
    """(It was an AudioReadError until session 57: tests/audio/test_damaged_middle.py.)"""
    data = bytearray(encode(noise(44100 * 5), 44100, "FLAC", "PCM_16"))
    data[len(data) // 4] ^= 0x10
    p = tmp_path / "bad.flac"
    p.write_bytes(bytes(data))
    with AudioSource(str(p)) as src:
        assert drain(src) == 44100 * 5
    assert len(src.warnings) == 1 and src.warnings[0].startswith("the FLAC data is damaged in one place, from ")


@pytest.mark.parametrize("ext,magic", [("flac", b"fLaC"), ("wav", b"RIFF"), ("ogg", b"OggS")])
def test_corrupt_header_is_audio_read_error(tmp_path, ext, magic, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)  # same message with or without ffmpeg
    p = tmp_path / f"bad.{ext}"
    p.write_bytes(magic + b"\x00\xff" * 20)
    name = {"ogg": "Ogg"}.get(ext, ext.upper())
    with pytest.raises(AudioReadError, match=rf"bad\.{ext}: corrupt or truncated {name} data \(libsndfile: .+\)$"):
        AudioSource(str(p))


def test_mutations_never_escape(tmp_path, monkeypatch):
    """Seeded truncations and byte flips of every format: only MuzipErrors, finite blocks.
    (ffmpeg off: the same outcome on every machine, and fast; test_damaged_m4a covers it.)"""
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    rng = np.random.default_rng(1234)
    for ext, fmt, subtype, rate in FORMATS:
        base = encode(noise(rate // 3), rate, fmt, subtype)
        for i in range(40):
            d = bytearray(base)
            kind = i % 4
            if kind == 0:
                d = d[: rng.integers(1, len(d))]
            elif kind == 1:  # anywhere
                for _ in range(rng.integers(1, 20)):
                    d[rng.integers(len(d))] ^= int(rng.integers(1, 256))
            elif kind == 2:  # the header
                for _ in range(rng.integers(1, 6)):
                    d[rng.integers(min(len(d), 200))] = int(rng.integers(256))
            else:  # a burst of garbage
                a = int(rng.integers(len(d)))
                d[a : a + 500] = rng.integers(0, 256, len(d[a : a + 500]), dtype=np.uint8).tobytes()
            p = tmp_path / f"m{i}.{ext}"
            p.write_bytes(bytes(d))
            try:
                with AudioSource(str(p), downmix=bool(i & 1)) as src:
                    drain(src, int(rng.integers(1, 5000)))
                one_line(src.warnings)
            except MuzipError as e:
                assert "\n" not in str(e), (ext, subtype, i)


# --- non-finite samples ------------------------------------------------------------------

def test_nan_inf_sanitised_with_one_warning(tmp_path):
    x = np.full((3000, 2), 0.25, np.float32)
    x[10, 0], x[20, 1], x[2500, 0] = np.nan, np.inf, -np.inf
    x[30, 0], x[31, 1] = 1.5, -3.0  # finite but beyond full scale: clipped too (issue 23)
    p = tmp_path / "f.wav"
    sf.write(p, x, 44100, subtype="FLOAT")
    with AudioSource(str(p)) as src:
        y = np.concatenate(list(src.blocks(1000)))
    assert (y[10, 0], y[20, 1], y[2500, 0]) == (0.0, 1.0, -1.0)
    assert (y[30, 0], y[31, 1]) == (1.0, -1.0)
    assert src.warnings == ["clipped 5 samples outside full scale to [-1, 1] (|x| > 1, Inf or NaN; NaN -> 0)"]


def test_nan_in_surround_is_sanitised_before_downmix(tmp_path):
    x = np.zeros((100, 6), np.float32)
    x[5, 2] = np.nan
    p = tmp_path / "s.wav"
    sf.write(p, x, 48000, subtype="FLOAT")
    with AudioSource(str(p), downmix=True) as src:
        y = np.concatenate(list(src.blocks(64)))
    assert np.isfinite(y).all() and src.warnings == [
        "clipped 1 sample outside full scale to [-1, 1] (|x| > 1, Inf or NaN; NaN -> 0)"]


# --- ffmpeg formats ----------------------------------------------------------------------

@pytest.mark.skipif(not HAVE_FFMPEG, reason="ffmpeg not installed")
def test_damaged_m4a(tmp_path):
    w = tmp_path / "in.wav"
    sf.write(w, noise(44100 * 2), 44100)
    m = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(w), "-c:a", "aac", str(m)], check=True)
    data = m.read_bytes()
    (tmp_path / "cut.m4a").write_bytes(data[: len(data) // 2])  # moov atom (at the end) lost
    with pytest.raises(AudioReadError, match=r"cut\.m4a: ") as e:
        with AudioSource(str(tmp_path / "cut.m4a")) as src:
            drain(src)
    assert "\n" not in str(e.value)
    rng = np.random.default_rng(5)
    for i in range(6):
        d = bytearray(data)
        for _ in range(10):
            d[rng.integers(len(d))] ^= 0xFF
        p = tmp_path / f"flip{i}.m4a"
        p.write_bytes(bytes(d))
        read_or_muzip_error(p)


def test_truncated_wav_header_pointing_past_end_of_chunks(tmp_path):
    # A fmt chunk size that runs past the end: libsndfile refuses; we must not struct.error.
    data = bytearray(encode(noise(100, 1), 8000, "WAV", "PCM_16"))
    data[16:20] = struct.pack("<I", 0x7FFFFFF0)
    p = tmp_path / "h.wav"
    p.write_bytes(bytes(data))
    read_or_muzip_error(p)


# --- an Ogg that libsndfile cannot finish and ffmpeg can -------------------------------------

def _opus_from_the_clip(tmp_path, *cut, kbps=64):
    """ffmpeg's Opus of the bundled Ogg Vorbis clip: valid (ffmpeg decodes all 12 s), yet libsndfile 1.2.2
    calls it malformed at 6 s (a first-use review found `muzip compress k.opus` failing on it)."""
    from tests.conftest import CLIP
    p = tmp_path / "k.opus"
    r = subprocess.run(["ffmpeg", "-v", "error", "-y", *cut, "-i", str(CLIP), "-c:a", "libopus", "-b:a", f"{kbps}k",
                        str(p)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("this ffmpeg has no libopus encoder")
    return p


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_an_ogg_libsndfile_stops_in_is_read_to_its_end_by_ffmpeg(tmp_path):
    p = _opus_from_the_clip(tmp_path)
    with sf.SoundFile(str(p)) as f:
        try:
            f.read(dtype="float32")
            pytest.skip("this libsndfile reads the file whole")
        except Exception:  # noqa: BLE001 - what is tested is that muzip goes on where libsndfile stops
            pass
    with AudioSource(str(p)) as src:
        x = np.concatenate(list(src.blocks(4096)))
        assert src.warnings == [] and x.shape[1] == 2
    whole = np.frombuffer(subprocess.run(["ffmpeg", "-v", "error", "-i", str(p), "-f", "f32le", "-ac", "2", "-ar",
                                          "48000", "-"], capture_output=True).stdout, np.float32).reshape(-1, 2)
    assert len(whole) == len(x) and np.max(np.abs(whole - x)) < 1e-2  # the two Opus decoders, in line
    bad = bytearray(p.read_bytes())
    bad[len(bad) * 3 // 4] ^= 0xFF  # and a file damaged past that point is still an error, one line
    (tmp_path / "bad.opus").write_bytes(bytes(bad))
    with AudioSource(str(tmp_path / "bad.opus")) as src:
        with pytest.raises(AudioReadError, match=r"bad\.opus: corrupt or truncated Ogg data( at \d+\.\d{3} s)? "
                                                 r"\((libsndfile: .+; )?ffmpeg: [^\[].*\)$"):  # ffmpeg's read whole
            drain(src)


def _without_page(data: bytes, k: int) -> bytes:
    """The Ogg file with its k-th page left out (a page is 27 bytes, its segment table and its segments)."""
    pages, at = [], 0
    while at < len(data):
        assert data[at:at + 4] == b"OggS"
        n = data[at + 26]
        size = 27 + n + sum(data[at + 27:at + 27 + n])
        pages.append(data[at:at + size])
        at += size
    return b"".join(p for i, p in enumerate(pages) if i != k)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_a_page_missing_is_found_whichever_decoder_reads_it(tmp_path):
    """ffmpeg reads on over a missing page without a word (a review found such an Opus accepted whole);
    libsndfile decodes a Vorbis stream short without one: the last page's length tells both."""
    p = _opus_from_the_clip(tmp_path)
    (tmp_path / "gap.opus").write_bytes(_without_page(p.read_bytes(), 5))
    with AudioSource(str(tmp_path / "gap.opus")) as src:
        with pytest.raises(AudioReadError, match=r"frames fewer than the stream's last page states\)$"):
            drain(src)
    vorbis = tmp_path / "gap.ogg"
    vorbis.write_bytes(_without_page(encode(noise(44100 * 6), 44100, "OGG", "VORBIS"), 6))
    with AudioSource(str(vorbis)) as src:
        n = drain(src)
    assert n < 44100 * 6 - 8192 and src.warnings == [
        f"the stream's last page states 6.000 s (264600 samples) but the file holds {n / 44100:.3f} s ({n} samples); "
        "read what is there"]


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_where_libsndfile_stops_near_the_end_ffmpeg_reads_on(tmp_path):
    """Within libsndfile's read-ahead of the end a failure looked like a cut file: 0.2 s lost, exit 3."""
    p = _opus_from_the_clip(tmp_path, "-t", "6.2", kbps=32)
    with AudioSource(str(p)) as src:
        n = drain(src)
    assert n == 297600 and src.warnings == []  # (read by ffmpeg from its start: its page positions are off)


@pytest.mark.skipif(not HAVE_FFMPEG or "MP3" not in sf.available_formats(), reason="needs ffmpeg and MP3")
def test_two_mp3s_one_after_the_other_are_read_whole(tmp_path):
    """`cat a.mp3 b.mp3` plays whole in every player; mpg123 stopped where a's LAME header says a ends, and
    b was lost without a word (4 of 8 s)."""
    from tests.conftest import CLIP
    for i, start in enumerate((0, 4)):
        r = subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-t", "4", "-i", str(CLIP), "-c:a",
                            "libmp3lame", "-b:a", "128k", str(tmp_path / f"p{i}.mp3")], capture_output=True)
        if r.returncode != 0:
            pytest.skip("this ffmpeg has no MP3 encoder")
    (tmp_path / "both.mp3").write_bytes((tmp_path / "p0.mp3").read_bytes() + (tmp_path / "p1.mp3").read_bytes())
    with AudioSource(str(tmp_path / "p0.mp3")) as src:
        first = np.concatenate(list(src.blocks(4096)))
        assert src.warnings == []
    with AudioSource(str(tmp_path / "both.mp3")) as src:
        both = np.concatenate(list(src.blocks(4096)))
    assert len(both) > 2 * 44100 * 3.9 and np.array_equal(both[:len(first)], first)
    # said, if ffmpeg had something to say: the second's ID3 tag in between (session 61)
    assert all("another file appended?" in w or "another MP3 follows" in w for w in src.warnings), src.warnings
    # A cover-art tag at the end (ID3v2 appended, or APEv2) is not more audio: read as before, nothing said
    import struct
    rng = np.random.default_rng(0)
    art = bytes(rng.integers(0, 256, 30000, dtype=np.uint8))  # JPEG-like: 0xFF bytes everywhere
    frame = b"APIC" + struct.pack(">I", len(art) + 14) + b"\0\0" + b"\0image/jpeg\0\x03\0" + art
    n = len(frame)
    id3 = b"ID3\x03\0\0" + bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127]) + frame
    item = struct.pack("<II", len(art), 2) + b"Cover Art (Front)\0" + art
    ape = (b"APETAGEX" + struct.pack("<IIII", 2000, len(item) + 32, 1, 0xA0000000) + b"\0" * 8 + item
           + b"APETAGEX" + struct.pack("<IIII", 2000, len(item) + 32, 1, 0x80000000) + b"\0" * 8)
    for tag in (id3, ape):
        (tmp_path / "tagged.mp3").write_bytes((tmp_path / "p0.mp3").read_bytes() + tag)
        with AudioSource(str(tmp_path / "tagged.mp3")) as src:
            assert np.array_equal(np.concatenate(list(src.blocks(4096))), first) and src.warnings == []


def test_a_second_ogg_stream_chained_after_the_first_is_named(tmp_path):
    """A chained Ogg (`cat a.ogg b.ogg`): libsndfile and ffmpeg stop after the first stream; it was silent."""
    one = encode(noise(44100 * 2), 44100, "OGG", "VORBIS")
    p = tmp_path / "chain.ogg"
    p.write_bytes(one + encode(noise(44100 * 2, seed=1), 44100, "OGG", "VORBIS"))
    with AudioSource(str(p)) as src:
        n = drain(src)
    assert n == 2 * 44100 and len(src.warnings) == 1
    left, text = src.warnings[0].split(" ", 1)
    assert text == "bytes follow the Ogg stream's 2.000 s (88200 samples) (another stream chained after it?); read those"
    assert len(p.read_bytes()) - len(one) - 8192 < int(left) <= len(p.read_bytes()) - len(one)  # read ahead a little
