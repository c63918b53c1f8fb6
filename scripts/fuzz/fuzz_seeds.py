"""Building blocks and seeds for the .mz fuzzer (scripts/fuzz/fuzz_cases.py has the mutations' registry).

The blocks write the container's records with their CRCs made to match (header_bytes, frame_record,
index_record, trailer), take a valid file apart and put it back together (Parsed.assemble), and rewrite
header fields (set_header_fields); tests/codec/test_fuzz.py and tests/container/test_index_damage.py use them
too, through fuzz.py and fuzz_cases.py. Seeds are made per codec model: its golden file, if any, plus small
files it codes, each with the digest of its decoded audio.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from muzip.codec import compress_array, compress_blocks, decompress_bytes
from muzip.container import _FIXED, _FRAME_HEAD, _INDEX_HEAD, MAGIC, ContainerReader, ContainerWriter

ROOT = Path(__file__).resolve().parents[2]

GOLDEN_DIR = ROOT / "tests" / "data" / "golden"
GOLDEN = GOLDEN_DIR / "muzip-v1.mz"


# -- building blocks (also used by tests/codec/test_fuzz.py) ----------------------------------------------
def crc(b: bytes) -> bytes:
    return struct.pack("<I", zlib.crc32(b))


def header_bytes(body: bytes) -> bytes:
    pre = MAGIC + bytes([1]) + struct.pack("<I", len(body)) + body
    return pre + crc(pre)


def frame_record(index: int, num_samples: int, levels, payload: bytes, plen: int | None = None) -> bytes:
    rec = _FRAME_HEAD.pack(b"MZFR", index, num_samples, levels[0], levels[1],
                           len(payload) if plen is None else plen) + payload
    return rec + crc(rec)


def index_record(sizes, total: int, first: int, n: int | None = None) -> bytes:
    rec = _INDEX_HEAD.pack(b"MZIX", len(sizes) if n is None else n, first)
    rec += struct.pack(f"<{len(sizes)}I", *sizes) + struct.pack("<Q", total)
    return rec + crc(rec)


def trailer(index_offset: int) -> bytes:
    tr = b"MZTR" + struct.pack("<Q", index_offset)
    return tr + crc(tr)


@dataclass
class Parsed:
    """A valid file taken apart: header body, records (bytes), total, and the frames' own fields."""
    body: bytes
    records: list
    total: int

    @classmethod
    def of(cls, data: bytes) -> "Parsed":
        r = ContainerReader(io.BytesIO(data))
        assert r.load_index()
        body = data[9:r.header_size - 4]
        recs = [data[o:o + z] for o, z in zip(r.frame_offsets, r.frame_sizes)]
        return cls(body, recs, r.total_num_samples)

    def assemble(self, body=None, records=None, total=None, n=None, first=None, index_offset=None) -> bytes:
        """Reassemble with index and trailer made to match (each argument overrides one part)."""
        head = header_bytes(self.body if body is None else body)
        recs = self.records if records is None else records
        frames = b"".join(recs)
        ioff = len(head) + len(frames)
        first = (len(head) if recs else ioff) if first is None else first
        idx = index_record([len(r) for r in recs], self.total if total is None else total, first, n)
        return head + frames + idx + trailer(ioff if index_offset is None else index_offset)


def set_header_fields(data: bytes, **fields) -> bytes:
    """Rewrite fixed header fields (sample_rate, channels, num_samples, model_rate, frame_samples,
    bitrate_bps) with the header CRC fixed up; the rest of the file is kept."""
    blen = struct.unpack_from("<I", data, 5)[0]
    body = bytearray(data[9:9 + blen])
    names = ("sample_rate", "channels", "num_samples", "model_rate", "frame_samples", "bitrate_bps")
    values = dict(zip(names, _FIXED.unpack_from(body, 0)))
    values.update(fields)
    _FIXED.pack_into(body, 0, *(values[k] for k in names))
    return header_bytes(bytes(body)) + data[13 + blen:]


def with_cover(data: bytes, mime: str, image: bytes, tags=None) -> bytes:
    r = ContainerReader(io.BytesIO(data))
    h = r.header
    h.cover, h.tags = (mime, image), dict(tags or h.tags)
    out = io.BytesIO()
    w = ContainerWriter(out, h)
    for ev in r.frames():
        w.write_frame(ev.frame)
    w.finish(r.total_num_samples)
    return out.getvalue()


@dataclass
class Seed:
    name: str
    data: bytes
    parsed: Parsed
    header: object
    reference: str = ""  # sha256 of decompress_bytes' output
    model: object = None  # the codec model that made it (the `gains` mutation codes with its band gains)


def make_seeds(model) -> list[Seed]:
    rng = np.random.default_rng(12345)

    def clip(rate, seconds, ch):
        t = np.arange(int(rate * seconds)) / rate
        x = 0.3 * np.sin(2 * np.pi * 330 * t)[:, None] + 0.05 * rng.standard_normal((len(t), ch))
        return x.astype(np.float32)

    golden = GOLDEN_DIR / f"{model.name}.mz"  # the model's golden file, when it has one
    files = [("golden", golden.read_bytes())] if golden.is_file() else []
    files += [("mono44k", compress_array(clip(44100, 1.0, 1), 44100, 24, model=model)),
             ("stereo48k", compress_array(clip(48000, 1.5, 2), 48000, 16, model=model)),
             ("mono22k", compress_array(clip(22050, 0.8, 1), 22050, 12, model=model)),
             ("empty", compress_array(np.zeros((0, 2), np.float32), 44100, 32, model=model))]
    out = io.BytesIO()
    x = clip(16000, 1.2, 2)
    compress_blocks((x[i:i + 4000] for i in range(0, len(x), 4000)), 16000, 2, None, out, model, 32)
    files.append(("unknown16k", out.getvalue()))
    tagged = compress_array(clip(44100, 2.2, 2), 44100, 64, model=model, tags={"title": "fuzz ♫", "artist": "x"})
    files.append(("cover44k", with_cover(tagged, "image/png", rng.integers(0, 256, 3000, np.uint8).tobytes())))
    seeds = []
    for name, data in files:
        s = Seed(name, data, Parsed.of(data), ContainerReader(io.BytesIO(data)).header, model=model)
        s.reference = _digest(decompress_bytes(data, model=model)[0])
        seeds.append(s)
    return seeds


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, "<f4").tobytes() + str(a.shape).encode()).hexdigest()
