"""Tests for the .mz container (pure Python; no tensorflow)."""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from muzip.container import (
    MAGIC, MAX_COVER_BYTES, UNKNOWN_LENGTH, ContainerReader, ContainerWriter, Frame, Header, encode_header,
    read_info,
)
from muzip.errors import CorruptFileError, MuzipError, NotMuzipError, UnsupportedVersionError


class NonSeekable(io.RawIOBase):
    """A pipe-like reader: short reads, no seek/tell."""

    def __init__(self, data, max_read=7):
        self._d, self._p, self._m = bytes(data), 0, max_read

    def readable(self):
        return True

    def seekable(self):
        return False

    def read(self, n=-1):
        n = self._m if n is None or n < 0 else min(n, self._m)
        out = self._d[self._p:self._p + n]
        self._p += len(out)
        return out


class NonSeekableWriter:
    def __init__(self):
        self.buf = bytearray()

    def write(self, b):
        self.buf += b
        return len(b)

    def seekable(self):
        return False


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def make_header(channels=2, num_samples=44100 * 5 + 100, **kw):
    base = dict(sample_rate=48000, channels=channels, num_samples=num_samples, model_rate=44100,
                frame_samples=44100, bitrate_bps=64000, model_id="muzip-small-v1",
                model_sha256=bytes(range(32)), tags={"title": "Ünïcødé ♫ 曲", "artist": "Björk", "": "empty key"})
    base.update(kw)
    return Header(**base)


def make_frames(rng, n=6, channels=2, frame_samples=44100):
    frames = []
    for i in range(n):
        size = int(rng.integers(0, 3000))
        payload = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        ns = frame_samples if i < n - 1 else int(rng.integers(1, frame_samples + 1))
        side = int(rng.integers(0, 255)) if channels == 2 else 255
        frames.append(Frame(i, ns, (int(rng.integers(0, 256)), side), payload))
    return frames


def total_of(header, frames):
    """The original-rate length the frames' model-rate samples stand for (what an index must say)."""
    return sum(f.num_samples for f in frames) * header.sample_rate // header.model_rate


def build(header, frames, total=None, out=None):
    total = total_of(header, frames) if total is None else total
    out = io.BytesIO() if out is None else out
    w = ContainerWriter(out, header)
    for f in frames:
        w.write_frame(f)
    w.finish(total)
    data = bytes(out.getvalue() if isinstance(out, io.BytesIO) else out.buf)
    assert w.bytes_written == len(data)
    return data


def scan(data, seekable=True):
    r = ContainerReader(io.BytesIO(data) if seekable else NonSeekable(data))
    return r, list(r.frames())


@pytest.fixture
def sample(rng):
    h = make_header()
    frames = make_frames(rng)
    return h, frames, build(h, frames)


def test_header_round_trip_unicode():
    for h in (make_header(), make_header(channels=1, num_samples=None, tags={})):
        r = ContainerReader(io.BytesIO(encode_header(h)))
        assert r.header == h


def test_unknown_length_encoded_as_max():
    data = encode_header(make_header(num_samples=None))
    assert struct.unpack_from("<Q", data, 9 + 5)[0] == UNKNOWN_LENGTH


@pytest.mark.parametrize("seekable", [True, False])
def test_frames_round_trip(sample, seekable):
    h, frames, data = sample
    r, evs = scan(data, seekable)
    assert r.header == h
    assert [e.frame for e in evs] == frames
    assert all(e.error is None for e in evs)
    assert [e.index for e in evs] == list(range(len(frames)))
    assert not r.truncated and r.total_num_samples == total_of(h, frames)


def test_non_seekable_writer(rng):
    h = make_header(channels=1, num_samples=None)
    frames = make_frames(rng, 4, channels=1)
    w = NonSeekableWriter()
    data = build(h, frames, out=w)
    assert data == build(h, frames)
    r, evs = scan(data, seekable=False)
    assert [e.frame for e in evs] == frames and r.header.num_samples is None


def test_random_access(sample):
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    assert r.load_index()
    assert r.n_frames == len(frames) and r.total_num_samples == total_of(h, frames)
    assert r.frame_offsets[0] == len(encode_header(h))
    for i in (3, 0, 5, 1):
        ev = r.read_frame(i)
        assert ev.frame == frames[i] and ev.error is None
    with pytest.raises(IndexError):
        r.read_frame(len(frames))
    # a damaged frame is reported, not raised
    bad = bytearray(data)
    bad[r.frame_offsets[2] + 25] ^= 0xFF
    r2 = ContainerReader(io.BytesIO(bytes(bad)))
    ev = r2.read_frame(2)
    assert ev.frame is None and "CRC" in ev.error
    assert r2.read_frame(3).frame == frames[3]


def test_random_access_without_index(sample):
    _, _, data = sample
    r = ContainerReader(io.BytesIO(data[:-20]))
    assert not r.load_index()
    with pytest.raises(CorruptFileError):
        r.read_frame(0)
    assert not ContainerReader(NonSeekable(data)).load_index()


def test_zero_frames():
    h = make_header(num_samples=0)
    data = build(h, [], total=0)
    r, evs = scan(data)
    assert evs == [] and not r.truncated and r.total_num_samples == 0
    assert r.load_index() and r.n_frames == 0 and r.frame_offsets == []
    r, evs = scan(data, seekable=False)
    assert evs == [] and not r.truncated
    info = read_info(io.BytesIO(data))
    assert info["n_frames"] == 0 and info["duration_s"] == 0


def test_read_info(sample):
    h, frames, data = sample
    info = read_info(io.BytesIO(data))
    assert info["index_valid"] and info["n_frames"] == len(frames)
    total = total_of(h, frames)
    assert info["file_size"] == len(data) and info["total_num_samples"] == total
    assert info["duration_s"] == pytest.approx(total / 48000)
    assert info["actual_bitrate_bps"] == pytest.approx(len(data) * 8 / (total / 48000))
    assert info["tags"] == h.tags and info["model_sha256"] == bytes(range(32)).hex()
    assert info["truncated"] is False and info["damaged_frames"] is None
    full = read_info(io.BytesIO(data), verify=True)
    assert full["damaged_frames"] == 0 and full["n_frames"] == len(frames)
    cut = read_info(io.BytesIO(data[:-200]))
    assert not cut["index_valid"] and cut["truncated"] and cut["file_size"] == len(data) - 200
    piped = read_info(NonSeekable(data))
    assert piped["file_size"] == len(data) and piped["n_frames"] == len(frames)


@pytest.mark.parametrize("data", [b"", b"\x89M", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"ID3\x04" + bytes(100)])
def test_not_muzip(data):
    with pytest.raises(NotMuzipError):
        ContainerReader(io.BytesIO(data))


def test_random_bytes_not_muzip(rng):
    for _ in range(20):
        data = rng.integers(0, 256, int(rng.integers(0, 2000)), dtype=np.uint8).tobytes()
        if data[:4] == MAGIC:
            continue
        with pytest.raises(NotMuzipError):
            ContainerReader(io.BytesIO(data))


def test_unsupported_version(sample):
    data = bytearray(sample[2])
    data[4] = 2
    with pytest.raises(UnsupportedVersionError):
        ContainerReader(io.BytesIO(bytes(data)))


def test_header_corruption(sample, rng):
    h, _, data = sample
    hlen = len(encode_header(h))
    for pos in list(range(5, hlen)) + [hlen - 1]:
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        with pytest.raises(CorruptFileError):
            ContainerReader(io.BytesIO(bytes(bad)))
    with pytest.raises(CorruptFileError):
        ContainerReader(io.BytesIO(data[:hlen - 1]))


def test_header_field_validation():
    body = bytearray(encode_header(make_header())[9:-4])
    body[4] = 3  # channels
    pre = MAGIC + bytes([1]) + struct.pack("<I", len(body)) + bytes(body)
    with pytest.raises(CorruptFileError, match="header is damaged"):
        ContainerReader(io.BytesIO(pre + struct.pack("<I", zlib.crc32(pre))))
    body = bytearray(encode_header(make_header())[9:-10])  # tags run past the body
    pre = MAGIC + bytes([1]) + struct.pack("<I", len(body)) + bytes(body)
    with pytest.raises(CorruptFileError, match="header is damaged"):
        ContainerReader(io.BytesIO(pre + struct.pack("<I", zlib.crc32(pre))))


@pytest.mark.parametrize("seekable", [True, False])
def test_payload_flip_only_that_frame(sample, seekable):
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    r.load_index()
    for k in range(len(frames)):
        bad = bytearray(data)
        bad[r.frame_offsets[k] + r.frame_sizes[k] - 5] ^= 0x10  # last payload byte (or level/len if empty)
        r2, evs = scan(bytes(bad), seekable)
        assert [e.index for e in evs] == list(range(len(frames)))
        for e in evs:
            if e.index == k:
                assert e.frame is None and e.error.startswith(f"frame {k}:")
            else:
                assert e.frame == frames[e.index]
        assert not r2.truncated


def test_sync_destroyed_resyncs(sample):
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    r.load_index()
    for k in range(len(frames)):
        bad = bytearray(data)
        bad[r.frame_offsets[k]:r.frame_offsets[k] + 4] = b"\0\0\0\0"
        _, evs = scan(bytes(bad))
        assert len(evs) == len(frames)
        assert evs[k].frame is None and evs[k].error
        assert all(e.frame == frames[e.index] for e in evs if e.index != k)


def test_lost_frames_reported_missing(sample):
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    r.load_index()
    o = r.frame_offsets
    # frames 2 and 3 overwritten, and the last frame cut out entirely
    spliced = data[:o[2]] + bytes(o[4] - o[2]) + data[o[4]:o[5]] + data[o[5] + r.frame_sizes[5]:]
    _, evs = scan(spliced, seekable=False)
    assert [e.index for e in evs] == list(range(6))
    assert [e.error for e in evs if e.frame is None] == ["frame 2: lost sync", "frame 3: missing", "frame 5: missing"]
    assert [e.frame for e in evs if e.frame] == [frames[i] for i in (0, 1, 4)]
    # Cut out entirely, frames 2 and 3 leave no bytes that could have held them: frame 4, numbered two
    # ahead, cannot be told from a forged jump and is lost too; the index still says how many there were.
    spliced = data[:o[2]] + data[o[4]:]
    _, evs = scan(spliced, seekable=False)
    assert [e.index for e in evs] == list(range(6))
    assert evs[2].error.startswith("frame 2: frame number 4 skips") and evs[4].error == "frame 4: missing"
    assert [e.frame for e in evs if e.frame] == [frames[i] for i in (0, 1, 5)]


@pytest.mark.parametrize("seekable", [True, False])
def test_truncation_every_cut(sample, seekable):
    """A cut loses frames (truncated), or, with every frame whole, only the index (session 62: where the header
    states the length the frames hold, as a writer's header does; this header states less)."""
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    r.load_index()
    hlen = len(encode_header(h))
    ends = [o + z for o, z in zip(r.frame_offsets, r.frame_sizes)]
    index_end = len(data) - 16
    cuts = sorted(set(range(hlen, len(data), 97)) | set(ends) | {e - 1 for e in ends} | {hlen, index_end - 1})
    for cut in cuts:
        r2, evs = scan(data[:cut], seekable)
        complete = sum(e <= cut for e in ends)
        good = [e for e in evs if e.frame is not None]
        assert [e.frame for e in good] == frames[:complete], cut
        assert all(e.frame is not None for e in evs)
        whole = sum(f.num_samples for f in frames[:complete]) * h.sample_rate >= h.num_samples * h.model_rate
        index_only = whole and (cut >= ends[-1] or cut == ends[complete - 1])  # nothing of a frame after them
        assert r2.truncated is (cut < index_end and not index_only), cut
        assert r2.index_damaged is (cut < index_end and index_only), cut


def test_random_flips_never_yield_wrong_payload(sample, rng):
    h, frames, data = sample
    for trial in range(300):
        bad = bytearray(data)
        nflips = int(rng.integers(1, 6))
        for pos in rng.integers(0, len(data), nflips):
            bad[pos] ^= 1 << int(rng.integers(0, 8))
        if trial % 3 == 0:  # also random cuts
            bad = bad[:int(rng.integers(0, len(bad) + 1))]
        for seekable in (True, False):
            try:
                r = ContainerReader(io.BytesIO(bytes(bad)) if seekable else NonSeekable(bad, 4096))
                evs = list(r.frames())
                if seekable and r.load_index():
                    evs += [r.read_frame(i) for i in range(r.n_frames)]
                read_info(io.BytesIO(bytes(bad)) if seekable else NonSeekable(bad, 4096))
            except MuzipError:
                continue
            for e in evs:
                if e.frame is not None:
                    assert e.frame == frames[e.index]
                else:
                    assert isinstance(e.error, str) and "\n" not in e.error


def _with_body(body: bytes) -> bytes:
    pre = MAGIC + bytes([1]) + struct.pack("<I", len(body)) + body
    return pre + struct.pack("<I", zlib.crc32(pre))


@pytest.mark.parametrize("field,value", [("sample_rate", 7999), ("sample_rate", 192001), ("model_rate", 0),
                                         ("model_rate", 2**32 - 1), ("frame_samples", 2**20 + 1),
                                         ("num_samples", 2**24 * 44100 + 1)])
def test_header_ranges_enforced_by_writer_and_reader(field, value):
    base = dict(sample_rate=44100, num_samples=1000)
    h = make_header(**base)
    with pytest.raises(ValueError):
        encode_header(make_header(**dict(base, **{field: value})))
    body = bytearray(encode_header(h)[9:-4])
    names = ("sample_rate", "channels", "num_samples", "model_rate", "frame_samples", "bitrate_bps")
    fields = dict(zip(names, struct.unpack_from("<IBQIII", body)), **{field: value})
    struct.pack_into("<IBQIII", body, 0, *(fields[k] for k in names))
    with pytest.raises(CorruptFileError, match="header is damaged .*out of range"):
        ContainerReader(io.BytesIO(_with_body(bytes(body))))
    for ok in (dict(sample_rate=8000), dict(sample_rate=192000), dict(num_samples=2**24 * 44100)):
        assert ContainerReader(io.BytesIO(encode_header(make_header(**ok)))).header == make_header(**ok)


def test_cover_round_trip_and_read_info(rng):
    image = rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()
    h = make_header(cover=("image/jpeg", image))
    frames = make_frames(rng, 2)
    data = build(h, frames)
    r, evs = scan(data, seekable=False)
    assert r.header == h and r.header.cover == ("image/jpeg", image) and [e.frame for e in evs] == frames
    info = read_info(io.BytesIO(data))
    assert info["cover_mime"] == "image/jpeg" and info["cover_bytes"] == 5000 and info["index_valid"]
    assert not any(isinstance(v, bytes) for v in info.values())  # the size, never the image
    plain = read_info(io.BytesIO(build(make_header(), frames)))
    assert plain["cover_mime"] is None and plain["cover_bytes"] == 0


def test_cover_is_an_extension_record_old_readers_skip():
    plain = encode_header(make_header())
    covered = encode_header(make_header(cover=("image/png", b"x" * 100)))
    assert covered[9:len(plain) - 4] == plain[9:-4]  # the same fields and tags first
    ext = covered[len(plain) - 4:-4]                # then one record, inside the body (CRC-covered)
    assert ext[:4] == b"COVR" and struct.unpack_from("<I", ext, 4)[0] == len(ext) - 8 == 1 + 9 + 100


def test_cover_limits():
    big = encode_header(make_header(cover=("image/png", bytes(MAX_COVER_BYTES))))
    assert ContainerReader(io.BytesIO(big)).header.cover[1] == bytes(MAX_COVER_BYTES)
    for cover in (("image/png", bytes(MAX_COVER_BYTES + 1)), ("", b"x"), ("imäge/png", b"x"), ("a\nb", b"x"),
                  ("x" * 256, b"x")):
        with pytest.raises(ValueError):
            encode_header(make_header(cover=cover))
    tags = {f"k{i}": "v" * 60000 for i in range(9)}  # 540 kB of tags + 512 KiB cover > 1 MiB
    with pytest.raises(ValueError, match="1 MiB"):
        encode_header(make_header(tags=tags, cover=("image/png", bytes(MAX_COVER_BYTES))))


def test_unknown_extensions_are_skipped_malformed_ones_rejected():
    body = encode_header(make_header())[9:-4]
    rec = lambda ext_id, data: ext_id + struct.pack("<I", len(data)) + data  # noqa: E731
    ok = body + rec(b"XTRA", b"abc") + rec(b"COVR", b"\x09image/gif" + b"G") + rec(b"\0\0\0\0", b"")
    assert ContainerReader(io.BytesIO(_with_body(ok))).header.cover == ("image/gif", b"G")
    bad = [body + b"XTR", body + b"XTRA" + struct.pack("<I", 4) + b"abc", body + rec(b"COVR", b""),
           body + rec(b"COVR", b"\x09imag"), body + rec(b"COVR", b"\x01\x7f"),
           body + rec(b"COVR", b"\x01a") * 2, body + rec(b"COVR", b"\x01a" + bytes(MAX_COVER_BYTES + 1))]
    for b in bad:
        with pytest.raises(CorruptFileError, match="header is damaged"):
            ContainerReader(io.BytesIO(_with_body(b)))


def test_index_total_must_agree_with_the_frames(rng):
    h = make_header()
    frames = make_frames(rng)
    good = total_of(h, frames)
    w = ContainerWriter(io.BytesIO(), h)
    for f in frames:
        w.write_frame(f)
    with pytest.raises(ValueError, match="does not match the frames"):
        w.finish(good + 100)
    data = bytearray(build(h, frames))
    idx_end = len(data) - 16
    for total in (good + 100, 0, 2**64 - 1):  # a lie, CRC fixed up
        struct.pack_into("<Q", data, idx_end - 12, total)
        struct.pack_into("<I", data, idx_end - 4, zlib.crc32(data[idx_end - 28 - 4 * len(frames):idx_end - 4]))
        r, evs = scan(bytes(data))
        assert not r.load_index() and r.total_num_samples is None
        # the frames themselves are fine, and the intact trailer shows none is missing: not truncated
        assert [e.frame for e in evs] == frames and r.index_damaged and not r.truncated


def test_index_must_sit_on_the_frames(sample):
    h, frames, data = sample
    r = ContainerReader(io.BytesIO(data))
    assert r.load_index()
    sizes = list(r.frame_sizes)
    sizes[1], sizes[2] = sizes[1] + 5, sizes[2] - 5  # same sum, wrong boundaries
    head = data[:r.frame_offsets[0]]
    rec = struct.pack("<4sIQ", b"MZIX", len(sizes), len(head)) + struct.pack(f"<{len(sizes)}I", *sizes)
    rec += struct.pack("<Q", r.total_num_samples)
    rec += struct.pack("<I", zlib.crc32(rec))
    ioff = len(data) - 16 - len(rec)
    bad = data[:ioff] + rec + data[-16:]
    assert not ContainerReader(io.BytesIO(bad)).load_index()
    r2, evs = scan(bad)  # the scan does not use the sizes: the index still ends the file
    assert [e.frame for e in evs] == frames and not r2.truncated


def test_writer_rejects_bad_frames():
    w = ContainerWriter(io.BytesIO(), make_header(channels=1))
    with pytest.raises(ValueError):
        w.write_frame(Frame(1, 10, (3, 255), b""))
    with pytest.raises(ValueError):
        w.write_frame(Frame(0, 10, (3, 4), b""))  # mono side must be 255
    with pytest.raises(ValueError):
        w.write_frame(Frame(0, 0, (3, 255), b""))
    assert w.write_frame(Frame(0, 10, (3, 255), b"abc")) == 25


def test_import_is_light():
    code = "import sys, muzip.container; bad = {'tensorflow', 'keras', 'librosa'} & set(sys.modules); print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "set()"
