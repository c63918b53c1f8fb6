"""WAV files a codec review found read wrong (session 62): a data chunk stating 0 bytes (a recorder stopped before
writing its size) read as 0 s and compressed to an empty .mz, exit 0."""

import os
import struct

import numpy as np
import pytest
import soundfile as sf

from muzip.audio import AudioSource
from muzip.audio.probe import riff_data_unsized
from muzip.cli import cli


def _tone(path, seconds=3, rate=44100, subtype="PCM_16"):
    t = np.arange(rate * seconds) / rate
    x = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)], 1)
    sf.write(path, x, rate, subtype=subtype)
    return sf.read(path, dtype="float32")[0]


def _size_field(path, data_size, riff_size=None):
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, raw.find(b"data") + 4, data_size)
    if riff_size is not None:
        struct.pack_into("<I", raw, 4, riff_size)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("riff_size", [None, 0])
def test_a_wav_whose_data_size_is_zero_is_read_to_its_end(tmp_path, subtype, riff_size):
    p = tmp_path / "rec.wav"
    x = _tone(p, subtype=subtype)
    _size_field(p, 0, riff_size)
    with open(p, "rb") as f:
        assert riff_data_unsized(f.fileno())
    with AudioSource(str(p)) as src:
        got = np.concatenate(list(src.blocks(10000)))
        assert src.info.sample_rate == 44100 and src.info.channels == 2 and not src.warnings
    assert got.shape == x.shape and np.array_equal(got, x)


def test_a_recording_whose_size_was_never_written_compresses_whole(tmp_path, runner):
    p = tmp_path / "rec.wav"
    _tone(p, seconds=4)
    _size_field(p, 0, 0)
    r = runner.invoke(cli, ["compress", "-q", str(p)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "rec.mz"), "-o", str(tmp_path / "out.wav")])
    assert r.exit_code == 0 and sf.info(tmp_path / "out.wav").frames == 4 * 44100  # it was an empty .mz


def test_a_wav_of_no_samples_stays_an_empty_file_and_a_sized_one_is_not_unsized(tmp_path):
    p = tmp_path / "empty.wav"
    sf.write(p, np.zeros((0, 2), np.float32), 44100)  # size 0 and nothing after it: truly empty
    with open(p, "rb") as f:
        assert not riff_data_unsized(f.fileno())
    q = tmp_path / "sized.wav"
    _tone(q, seconds=1)
    with open(q, "rb") as f:
        assert not riff_data_unsized(f.fileno())


@pytest.mark.parametrize("comment_bytes", [200, 6000, 9000])
def test_long_tag_values_survive_a_wav(tmp_path, comment_bytes):
    """libsndfile leaves out a LIST/INFO value of about 4 KB or more: a WAV muzip wrote itself (INFO values up to
    8 KB) lost its comment, and the other tags' neighbours at random. INFO is read here; a value over its cap is
    written whole to the id3 chunk too."""
    from muzip.audio import AudioSink
    tags = {"title": "T", "artist": "R", "album": "A", "date": "2001", "comment": "x" * comment_bytes}
    p = tmp_path / "t.wav"
    with open(p, "wb") as f, AudioSink(f, 44100, 2, "wav", tags=tags) as sink:
        sink.write(np.zeros((4410, 2), np.float32))
    with AudioSource(str(p)) as src:
        assert src.info.tags == tags


@pytest.mark.parametrize("name", ["a" * 251 + ".mz", "曲" * 83 + ".mz", "x.mz"])
def test_an_output_name_of_up_to_255_bytes_is_written(tmp_path, runner, name):
    """The temporary name (".NAME.XXXXXXXX.part") was 15 bytes longer than the output's: a legal name of 241-255
    bytes (80 Japanese characters) failed "File name too long"."""
    from muzip.outputs import atomic_output, part_prefix
    assert len(name.encode()) <= 255
    with atomic_output(str(tmp_path / name), force=False) as f:
        assert len(os.path.basename(f.name).encode()) <= 255 and os.path.basename(f.name).startswith(part_prefix(name))
        f.write(b"mz")
    assert os.listdir(tmp_path) == [name] and (tmp_path / name).read_bytes() == b"mz"
    src = tmp_path / (name[:-3] + ".wav")
    if len(src.name.encode()) <= 255:  # and the whole command, through the batch
        _tone(src, seconds=1)
        r = runner.invoke(cli, ["compress", "-q", "-f", str(src)])
        assert r.exit_code == 0, r.output


def _extensible_wav(path, x, mask, rate=44100):
    """A 16-bit WAVE_FORMAT_EXTENSIBLE file with this channel mask."""
    pcm = (np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes()
    c = x.shape[1]
    guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, c, rate, rate * 2 * c, 2 * c, 16, 22, 16, mask) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def _mixed(path):
    with AudioSource(str(path), downmix=True) as src:
        return np.sqrt((np.concatenate(list(src.blocks(4096))) ** 2).mean(axis=0))


def test_the_downmix_reads_a_wavs_channel_mask_and_oggs_vorbis_order(tmp_path):
    t = np.arange(4410) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    x = np.zeros((len(t), 4))
    x[:, 2] = tone  # with mask 0x0F (FL FR FC LFE) the third channel is the centre, not the quad's back left
    _extensible_wav(tmp_path / "c31.wav", x, 0x0F)
    left, right = _mixed(tmp_path / "c31.wav")
    assert left > 0.1 and abs(left - right) < 1e-3
    x[:, 2], x[:, 3] = 0, tone  # the LFE: left out
    _extensible_wav(tmp_path / "lfe.wav", x, 0x0F)
    assert _mixed(tmp_path / "lfe.wav").max() < 1e-4
    _extensible_wav(tmp_path / "quad.wav", x, 0x33)  # FL FR BL BR: the fourth is the back right
    left, right = _mixed(tmp_path / "quad.wav")
    assert right > 0.1 and left < 1e-4
    x = np.zeros((len(t), 4))
    x[:, 2] = tone  # 4.0 (FL FR FC BC): a FLAC's mask comment, an M4A's or CAF's layout (ffprobe), a pipe's mask
    _extensible_wav(tmp_path / "c40.wav", x, 0x107)
    import io
    import shutil
    import subprocess
    converted = [tmp_path / f"c40.{ext}" for ext in ("flac", "m4a", "caf")] if shutil.which("ffmpeg") else []
    for out in converted:
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "c40.wav"), str(out)], check=True)
    for path in [tmp_path / "c40.wav", *converted]:
        left, right = _mixed(path)
        assert left > 0.05 and abs(left - right) < 0.02 * left, path
    with AudioSource("-", downmix=True, stdin=io.BytesIO((tmp_path / "c40.wav").read_bytes())) as src:
        left, right = np.sqrt((np.concatenate(list(src.blocks(4096))) ** 2).mean(axis=0))
    assert left > 0.05 and abs(left - right) < 0.02 * left
    y = np.zeros((len(t), 6))
    y[:, 1] = tone  # Vorbis order: FL FC FR BL BR LFE, so the second channel is the centre
    sf.write(tmp_path / "six.ogg", y, 44100)
    left, right = _mixed(tmp_path / "six.ogg")
    assert left > 0.05 and abs(left - right) < 0.01 * left


def _info(fields):
    body = b"INFO"
    for cid, text in fields:
        raw = text.encode() + b"\0"
        body += cid + struct.pack("<I", len(raw)) + raw + b"\0" * (len(raw) & 1)
    return b"LIST" + struct.pack("<I", len(body)) + body


def _wav(chunks, data=b"", data_size=None, fmt_tag=1, bits=16):
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, 8000, 8000 * bits // 8, bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack(
        "<I", len(data) if data_size is None else data_size) + data + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_an_empty_wav_with_tags_after_its_data_stays_empty_and_keeps_them(tmp_path):
    """A diff review (session 62): a well-formed WAV of no samples with a LIST chunk after its data read its tags
    as 27 samples (the data size 0 taken as a recorder's "unknown"). Of two INFO chunks, the later's values count."""
    p = tmp_path / "empty.wav"
    p.write_bytes(_wav([_info([(b"INAM", "Title"), (b"IART", "Artist")])]))
    with AudioSource(str(p)) as src:
        assert sum(len(b) for b in src.blocks(1000)) == 0 and src.info.tags == {"title": "Title", "artist": "Artist"}
    q = tmp_path / "two.wav"
    q.write_bytes(_wav([_info([(b"IART", "B")]), _info([(b"INAM", "Second")])], data=bytes(800)))
    with AudioSource(str(q)) as src:
        assert src.info.tags == {"title": "Second", "artist": "B"}  # as libsndfile merges them


def test_a_size_zero_wav_this_reader_cannot_read_fails(tmp_path, runner):
    """µ-law with its data size 0 compressed to an empty .mz, exit 0: now one line, exit 1."""
    p = tmp_path / "ulaw.wav"
    p.write_bytes(_wav([], data=bytes(range(256)) * 31, data_size=0, fmt_tag=7, bits=8))
    r = runner.invoke(cli, ["compress", str(p)])
    assert r.exit_code == 1 and not (tmp_path / "ulaw.mz").exists()
    assert r.stderr.startswith(f"muzip: {p}: its data chunk states 0 bytes and audio follows, in an encoding muzip "
                               "reads only with its size (") and len(r.stderr.strip().splitlines()) == 1


def test_info_values_of_a_windows_code_page_are_read_as_it(tmp_path):
    p = tmp_path / "cp.wav"
    body = b"INFO" + b"INAM" + struct.pack("<I", 10) + "Café Noël".encode("cp1252") + b"\0"
    p.write_bytes(_wav([b"LIST" + struct.pack("<I", len(body)) + body], data=bytes(800)))
    with AudioSource(str(p)) as src:
        assert src.info.tags["title"] == "Café Noël"  # "Caf\ufffd No\ufffdl" before (as libsndfile reads it)
