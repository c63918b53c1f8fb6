"""Byte layout and limits of the ``.mz`` container: constants, the header and its extension records.

Every limit a reader relies on before sizing anything lives here, derived from the header where it can
be (docs/FORMAT.md, "Limits").
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from ..errors import CorruptFileError

MAGIC = b"\x89MZ\n"
VERSION = 1
UNKNOWN_LENGTH = 2**64 - 1
FRAME_SYNC = b"MZFR"
INDEX_SYNC = b"MZIX"
TRAILER_SYNC = b"MZTR"
MAX_HEADER_BODY = 1 << 20       # bytes
MAX_PAYLOAD = 16 << 20          # bytes per frame payload
MAX_FRAMES = 1 << 24            # frames per file
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000   # Hz, for sample_rate and model_rate
MAX_FRAME_SAMPLES = 1 << 20     # model-rate samples per frame
MAX_COVER_BYTES = 512 * 1024    # cover image bytes (extension "COVR")
CHUNK = 1 << 16

_PREFIX = struct.Struct("<4sBI")          # magic, version, header_body_len
_FIXED = struct.Struct("<IBQIII")         # sample_rate .. bitrate_bps
_FRAME_HEAD = struct.Struct("<4sIIBBI")   # sync, index, num_samples, level_mid, level_side, payload_len
_INDEX_HEAD = struct.Struct("<4sIQ")      # sync, n_frames, first_frame_offset
_TRAILER = struct.Struct("<4sQI")         # sync, index_offset, crc
_EXT_HEAD = struct.Struct("<4sI")         # extension record: id, data length
FRAME_OVERHEAD = _FRAME_HEAD.size + 4     # 22 bytes: record size = 22 + payload_len, the smallest record
TRAILER_SIZE = _TRAILER.size              # 16
EXT_COVER = b"COVR"


def index_size(n: int) -> int:
    return _INDEX_HEAD.size + 4 * n + 12


@dataclass
class Header:
    sample_rate: int
    channels: int
    num_samples: int | None
    model_rate: int
    frame_samples: int
    bitrate_bps: int
    model_id: str
    model_sha256: bytes
    tags: dict[str, str] = field(default_factory=dict)
    cover: tuple[str, bytes] | None = None  # (mime type, image bytes), extension "COVR"


@dataclass
class Frame:
    index: int
    num_samples: int
    levels: tuple[int, int]
    payload: bytes


@dataclass
class FrameEvent:
    index: int
    frame: Frame | None
    error: str | None


def _model_length(h: Header, n: int) -> int:
    """Model-rate samples for n original-rate samples (the resampler rounds; this is the ceiling)."""
    return -(-n * h.model_rate // h.sample_rate)


def max_frames(h: Header) -> int:
    """Frame-count bound: ceil(model-rate length / frame_samples) + 1 slack if the length is known."""
    if h.num_samples is None:
        return MAX_FRAMES
    return min(MAX_FRAMES, -(-_model_length(h, h.num_samples) // h.frame_samples) + 1)


def total_agrees(h: Header, total: int, lo: int, hi: int) -> bool:
    """Whether an index's total_num_samples (original rate) fits frames holding lo..hi model-rate samples
    (within one sample of rounding either side) and the header's num_samples when known.

    Writers may code up to max_frames(h) frames, so the total may exceed the header's length by that slack
    (never more); it may fall short of it (an input that ended early)."""
    sr, mr = h.sample_rate, h.model_rate
    if not lo * sr - sr - mr <= total * mr <= hi * sr + sr + mr:
        return False
    return h.num_samples is None or total * mr <= max_frames(h) * h.frame_samples * sr + sr + mr


def _check_fields(sr: int, ch: int, n: int | None, mr: int, fs: int) -> str | None:
    """Why these header fields are out of range, or None."""
    if ch not in (1, 2):
        return "invalid channels"
    if not (MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE and MIN_SAMPLE_RATE <= mr <= MAX_SAMPLE_RATE):
        return f"sample rate out of range ({MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz)"
    if not 1 <= fs <= MAX_FRAME_SAMPLES:
        return "frame_samples out of range"
    if n is not None and -(-(-(-n * mr // sr)) // fs) > MAX_FRAMES:  # ceil(ceil(n * mr / sr) / fs)
        return "num_samples out of range"
    return None


def _encode_extensions(h: Header) -> bytes:
    if h.cover is None:
        return b""
    mime, image = h.cover
    mime = str(mime)
    if not 1 <= len(mime) <= 255 or not mime.isascii() or not mime.isprintable():
        raise ValueError("cover mime type must be 1..255 printable ASCII characters")
    if len(image) > MAX_COVER_BYTES:
        raise ValueError(f"cover image larger than {MAX_COVER_BYTES} bytes")
    data = bytes([len(mime)]) + mime.encode("ascii") + bytes(image)
    return _EXT_HEAD.pack(EXT_COVER, len(data)) + data


def encode_header(h: Header) -> bytes:
    """Serialise a header (magic through header CRC). Raises ValueError on out-of-range fields."""
    why = _check_fields(h.sample_rate, h.channels, h.num_samples, h.model_rate, h.frame_samples)
    if why or h.num_samples is not None and not 0 <= h.num_samples < UNKNOWN_LENGTH:
        raise ValueError(f"invalid header: {why or 'num_samples out of range'}")
    if len(h.model_sha256) != 32:
        raise ValueError("model_sha256 must be 32 raw bytes")
    n = UNKNOWN_LENGTH if h.num_samples is None else h.num_samples
    body = bytearray(_FIXED.pack(h.sample_rate, h.channels, n, h.model_rate, h.frame_samples, h.bitrate_bps))
    mid = h.model_id.encode("utf-8")
    if len(mid) > 255 or len(h.tags) > 0xFFFF:
        raise ValueError("model_id longer than 255 bytes or too many tags")
    body += bytes([len(mid)]) + mid + bytes(h.model_sha256) + struct.pack("<H", len(h.tags))
    for k, v in h.tags.items():
        kb, vb = str(k).encode("utf-8"), str(v).encode("utf-8")
        if len(kb) > 255 or len(vb) > 0xFFFF:
            raise ValueError(f"tag {k!r} too long (key <= 255, value <= 65535 UTF-8 bytes)")
        body += bytes([len(kb)]) + kb + struct.pack("<H", len(vb)) + vb
    body += _encode_extensions(h)
    if len(body) > MAX_HEADER_BODY:
        raise ValueError("header too large (tags and cover exceed 1 MiB)")
    out = _PREFIX.pack(MAGIC, VERSION, len(body)) + bytes(body)
    return out + struct.pack("<I", zlib.crc32(out))


def _decode_extensions(body: bytes, p: int) -> tuple[str, bytes] | None:
    """Extension records fill the rest of the body; unknown ids are skipped, known ones validated."""
    bad = CorruptFileError
    cover = None
    while p < len(body):
        if p + _EXT_HEAD.size > len(body):
            raise bad("header is damaged (extension record runs past the header)")
        ext_id, size = _EXT_HEAD.unpack_from(body, p)
        p += _EXT_HEAD.size
        if size > len(body) - p:
            raise bad("header is damaged (extension record runs past the header)")
        data, p = body[p:p + size], p + size
        if ext_id == EXT_COVER:
            mlen = data[0] if data else 0
            mime = data[1:1 + mlen]
            image = data[1 + mlen:]
            if cover is not None or mlen == 0 or len(mime) < mlen or len(image) > MAX_COVER_BYTES \
                    or not mime.isascii() or not mime.decode("ascii").isprintable():
                raise bad("header is damaged (invalid cover record)")
            cover = (mime.decode("ascii"), bytes(image))
    return cover


def decode_body(body: bytes) -> Header:
    bad = CorruptFileError
    if len(body) < _FIXED.size + 1:
        raise bad("header is damaged (too short)")
    sr, ch, n, mr, fs, br = _FIXED.unpack_from(body, 0)
    n = None if n == UNKNOWN_LENGTH else n
    why = _check_fields(sr, ch, n, mr, fs)
    if why:
        raise bad(f"header is damaged ({why})")
    p = _FIXED.size

    def take(k: int) -> bytes:
        nonlocal p
        if p + k > len(body):
            raise bad("header is damaged (field runs past the header)")
        p += k
        return body[p - k:p]

    try:
        model_id = take(take(1)[0]).decode("utf-8")
        sha = take(32)
        tags: dict[str, str] = {}
        for _ in range(struct.unpack("<H", take(2))[0]):
            key = take(take(1)[0]).decode("utf-8")
            val = take(struct.unpack("<H", take(2))[0]).decode("utf-8")
            if key in tags:
                raise bad("header is damaged (duplicate tag)")
            tags[key] = val
    except UnicodeDecodeError:
        raise bad("header is damaged (invalid UTF-8)") from None
    cover = _decode_extensions(body, p)
    return Header(sr, ch, n, mr, fs, br, model_id, sha, tags, cover)
