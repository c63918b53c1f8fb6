"""Ogg Opus files whose pages' positions are not their packets' (session 60): ffmpeg's Opus of an Ogg Vorbis whose
timestamps jitter, as drascula-music's tracks are, states a page's granule position 488 samples past its packets.
Valid (ffmpeg decodes them whole), yet libsndfile 1.2.2 calls them malformed part-way and muzip refused them."""

import struct
import subprocess

import numpy as np
import pytest

from muzip.audio import AudioSource
from muzip.audio.ffmpeg_resume import _in_line

from test_audio_damage import HAVE_FFMPEG, _opus_from_the_clip


def _pages(data: bytes) -> list[tuple[int, int]]:
    out, at = [], 0
    while at < len(data):
        n = data[at + 26]
        size = 27 + n + sum(data[at + 27:at + 27 + n])
        out.append((at, at + size))
        at += size
    return out


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for b in page:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
@pytest.mark.parametrize("late", [488, 257])
def test_an_opus_whose_first_page_says_it_starts_later_is_read_whole(tmp_path, late):
    """ffmpeg's Opus of an Ogg Vorbis whose timestamps jitter (drascula's track15.ogg: 488; track20.ogg: 257): the
    first audio page's granule position past its packets. libsndfile keeps that much of the 312-sample pre-skip,
    ffmpeg drops it, and libsndfile calls the file malformed at 2 s: no place lined up and a valid file was refused
    (session 60). Such a file is now read by ffmpeg from its start, as every player reads it."""
    (tmp_path / "late.opus").write_bytes(_granule_moved(_opus_from_the_clip(tmp_path).read_bytes(), 2, late))
    with AudioSource(str(tmp_path / "late.opus")) as src:
        x = np.concatenate(list(src.blocks(4096)))
        assert src.warnings == []
    whole = _ffmpeg_decode(tmp_path / "late.opus")
    assert len(x) == len(whole) and np.max(np.abs(x - whole)) < 1e-6


def test_page_positions_off_are_told_from_a_page_gone(tmp_path):
    """probe.opus_positions_off walks the pages: positions not where their packets end (the last page may state
    less: the padding trimmed); a page missing is damage, left to the reader that finds it."""
    import os
    from muzip.audio.probe import opus_positions_off

    def off(data):
        (tmp_path / "x.opus").write_bytes(data)
        fd = os.open(tmp_path / "x.opus", os.O_RDONLY)
        try:
            return opus_positions_off(fd)
        finally:
            os.close(fd)
    src = tmp_path / "src.wav"
    t = np.arange(48000 * 4) / 48000
    import soundfile as sf
    sf.write(src, np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], 1) * 0.3, 48000)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-c:a", "libopus", str(tmp_path / "clean.opus")],
                   check=True)
    clean = (tmp_path / "clean.opus").read_bytes()
    assert not off(clean)
    assert off(_granule_moved(clean, 3, 488))
    pages = _pages(clean)
    assert not off(clean[:pages[3][0]] + clean[pages[3][1]:])  # a page gone: not "off"
    assert not off(b"OggS" + bytes(60))


def _granule_moved(data: bytes, k: int, by: int) -> bytes:
    """The Ogg file with page k's granule position moved by `by` samples (its CRC made again)."""
    data = bytearray(data)
    at, end = _pages(bytes(data))[k]
    struct.pack_into("<q", data, at + 6, struct.unpack_from("<q", data, at + 6)[0] + by)
    struct.pack_into("<I", data, at + 22, 0)
    struct.pack_into("<I", data, at + 22, _ogg_crc(bytes(data[at:end])))
    return bytes(data)


def _ffmpeg_decode(path) -> np.ndarray:
    return np.frombuffer(subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar",
                                         "48000", "-"], capture_output=True, check=True).stdout,
                         np.float32).reshape(-1, 2)


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_a_page_past_its_packets_in_the_middle_is_read_whole(tmp_path):
    """Page 6 of the clip's Opus 488 samples late: ffmpeg decodes every sample, but its output muxer (f32le) says
    "non monotonically increasing dts", which was taken for damage of the file."""
    (tmp_path / "late6.opus").write_bytes(_granule_moved(_opus_from_the_clip(tmp_path).read_bytes(), 6, 488))
    with AudioSource(str(tmp_path / "late6.opus")) as src:
        x = np.concatenate(list(src.blocks(4096)))
        assert src.warnings == []
    whole = _ffmpeg_decode(tmp_path / "late6.opus")
    assert len(x) == len(whole) and np.max(np.abs(x - whole)) < 1e-2


def test_two_decoders_that_drift_apart_a_little_are_in_line_and_one_sample_is_not():
    """libsndfile's Opus decoder drifts from ffmpeg's near where it calls a file malformed (drascula's track4.ogg
    as Opus at 24 kbps: 0.011 at most, 4 % of the RMS), over AGREE (0.01): a valid file was refused."""
    rng = np.random.default_rng(0)
    ffmpeg = (0.2 * rng.standard_normal((8000, 2))).astype(np.float32)
    libsndfile = ffmpeg[:6000] + (0.012 * np.sin(np.arange(6000) / 7))[:, None].astype(np.float32)
    tail = libsndfile[-2048:]
    assert np.array_equal(_in_line(ffmpeg, 0, 6000, tail, 0), ffmpeg[6000:])
    assert _in_line(np.concatenate([ffmpeg[:1], ffmpeg]), 0, 6000, tail, 0) is None  # one sample out


def test_the_muxers_lines_hide_no_error_however_many(tmp_path):
    """ffmpeg's output muxer writes a line a packet of such a file; the first 64 KiB of them hid the decoder's
    error after them (a review, session 60), and a line cut at 64 KiB was taken for one."""
    from muzip.audio.ffmpeg_resume import _errors_said
    with open(tmp_path / "errors", "w+b") as f:
        f.write(b"[f32le @ 0x55] Application provided invalid, non monotonically increasing dts to muxer\n" * 2000)
        f.write(b"[opus @ 0x56] Error parsing the packet header.\n")
        assert _errors_said(f) == ["Error parsing the packet header."]
        f.seek(0)
        f.truncate()
        f.write(b"[f32le @ 0x55] Application provided invalid, non monotonically increasing dts to muxer\n" * 2000)
        assert _errors_said(f) == []


@pytest.mark.skipif(not HAVE_FFMPEG, reason="needs ffmpeg")
def test_such_an_opus_is_catalogued_with_its_length_and_bitrate(tmp_path):
    """It states no exact length (its .mz header none), but about one: a catalog stored it with no duration and no
    bitrate, so `dupes` ranked a 160-kbps one below a 96-kbps MP3 of it (a review, session 61)."""
    import json

    from click.testing import CliRunner

    from muzip.cli import cli
    from muzip.library.catalog import Catalog
    (tmp_path / "m").mkdir()
    path = tmp_path / "m" / "late.opus"
    path.write_bytes(_granule_moved(_opus_from_the_clip(tmp_path).read_bytes(), 2, 488))
    with AudioSource(str(path)) as src:
        assert src.info.num_samples is None and src.info.about_samples > 0
        about = src.info.about_samples / src.info.sample_rate
    r = CliRunner().invoke(cli, ["index", "-j", "1", "--json", str(tmp_path / "m"), "--db", str(tmp_path / "l.db")])
    assert r.exit_code == 0 and json.loads(r.stdout)["indexed"] == 1, r.output
    with Catalog(str(tmp_path / "l.db"), create=False) as cat:
        ((duration, kbps),) = cat._rows("SELECT duration, kbps FROM tracks")
    assert abs(duration - len(_ffmpeg_decode(path)) / 48000) < 0.02 and abs(duration - about) < 0.02
    assert abs(kbps - path.stat().st_size * 8 / duration / 1000) < 0.01
