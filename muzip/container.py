"""The ``.mz`` container: header, CRC-protected frame records, index and trailer.

Byte layout: docs/FORMAT.md.  Pure Python (struct + zlib): parsing never evaluates
anything, and every length field is bounds-checked before it is used.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterator

from .errors import CorruptFileError, NotMuzipError, UnsupportedVersionError

MAGIC = b"\x89MZ\n"
VERSION = 1
UNKNOWN_LENGTH = 2**64 - 1
FRAME_SYNC = b"MZFR"
INDEX_SYNC = b"MZIX"
TRAILER_SYNC = b"MZTR"
MAX_HEADER_BODY = 1 << 20   # bytes
MAX_PAYLOAD = 16 << 20      # bytes per frame payload
MAX_FRAMES = 1 << 24        # frames per file
CHUNK = 1 << 16

_PREFIX = struct.Struct("<4sBI")          # magic, version, header_body_len
_FIXED = struct.Struct("<IBQIII")         # sample_rate .. bitrate_bps
_FRAME_HEAD = struct.Struct("<4sIIBBI")   # sync, index, num_samples, level_mid, level_side, payload_len
_INDEX_HEAD = struct.Struct("<4sIQ")      # sync, n_frames, first_frame_offset
_TRAILER = struct.Struct("<4sQI")         # sync, index_offset, crc
FRAME_OVERHEAD = _FRAME_HEAD.size + 4     # 22 bytes: record size = 22 + payload_len
TRAILER_SIZE = _TRAILER.size              # 16


def _index_size(n: int) -> int:
    return _INDEX_HEAD.size + 4 * n + 12


def max_frames(h: "Header") -> int:
    """Frame-count bound: ceil(model-rate length / frame_samples) + 1 slack if the length is known."""
    if h.num_samples is None:
        return MAX_FRAMES
    model_len = -(-h.num_samples * h.model_rate // h.sample_rate)
    return min(MAX_FRAMES, -(-model_len // h.frame_samples) + 1)


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


def encode_header(h: Header) -> bytes:
    """Serialise a header (magic through header CRC). Raises ValueError on out-of-range fields."""
    if h.channels not in (1, 2) or h.sample_rate <= 0 or h.model_rate <= 0 or h.frame_samples <= 0:
        raise ValueError("invalid header: channels must be 1/2 and rates/frame_samples positive")
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
    if len(body) > MAX_HEADER_BODY:
        raise ValueError("header too large (tags exceed 1 MiB)")
    out = _PREFIX.pack(MAGIC, VERSION, len(body)) + bytes(body)
    return out + struct.pack("<I", zlib.crc32(out))


def _decode_body(body: bytes) -> Header:
    bad = CorruptFileError
    if len(body) < _FIXED.size + 1:
        raise bad("header is damaged (too short)")
    sr, ch, n, mr, fs, br = _FIXED.unpack_from(body, 0)
    if ch not in (1, 2) or sr == 0 or mr == 0 or fs == 0:
        raise bad("header is damaged (invalid channels or rates)")
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
    # Bytes after the tags are reserved for compatible extensions and ignored.
    return Header(sr, ch, None if n == UNKNOWN_LENGTH else n, mr, fs, br, model_id, sha, tags)


class ContainerWriter:
    """Streams a .mz file to ``fileobj`` (only ``write`` is needed; seeking never happens)."""

    def __init__(self, fileobj, header: Header):
        self._f = fileobj
        self.header = header
        data = encode_header(header)
        self._f.write(data)
        self._header_size = len(data)
        self.bytes_written = len(data)
        self._sizes: list[int] = []
        self._finished = False
        self._max_frames = max_frames(header)

    def write_frame(self, frame: Frame) -> int:
        if self._finished:
            raise ValueError("write_frame after finish")
        if frame.index != len(self._sizes) or frame.index >= self._max_frames:
            raise ValueError(f"frame index {frame.index}, expected {len(self._sizes)}")
        if not 1 <= frame.num_samples <= self.header.frame_samples:
            raise ValueError(f"frame num_samples {frame.num_samples} not in 1..{self.header.frame_samples}")
        mid, side = frame.levels
        if not (0 <= mid <= 255 and 0 <= side <= 255) or (self.header.channels == 1 and side != 255):
            raise ValueError(f"bad levels {frame.levels} (u8 each; side must be 255 for mono)")
        payload = bytes(frame.payload)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("frame payload larger than 16 MiB")
        rec = _FRAME_HEAD.pack(FRAME_SYNC, frame.index, frame.num_samples, mid, side, len(payload)) + payload
        rec += struct.pack("<I", zlib.crc32(rec))
        self._f.write(rec)
        self._sizes.append(len(rec))
        self.bytes_written += len(rec)
        return len(rec)

    def finish(self, total_num_samples: int) -> None:
        if self._finished:
            raise ValueError("finish called twice")
        index_offset = self.bytes_written
        rec = _INDEX_HEAD.pack(INDEX_SYNC, len(self._sizes), self._header_size if self._sizes else index_offset)
        rec += struct.pack(f"<{len(self._sizes)}I", *self._sizes) + struct.pack("<Q", total_num_samples)
        rec += struct.pack("<I", zlib.crc32(rec))
        tr = TRAILER_SYNC + struct.pack("<Q", index_offset)
        tr += struct.pack("<I", zlib.crc32(tr))
        self._f.write(rec + tr)
        self.bytes_written += len(rec) + len(tr)
        self._finished = True
        if hasattr(self._f, "flush"):
            self._f.flush()


class _Stream:
    """Forward-only buffered view of a file; positions are relative to the container start."""

    def __init__(self, f, base: int = 0):
        self.f, self.base, self.buf, self.eof = f, base, bytearray(), False

    def _more(self, want: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.f.read(max(want, CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def get(self, pos: int, n: int) -> bytes:
        """Up to n bytes at pos (fewer only at EOF)."""
        while self.base + len(self.buf) < pos + n and self._more(pos + n - self.base - len(self.buf)):
            pass
        return bytes(self.buf[pos - self.base:pos - self.base + n])

    def drop_before(self, pos: int) -> None:
        if pos > self.base:
            del self.buf[:pos - self.base]
            self.base = pos

    def find_sync(self, pos: int) -> int | None:
        """Offset of the next FRAME_SYNC or INDEX_SYNC at or after pos, or None at EOF."""
        while True:
            self.drop_before(pos)
            hits = [i for i in (self.buf.find(FRAME_SYNC), self.buf.find(INDEX_SYNC)) if i >= 0]
            if hits:
                return self.base + min(hits)
            pos = max(pos, self.base + len(self.buf) - 3)
            if not self._more():
                return None


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except Exception:
        return False


class ContainerReader:
    """Reads a .mz file; ``frames()`` works on pipes, ``load_index``/``read_frame`` need seeking."""

    def __init__(self, fileobj):
        self._f = fileobj
        self._seekable = _seekable(fileobj)
        self._start = fileobj.tell() if self._seekable else 0
        self._stream = _Stream(fileobj)
        pre = self._stream.get(0, _PREFIX.size)
        if len(pre) < 4:
            raise NotMuzipError("not a muzip file (empty or too short)")
        if pre[:4] != MAGIC:
            raise NotMuzipError("not a muzip file (bad magic)")
        if len(pre) < _PREFIX.size:
            raise CorruptFileError("header is damaged (file ends inside the header)")
        _, version, body_len = _PREFIX.unpack(pre)
        if version != VERSION:
            raise UnsupportedVersionError(f"unsupported .mz format version {version} (this muzip reads version {VERSION})")
        if body_len > MAX_HEADER_BODY:
            raise CorruptFileError("header is damaged (bad header length)")
        rest = self._stream.get(_PREFIX.size, body_len + 4)
        if len(rest) < body_len + 4:
            raise CorruptFileError("header is damaged (file ends inside the header)")
        if zlib.crc32(pre + rest[:body_len]) != struct.unpack("<I", rest[body_len:])[0]:
            raise CorruptFileError("header is damaged (CRC mismatch)")
        self.header = _decode_body(rest[:body_len])
        self.header_size = _PREFIX.size + body_len + 4
        self.truncated = False
        self.total_num_samples: int | None = None
        self.n_frames: int | None = None
        self.frame_offsets: list[int] | None = None
        self.frame_sizes: list[int] | None = None
        self.bytes_scanned = 0
        self._max_frames = max_frames(self.header)

    # -- sequential scan ---------------------------------------------------------------
    def _parse_frame(self, s: _Stream, pos: int, expected: int):
        """-> (Frame, size) or (None, reason)."""
        head = s.get(pos, _FRAME_HEAD.size)
        if len(head) < _FRAME_HEAD.size:
            return None, f"frame {expected}: record runs past end of file"
        _, idx, n, lm, ls, plen = _FRAME_HEAD.unpack(head)
        if plen > MAX_PAYLOAD:
            return None, f"frame {expected}: payload length out of range"
        rec = s.get(pos, _FRAME_HEAD.size + plen + 4)
        if len(rec) < _FRAME_HEAD.size + plen + 4:
            return None, f"frame {expected}: record runs past end of file"
        if zlib.crc32(rec[:-4]) != struct.unpack_from("<I", rec, len(rec) - 4)[0]:
            return None, f"frame {expected}: CRC mismatch"
        if (not 1 <= n <= self.header.frame_samples or (self.header.channels == 1 and ls != 255)
                or not expected <= idx < self._max_frames):
            return None, f"frame {expected}: invalid frame fields"
        return Frame(idx, n, (lm, ls), rec[_FRAME_HEAD.size:-4]), len(rec)

    def _parse_index(self, s: _Stream, pos: int, expected: int):
        """-> (n_frames, sizes, first_offset, total) or None."""
        head = s.get(pos, _INDEX_HEAD.size)
        if len(head) < _INDEX_HEAD.size:
            return None
        _, n, first = _INDEX_HEAD.unpack(head)
        if not expected <= n <= MAX_FRAMES:
            return None
        rec = s.get(pos, _index_size(n))
        if len(rec) < _index_size(n) or zlib.crc32(rec[:-4]) != struct.unpack_from("<I", rec, len(rec) - 4)[0]:
            return None
        sizes = list(struct.unpack_from(f"<{n}I", rec, _INDEX_HEAD.size))
        return n, sizes, first, struct.unpack_from("<Q", rec, len(rec) - 12)[0]

    def frames(self) -> Iterator[FrameEvent]:
        """One FrameEvent per frame position, in order. See module docs / FORMAT.md for recovery rules."""
        if self._seekable:
            self._f.seek(self._start + self.header_size)
            s = _Stream(self._f, self.header_size)
        else:
            s = self._stream
        self.truncated, pos, expected, pending = False, self.header_size, 0, None

        def gap(upto: int):
            for i in range(expected, upto):
                yield FrameEvent(i, None, pending if (i == expected and pending) else f"frame {i}: missing")

        while True:
            s.drop_before(pos)
            tag = s.get(pos, 4)
            if tag == FRAME_SYNC:
                frame, res = self._parse_frame(s, pos, expected)
                if frame is not None:
                    yield from gap(frame.index)
                    yield FrameEvent(frame.index, frame, None)
                    expected, pending, pos = frame.index + 1, None, pos + res
                    continue
                pending = pending or res
            elif tag == INDEX_SYNC:
                idx = self._parse_index(s, pos, expected)
                if idx is not None:
                    yield from gap(idx[0])
                    self.total_num_samples = idx[3]
                    end = pos + _index_size(idx[0])
                    self.bytes_scanned = end + len(s.get(end, TRAILER_SIZE))  # trailer, if present
                    return
                pending = pending or f"frame {expected}: damaged data"
            elif len(tag) == 4:
                pending = pending or f"frame {expected}: lost sync"
            nxt = s.find_sync(pos + 1) if len(tag) == 4 else None
            if nxt is None:  # EOF before a valid index; a partial last record is not reported
                self.truncated = True
                self.bytes_scanned = s.base + len(s.buf)
                return
            pos = nxt

    # -- random access -----------------------------------------------------------------
    def _read_at(self, off: int, n: int) -> bytes:
        self._f.seek(self._start + off)
        return self._f.read(n)

    def load_index(self) -> bool:
        """Validate trailer + index (seekable files only). True -> n_frames, frame_offsets,
        frame_sizes, total_num_samples are set; False if absent, damaged or inconsistent."""
        if not self._seekable:
            return False
        try:
            size = self._f.seek(0, 2) - self._start
            if size < self.header_size + _index_size(0) + TRAILER_SIZE:
                return False
            tag, ioff, crc = _TRAILER.unpack(self._read_at(size - TRAILER_SIZE, TRAILER_SIZE))
            if tag != TRAILER_SYNC or zlib.crc32(TRAILER_SYNC + struct.pack("<Q", ioff)) != crc:
                return False
            n = (size - TRAILER_SIZE - ioff - _index_size(0)) // 4
            if ioff < self.header_size or n < 0 or _index_size(n) != size - TRAILER_SIZE - ioff or n > MAX_FRAMES:
                return False
            rec = self._read_at(ioff, _index_size(n))
            if len(rec) != _index_size(n):
                return False
            idx = self._parse_index(_Stream(io.BytesIO(rec)), 0, 0)
            if idx is None or idx[0] != n:
                return False
            _, sizes, first, total = idx
            if first != self.header_size or first + sum(sizes) != ioff \
                    or any(not FRAME_OVERHEAD <= z <= FRAME_OVERHEAD + MAX_PAYLOAD for z in sizes):
                return False
        except OSError:
            return False
        offs, o = [], first
        for z in sizes:
            offs.append(o)
            o += z
        self.n_frames, self.frame_offsets, self.frame_sizes, self.total_num_samples = n, offs, sizes, total
        self.file_size = size
        return True

    def read_frame(self, i: int) -> FrameEvent:
        """Frame i via the index. CorruptFileError if there is no valid index; IndexError if out of range."""
        if self.frame_offsets is None and not self.load_index():
            raise CorruptFileError("no valid index: random access impossible (file truncated or damaged)")
        if not 0 <= i < self.n_frames:
            raise IndexError(f"frame {i} out of range (0..{self.n_frames - 1})")
        rec = self._read_at(self.frame_offsets[i], self.frame_sizes[i])
        s = _Stream(io.BytesIO(rec))
        if s.get(0, 4) != FRAME_SYNC:
            return FrameEvent(i, None, f"frame {i}: lost sync")
        frame, res = self._parse_frame(s, 0, i)
        if frame is None:
            return FrameEvent(i, None, res)
        if frame.index != i or res != len(rec):
            return FrameEvent(i, None, f"frame {i}: invalid frame fields")
        return FrameEvent(i, frame, None)


def read_info(fileobj, verify: bool = False) -> dict:
    """Header fields plus n_frames, total_num_samples, file_size, duration_s, actual_bitrate_bps,
    index_valid, truncated, damaged_frames (None = not checked: index valid and verify=False)."""
    r = ContainerReader(fileobj)
    h = r.header
    info = {"version": VERSION, "sample_rate": h.sample_rate, "channels": h.channels,
            "num_samples": h.num_samples, "model_rate": h.model_rate, "frame_samples": h.frame_samples,
            "bitrate_bps": h.bitrate_bps, "model_id": h.model_id, "model_sha256": h.model_sha256.hex(),
            "tags": dict(h.tags)}
    valid = r.load_index()
    info["index_valid"] = valid
    damaged = truncated = None
    if valid and not verify:
        n_frames, total, size = r.n_frames, r.total_num_samples, r.file_size
        truncated = False
    else:
        damaged = n_frames = model_samples = 0
        for ev in r.frames():
            n_frames += 1
            if ev.frame is None:
                damaged += 1
                model_samples += h.frame_samples
            else:
                model_samples += ev.frame.num_samples
        truncated = r.truncated
        total = r.total_num_samples
        if total is None:  # no index: header length, else an estimate from the frames seen
            total = h.num_samples if h.num_samples is not None else model_samples * h.sample_rate // h.model_rate
        size = r.file_size if valid else None
        if size is None and r._seekable:
            size = fileobj.seek(0, 2) - r._start
        if size is None:
            size = r.bytes_scanned
    duration = total / h.sample_rate
    info.update(n_frames=n_frames, total_num_samples=total, file_size=size, duration_s=duration,
                actual_bitrate_bps=(size * 8 / duration) if duration > 0 else 0.0,
                truncated=truncated, damaged_frames=damaged)
    return info
