"""Seeds and mutations for scripts/fuzz/fuzz.py: small valid .mz files, and ways to damage or forge them.

Every mutation takes (rng, seed, seeds) and returns the bytes of one file. Forged parts get their CRCs
fixed up, so the reader has to catch the lie from the content, not from a checksum. Seeds are made per
codec model (its golden file, if any, plus small files it codes), and two kinds reach past the container
into what each model's coders read: `payload` (bits flipped in a frame's latent or band-gain bytes, CRC
fixed: the levels coder of muzip-v1, the context coder of muzip-v2 and -v2.1) and `gains` (band-gain
symbols re-coded out of range or at the alphabet's edges, a wrong stride, gains missing or extra:
muzip-v2.1's band gains; the `payload` mutation for models without them). The building blocks
(header_bytes, frame_record, Parsed.assemble, set_header_fields...) are also used by tests/codec/test_fuzz.py.
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
from muzip.container import (
    _FIXED, _FRAME_HEAD, _INDEX_HEAD, MAGIC, UNKNOWN_LENGTH, ContainerReader, ContainerWriter,
)

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


# -- mutations: each takes (rng, seed, seeds) and returns bytes --------------------------------------
def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _spam(rng, size: int) -> bytes:
    style = int(rng.integers(5))
    if style == 0:
        unit = _pick(rng, [b"MZFR", b"MZIX", b"MZFRMZIX", b"MZ"])
    elif style == 1:  # frame heads whose fields pass, claiming long payloads: resync must stay linear
        unit = _FRAME_HEAD.pack(b"MZFR", 0, int(rng.integers(1, 44101)), 3, 255, int(rng.integers(0, 16 << 20)))
    elif style == 2:
        unit = _INDEX_HEAD.pack(b"MZIX", int(rng.integers(0, 1 << 24)), int(rng.integers(0, 1 << 20)))
    elif style == 3:  # complete records with good CRCs but absurd numbers
        unit = frame_record(int(rng.integers(0, 1 << 32)), 44100, (0, 255), b"\0\0")
    else:
        unit = bytes(rng.integers(0, 256, 4, np.uint8)) + b"MZFR"
    return (unit * (size // len(unit) + 1))[:size]


def _spam_size(rng) -> int:
    return int(_pick(rng, [64, 1000, 4096, 20000, 65536, 200000, 1 << 20]))


def m_none(rng, s, seeds):
    return s.data


def m_bitflip(rng, s, seeds):
    b = bytearray(s.data)
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    return bytes(b)


def m_truncate(rng, s, seeds):
    return s.data[:int(rng.integers(0, len(s.data)))]


def m_insert(rng, s, seeds):
    b = s.data
    for _ in range(int(rng.integers(1, 4))):
        p = int(rng.integers(len(b) + 1))
        b = b[:p] + rng.integers(0, 256, int(rng.integers(1, 400)), np.uint8).tobytes() + b[p:]
    return b


def m_delete(rng, s, seeds):
    p = int(rng.integers(len(s.data)))
    return s.data[:p] + s.data[p + int(rng.integers(1, 2000)):]


_EXTREME = {
    "sample_rate": [0, 1, 7999, 8000, 11025, 192000, 192001, 2**31, 2**32 - 1],
    "channels": [0, 1, 2, 3, 255],
    "num_samples": [0, 1, 44099, 10**6, 2**32, 2**40, 2**62, 2**64 - 2, UNKNOWN_LENGTH],
    "model_rate": [0, 1, 8000, 44099, 48000, 192000, 2**32 - 1],
    "frame_samples": [0, 1, 1000, 44099, 88200, 2**20, 2**20 + 1, 2**32 - 1],
    "bitrate_bps": [0, 2**32 - 1],
}


def m_header_field(rng, s, seeds):
    fields = {}
    for _ in range(int(rng.integers(1, 3))):
        k = _pick(rng, list(_EXTREME))
        fields[k] = _pick(rng, _EXTREME[k])
    if "num_samples" not in fields and rng.random() < 0.3:
        fields["num_samples"] = max(0, s.parsed.total + int(rng.integers(-3, 4)) * 1000)
    return set_header_fields(s.data, **fields)


def m_header_body(rng, s, seeds):
    body = bytearray(s.parsed.body)
    style = int(rng.integers(5))
    if style == 4:  # well-formed records of unknown extensions: skipped
        for _ in range(int(rng.integers(1, 4))):
            data = rng.integers(0, 256, int(rng.integers(0, 200)), np.uint8).tobytes()
            body += _pick(rng, [b"XTRA", b"LYRC", b"\0\0\0\0"]) + struct.pack("<I", len(data)) + data
    elif style == 0:  # an extension area of junk or lying records
        ext_len = int(_pick(rng, [0, 5, 100, 2**31, 2**32 - 1]))
        body += _pick(rng, [b"COVR", b"XTRA", b"\0\0\0\0"]) + struct.pack("<I", ext_len)
        body += rng.integers(0, 256, int(rng.integers(0, 300)), np.uint8).tobytes()
    elif style == 1:  # a cover record with odd contents
        data = bytes([int(rng.integers(0, 256))]) + rng.integers(0, 256, int(rng.integers(0, 600)), np.uint8).tobytes()
        body += b"COVR" + struct.pack("<I", len(data)) + data
    elif style == 2:  # lying tag count
        n_off = 25 + 1 + body[25] + 32
        struct.pack_into("<H", body, n_off, int(rng.integers(0, 65536)))
    else:
        body = body[:int(rng.integers(len(body)))]
    return s.parsed.assemble(body=bytes(body)) if rng.random() < 0.5 else header_bytes(bytes(body)) + \
        s.data[13 + len(s.parsed.body):]


def m_index_lie(rng, s, seeds):
    p, recs = s.parsed, list(s.parsed.records)
    style = int(rng.integers(5))
    if style == 0:
        total = _pick(rng, [0, 1, p.total - 1, p.total + 1, p.total + 50000, p.total * 2, p.total * 1000,
                            2**40, 2**64 - 1])
        return p.assemble(total=min(max(total, 0), 2**64 - 1))
    if style == 1:  # sizes that do not sit on the frames (sum kept)
        sizes = [len(r) for r in recs]
        if len(sizes) >= 2:
            d = int(rng.integers(1, 100))
            i = int(rng.integers(len(sizes) - 1))
            sizes[i] += d
            sizes[i + 1] -= d
        head = header_bytes(p.body)
        frames = b"".join(recs)
        return head + frames + index_record(sizes, p.total, len(head)) + trailer(len(head) + len(frames))
    if style == 2:  # n_frames claims more frames than the sizes list holds
        return p.assemble(n=int(_pick(rng, [len(recs) + 1, 1000, 2**24, 2**32 - 1])))
    if style == 3:
        return p.assemble(first=int(rng.integers(0, 1 << 20)))
    head = header_bytes(p.body)  # an index for many more (tiny) frames than exist, total to match
    n = int(_pick(rng, [100, 10000, 200000]))
    frames = b"".join(recs)
    return head + frames + index_record([22] * n, n * s.header.sample_rate, len(head)) + trailer(len(head) + len(frames))


def m_trailer_lie(rng, s, seeds):
    ioff = int(_pick(rng, [0, 13, 2**20, 2**40, 2**64 - 1, len(s.data) - 17, int(rng.integers(len(s.data)))]))
    return s.data[:-16] + trailer(ioff)


def m_sync_spam(rng, s, seeds):
    spam = _spam(rng, _spam_size(rng))
    hsize = 13 + len(s.parsed.body)
    where = int(rng.integers(4))
    if where == 0:
        return s.data[:hsize] + spam + s.data[hsize:]
    if where == 1:
        return s.data[:hsize] + spam
    if where == 2:
        p = int(rng.integers(hsize, len(s.data)))
        return s.data[:p] + spam + s.data[p:]
    return s.data[:-44 - 4 * len(s.parsed.records)] + spam + s.data[-44 - 4 * len(s.parsed.records):]


def m_frame_jump(rng, s, seeds):
    p = s.parsed
    if not p.records:
        return m_sync_spam(rng, s, seeds)
    i = int(rng.integers(len(p.records)))
    jump = int(_pick(rng, [1, 2, 10, 1000, 2**24 - 1 - i, 2**32 - 1 - i]))
    renumber_rest = rng.random() < 0.5
    recs = []
    for k, r in enumerate(p.records):
        _, idx, ns, lm, ls, plen = _FRAME_HEAD.unpack_from(r)
        if k == i or (renumber_rest and k > i):
            r = frame_record((idx + jump) & 0xFFFFFFFF, ns, (lm, ls), r[18:-4])
        recs.append(r)
    if rng.random() < 0.5:  # garbage before the jump: room for some lost frames
        recs.insert(i, rng.integers(0, 256, int(_pick(rng, [22, 500, 20000])), np.uint8).tobytes())
    return p.assemble(records=recs)


def m_frame_fields(rng, s, seeds):
    p = s.parsed
    if not p.records:
        return m_header_body(rng, s, seeds)
    i = int(rng.integers(len(p.records)))
    _, idx, ns, lm, ls, plen = _FRAME_HEAD.unpack_from(p.records[i])
    payload = p.records[i][18:-4]
    style = int(rng.integers(5))
    if style == 0:
        ns = int(_pick(rng, [0, 1, 44099, 44100, 44101, 2**32 - 1]))
    elif style == 1:
        lm, ls = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    elif style == 2:  # garbage payload with a good CRC: the entropy decoder sees it
        payload = rng.integers(0, 256, int(_pick(rng, [0, 1, 2, 6, len(payload), 5000])), np.uint8).tobytes()
    elif style == 3:  # a latent count out of range
        payload = struct.pack("<H", int(_pick(rng, [0, 1, 177, 65535]))) + payload[2:]
    else:  # a payload length that swallows the following bytes, CRC made to match
        tail = b"".join(p.records[i + 1:])
        extra = int(rng.integers(0, len(tail) + 1))
        rest = s.data[-(44 + 4 * len(p.records)):]  # the original index and trailer
        return header_bytes(p.body) + b"".join(p.records[:i]) + frame_record(idx, ns, (lm, ls), payload + tail[:extra]) \
            + tail[extra:] + rest
    recs = list(p.records)
    recs[i] = frame_record(idx, ns, (lm, ls), payload)
    return p.assemble(records=recs)


def m_splice(rng, s, seeds):
    recs = list(s.parsed.records)
    if not recs:
        return m_truncate(rng, s, seeds)
    i, j = int(rng.integers(len(recs))), int(rng.integers(len(recs)))
    style = int(rng.integers(3))
    if style == 0:
        del recs[i]
    elif style == 1:
        recs.insert(j, recs[i])
    else:
        recs[i], recs[j] = recs[j], recs[i]
    data = s.parsed.assemble(records=recs)
    return data if rng.random() < 0.5 else data[:13 + len(s.parsed.body)] + b"".join(recs) + s.data[-44:]


def m_concat(rng, s, seeds):
    other = _pick(rng, seeds)
    if rng.random() < 0.5:
        return s.data + other.data
    return s.data[:int(rng.integers(len(s.data)))] + other.data


def m_garbage(rng, s, seeds):
    n = int(_pick(rng, [0, 3, 100, 5000, 100000]))
    junk = rng.integers(0, 256, n, np.uint8).tobytes()
    style = int(rng.integers(4))
    hsize = 13 + len(s.parsed.body)
    if style == 0:
        return junk
    if style == 1:
        return MAGIC + junk
    if style == 2:
        return s.data[:hsize] + junk
    return s.data[:hsize] + junk + s.data[-44 - 4 * len(s.parsed.records):]


def _frame_with_payload(rng, s, pred=lambda payload: True):
    """(record number, its fields, its payload) of a random frame whose payload satisfies pred, or None."""
    picks = [i for i, r in enumerate(s.parsed.records) if pred(r[18:-4])]
    if not picks:
        return None
    i = picks[int(rng.integers(len(picks)))]
    _, idx, ns, lm, ls, _ = _FRAME_HEAD.unpack_from(s.parsed.records[i])
    return i, (idx, ns, (lm, ls)), s.parsed.records[i][18:-4]


def _with_payload(s, i, fields, payload) -> bytes:
    recs = list(s.parsed.records)
    recs[i] = frame_record(fields[0], fields[1], fields[2], payload)
    return s.parsed.assemble(records=recs)


def m_payload(rng, s, seeds):
    """Bits flipped inside one frame's payload, CRC fixed: the entropy decoder (levels or context coder)
    and, for band-gain models, the gain decoder read the damage."""
    pick = _frame_with_payload(rng, s, lambda payload: len(payload) > 2)
    if pick is None:
        return m_frame_fields(rng, s, seeds)
    i, fields, payload = pick
    b = bytearray(payload)
    regions = [(2, len(b))]  # the coder's words, after the u16 latent count
    if getattr(s.model, "band_gains", None) is not None:  # u32 length, count, latent words, then the gains
        n = struct.unpack_from("<I", b)[0] if len(b) >= 4 else len(b)
        regions = [(6, 4 + n), (4 + n, len(b))] if 4 + n <= len(b) else []
    regions = [(lo, hi) for lo, hi in regions if hi > lo]
    if not regions or rng.random() < 0.1:  # anywhere: the counts and lengths too
        regions = [(0, len(b))]
    lo, hi = regions[int(rng.integers(len(regions)))]
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(8))
    return _with_payload(s, i, fields, bytes(b))


def m_gains(rng, s, seeds):
    """A frame's band gains decoded and re-coded (constriction, CRC fixed) with symbols no encoder writes:
    a ratio past the encoder's cap, the alphabet's edges, a wrong stride, gains missing or appended."""
    gains = getattr(s.model, "band_gains", None)
    if gains is None:
        return m_payload(rng, s, seeds)
    from muzip.codec.band_gains import LEVEL, RATIO_MAX
    from muzip.codec.payload import decode_frame, join_payload, split_payload
    h = s.header

    def has_gains(payload):
        try:
            return len(split_payload(payload)[1]) > 1
        except Exception:  # noqa: BLE001 - a seed's payloads are valid; this is only a filter
            return False
    pick = _frame_with_payload(rng, s, has_gains)
    if pick is None:
        return m_payload(rng, s, seeds)
    i, fields, payload = pick
    latent, words = split_payload(payload)
    levels = list(fields[2][:h.channels])
    per_frame = s.model.config.latents_per_frame
    q, codes = decode_frame(s.model.coder, gains, payload, per_frame + 1, levels)
    stride = words[0]
    nz = np.stack([gains.nonzero(qa, stride) for qa in q])
    sym = np.where(nz == 0, codes[:, ::stride] - LEVEL, codes[:, ::stride]).astype(np.int32)
    style = int(rng.integers(6))
    if style == 0:  # ratio symbols past the cap: up to the alphabet's +-radius (+-120 dB)
        where = np.argwhere(nz > 0)
        if len(where):
            for a, t, b in where[rng.integers(len(where), size=int(rng.integers(1, 4)))]:
                sym[a, t, b] = int(rng.choice([-1, 1])) * int(rng.integers(RATIO_MAX + 1, gains.radius + 1))
    elif style == 1:  # every symbol anywhere in the alphabet
        sym = rng.integers(-gains.radius, gains.radius + 1, sym.shape).astype(np.int32)
    elif style == 2:  # the alphabet's edges everywhere (legal for levels: the loudest a file can ask for)
        sym = np.where(nz == 0, int(rng.choice([-1, 1])) * gains.radius, int(rng.choice([-1, 1])) * RATIO_MAX)
        sym = sym.astype(np.int32)
    elif style == 3:  # a different stride byte before the same words
        words = bytes([int(rng.choice([k for k in (1, 2, 3, 4, 0, 255) if k != stride]))]) + words[1:]
        return _with_payload(s, i, fields, join_payload(latent, words))
    elif style == 4:  # gains missing, cut short, or junk after them
        cut = int(rng.integers(0, len(words)))
        tail = rng.integers(0, 256, int(rng.integers(0, 64)), np.uint8).tobytes() if rng.random() < 0.5 else b""
        return _with_payload(s, i, fields, join_payload(latent, words[:cut] + tail))
    else:  # symbols nudged by a few steps each
        sym = (sym + rng.integers(-3, 4, sym.shape)).clip(-gains.radius, gains.radius).astype(np.int32)
    return _with_payload(s, i, fields, join_payload(latent, gains.encode(sym, nz, stride)))


KINDS = {"none": m_none, "bitflip": m_bitflip, "truncate": m_truncate, "insert": m_insert, "delete": m_delete,
         "header_field": m_header_field, "header_body": m_header_body, "index_lie": m_index_lie,
         "trailer_lie": m_trailer_lie, "sync_spam": m_sync_spam, "frame_jump": m_frame_jump,
         "frame_fields": m_frame_fields, "splice": m_splice, "concat": m_concat, "garbage": m_garbage,
         "payload": m_payload, "gains": m_gains}
