"""Reading ``.mz`` files: the sequential scan (pipes, damage) and random access through the index.

Nothing read from a file sizes anything before it is checked against the header and the file: frame
numbers may only skip as many frames as the bytes skipped could have held, and an index is used only if
its CRC matches, its sizes add up to the file, its records sit on real frames and its total agrees with
the samples those frames hold.
"""

from __future__ import annotations

import copy
import io
import struct
import zlib
from typing import Iterator

from ..errors import CorruptFileError, NotMuzipError, UnsupportedVersionError
from .format import (
    _FRAME_HEAD, _INDEX_HEAD, _PREFIX, _TRAILER, FRAME_OVERHEAD, FRAME_SYNC, INDEX_SYNC, MAGIC, MAX_HEADER_BODY,
    MAX_PAYLOAD, TRAILER_SIZE, TRAILER_SYNC, VERSION, Frame, FrameEvent, decode_body, index_size, max_frames,
    total_agrees,
)
from .stream import Stream


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
        self._stream = Stream(fileobj)
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
        self.header = decode_body(rest[:body_len])
        self.header_size = _PREFIX.size + body_len + 4
        self._stream.start = self.header_size
        self.truncated = False
        # After a full scan: the index or trailer is damaged (random access lost) though every frame is
        # there, which the scan proves from whichever of the two is intact (see frames()).
        self.index_damaged = False
        self.joined_at: int | None = None  # after a scan: where a second .mz follows (joined_message)
        self.held_end: int | None = None  # after a scan of a truncated file: where its last whole frame ends
        self.total_num_samples: int | None = None
        self.n_frames: int | None = None
        self.frame_offsets: list[int] | None = None
        self.frame_sizes: list[int] | None = None
        self.file_size: int | None = None
        self.bytes_scanned = 0
        self._max_frames = max_frames(self.header)
        self._index_ok: bool | None = None

    @property
    def seekable(self) -> bool:
        return self._seekable

    def reopened(self) -> "ContainerReader | None":
        """The same file on a new open file description (its own offset), index and all, for another
        process to read frames by index beside this one; None where that cannot be: no valid index, a
        pipe, an in-memory file, or no /proc (opening /proc/self/fd/N reopens exactly the open file,
        renamed or deleted since)."""
        if not self.load_index():
            return None
        try:
            f = open(f"/proc/self/fd/{self._f.fileno()}", "rb")
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        clone = copy.copy(self)
        clone._f, clone._stream = f, Stream(f)
        clone._stream.start = self.header_size
        return clone

    def close(self) -> None:
        """Closes the file object (for readers made by reopened(); others belong to their caller)."""
        self._f.close()

    def _size(self) -> int:
        if self.file_size is None:
            self.file_size = self._f.seek(0, 2) - self._start
        return self.file_size

    # -- sequential scan ---------------------------------------------------------------
    def _parse_frame(self, s: Stream, pos: int, expected: int, room: int | None):
        """-> (Frame, size) or (None, reason). `room`: bytes skipped since the last good record; frames
        the record's number skips must have fit there (FRAME_OVERHEAD each). None: no such bound."""
        head = s.get(pos, _FRAME_HEAD.size)
        if len(head) < _FRAME_HEAD.size:
            return None, f"frame {expected}: record runs past end of file"
        _, idx, n, lm, ls, plen = _FRAME_HEAD.unpack(head)
        h = self.header
        if plen > MAX_PAYLOAD:
            return None, f"frame {expected}: payload length out of range"
        if not (1 <= n <= h.frame_samples and expected <= idx < self._max_frames) or (h.channels == 1 and ls != 255):
            return None, f"frame {expected}: invalid frame fields"
        if room is not None and (idx - expected) * FRAME_OVERHEAD > room:
            return None, f"frame {expected}: frame number {idx} skips more frames than the data lost could hold"
        size = FRAME_OVERHEAD + plen
        if s.size is not None and pos + size > s.size:
            return None, f"frame {expected}: record runs past end of file"
        if not s.affordable(pos, size):
            return None, f"frame {expected}: damaged data"
        if s.fill(pos, size) < size:
            return None, f"frame {expected}: record runs past end of file"
        if not s.crc_ok(pos, size - 4):
            return None, f"frame {expected}: CRC mismatch"
        return Frame(idx, n, (lm, ls), s.get(pos + _FRAME_HEAD.size, plen)), size

    def _parse_index(self, s: Stream, pos: int, expected: int, samples: int, good: int):
        """-> (n_frames, total) or None. `samples`: model-rate samples in the `good` frames seen."""
        head = s.get(pos, _INDEX_HEAD.size)
        if len(head) < _INDEX_HEAD.size:
            return None
        _, n, first = _INDEX_HEAD.unpack(head)
        # Its n records must fit between header and index (frames cut from a stream still do, mostly).
        if not expected <= n <= self._max_frames or n * FRAME_OVERHEAD > pos - self.header_size \
                or first != (self.header_size if n else pos):
            return None
        size = index_size(n)
        if (s.size is not None and pos + size > s.size) or not s.affordable(pos, size) \
                or s.fill(pos, size) < size or not s.crc_ok(pos, size - 4):
            return None
        # The record sizes are not used here (nor checked: they still describe frames cut out of a stream).
        total = struct.unpack_from("<Q", s.get(pos + size - 12, 8))[0]
        missing = n - good  # lost frames hold 1..frame_samples samples each
        if not total_agrees(self.header, total, samples + missing, samples + missing * self.header.frame_samples):
            return None
        return n, total

    def frames(self) -> Iterator[FrameEvent]:
        """One FrameEvent per frame position, in order. See FORMAT.md, "Sequential scan", for the rules."""
        if self._seekable:
            size = self._size()  # seeks to the end: before positioning
            self._f.seek(self._start + self.header_size)
            s = Stream(self._f, self.header_size, size)
        else:
            s = self._stream
        self.truncated, self.index_damaged, pos, expected, pending = False, False, self.header_size, 0, None
        last_end, good, samples, after = pos, 0, 0, b""

        def lost(upto: int):
            for i in range(expected, upto):
                yield FrameEvent(i, None, pending if (i == expected and pending) else f"frame {i}: missing")

        while True:
            tag = s.get(pos, 4)
            after = tag if pos == last_end else after  # what follows the last good frame (find_sync drops it)
            if tag == FRAME_SYNC:
                frame, res = self._parse_frame(s, pos, expected, pos - last_end)
                if frame is not None:
                    yield from lost(frame.index)
                    yield FrameEvent(frame.index, frame, None)
                    expected, pending, pos = frame.index + 1, None, pos + res
                    last_end, good, samples = pos, good + 1, samples + frame.num_samples
                    s.drop_before(pos)
                    continue
                pending = pending or res
            elif tag == INDEX_SYNC:
                idx = self._parse_index(s, pos, expected, samples, good)
                if idx is not None:
                    yield from lost(idx[0])
                    self.total_num_samples = idx[1]
                    end = pos + index_size(idx[0])
                    tr = s.get(end, TRAILER_SIZE)
                    self.bytes_scanned = end + len(tr)  # trailer, if present
                    # The scan needs no trailer, random access does: one that is missing, damaged, points
                    # elsewhere or is not the end of the file is damage to report (`muzip test`).
                    after, whole = end + TRAILER_SIZE, _trailer_offset(tr) == pos
                    self.index_damaged = not whole or len(s.get(after, 1)) > 0
                    if whole and self.index_damaged and _prefix_follows(s.get(after, _PREFIX.size)):
                        # another .mz after a whole one: two files joined (`cat a.mz b.mz`), not damage
                        self.index_damaged, self.joined_at = False, after
                    return
                pending = pending or f"frame {expected}: damaged data"
            elif len(tag) == 4:
                pending = pending or f"frame {expected}: lost sync"
            nxt = s.find_sync(pos + 1) if len(tag) == 4 else None
            if nxt is None:  # EOF before a valid index; a partial last record is not reported
                self.bytes_scanned = s.base + len(s.buf)
                # Unless an intact trailer at the very end points to where the last good frame ended, with
                # room for an index of exactly the frames seen: then nothing is missing but the index.
                ioff = _trailer_offset(s.tail)
                self.index_damaged = ioff == last_end and self.bytes_scanned == ioff + index_size(expected) \
                    + TRAILER_SIZE or _holds_stated(self.header, samples) and INDEX_SYNC.startswith(after)
                self.truncated = not self.index_damaged
                self.held_end = last_end if self.truncated else None
                return
            pos = nxt

    # -- random access -----------------------------------------------------------------
    def _read_at(self, off: int, n: int) -> bytes:
        self._f.seek(self._start + off)
        return self._f.read(n)

    def load_index(self) -> bool:
        """Validate trailer + index (seekable files only). True -> n_frames, frame_offsets,
        frame_sizes, total_num_samples are set; False if absent, damaged or inconsistent."""
        if self._index_ok is None:
            try:
                self._index_ok = self._seekable and self._load_index()
            except OSError:
                self._index_ok = False
        return self._index_ok

    def _load_index(self) -> bool:
        h, size = self.header, self._size()
        if size < self.header_size + index_size(0) + TRAILER_SIZE:
            return False
        tag, ioff, crc = _TRAILER.unpack(self._read_at(size - TRAILER_SIZE, TRAILER_SIZE))
        if tag != TRAILER_SYNC or zlib.crc32(TRAILER_SYNC + struct.pack("<Q", ioff)) != crc:
            return False
        n, rem = divmod(size - TRAILER_SIZE - ioff - index_size(0), 4)
        if rem or n < 0 or ioff < self.header_size or n > self._max_frames \
                or n * FRAME_OVERHEAD > ioff - self.header_size:
            return False
        rec = self._read_at(ioff, index_size(n))
        if len(rec) != index_size(n) or rec[:4] != INDEX_SYNC \
                or zlib.crc32(memoryview(rec)[:-4]) != struct.unpack_from("<I", rec, len(rec) - 4)[0]:
            return False
        _, n_field, first = _INDEX_HEAD.unpack_from(rec)
        sizes = list(struct.unpack_from(f"<{n}I", rec, _INDEX_HEAD.size))
        total = struct.unpack_from("<Q", rec, len(rec) - 12)[0]
        if n_field != n or first != (self.header_size if n else ioff) or not _sizes_ok(sizes, ioff - first):
            return False
        # Cross-check against the frames: every record must start where the index says, with the index's
        # size, and the samples they hold must add up to total_num_samples.
        offs, o, samples = [], first, 0
        for i, z in enumerate(sizes):
            head = self._read_at(o, _FRAME_HEAD.size).ljust(_FRAME_HEAD.size)
            sync, idx, ns, _, _, plen = _FRAME_HEAD.unpack(head)
            if sync != FRAME_SYNC or idx != i or FRAME_OVERHEAD + plen != z or not 1 <= ns <= h.frame_samples:
                return False
            offs.append(o)
            o, samples = o + z, samples + ns
        if not total_agrees(h, total, samples, samples):
            return False
        self.n_frames, self.frame_offsets, self.frame_sizes, self.total_num_samples = n, offs, sizes, total
        return True

    def read_frame(self, i: int) -> FrameEvent:
        """Frame i via the index. CorruptFileError if there is no valid index; IndexError if out of range."""
        if self.frame_offsets is None and not self.load_index():
            raise CorruptFileError("no valid index: random access impossible (file truncated or damaged)")
        if not 0 <= i < self.n_frames:
            raise IndexError(f"frame {i} out of range (0..{self.n_frames - 1})")
        rec = self._read_at(self.frame_offsets[i], self.frame_sizes[i])
        s = Stream(io.BytesIO(rec))
        if s.get(0, 4) != FRAME_SYNC:
            return FrameEvent(i, None, f"frame {i}: lost sync")
        frame, res = self._parse_frame(s, 0, i, None)
        if frame is None:
            return FrameEvent(i, None, res)
        if frame.index != i or res != len(rec):
            return FrameEvent(i, None, f"frame {i}: invalid frame fields")
        return FrameEvent(i, frame, None)


def joined_message(offset: int) -> str:
    """What is said of a file that holds a second .mz after its own end (ContainerReader.joined_at)."""
    return (f"another muzip file follows at byte {offset:,} (files joined with cat?): only the first is read "
            f"(split them with head -c {offset})")


def _prefix_follows(b: bytes) -> bool:
    """True for the start of a .mz header: magic, this format's version, a header length it allows."""
    if len(b) < _PREFIX.size:
        return False
    magic, version, body_len = _PREFIX.unpack(b[:_PREFIX.size])
    return magic == MAGIC and version == VERSION and body_len <= MAX_HEADER_BODY


def _holds_stated(h, model_samples: int) -> bool:
    """Whether frames of `model_samples` hold the whole length the header states (within a sample's rounding).
    With nothing after them but the start of an index, a file lost its index and trailer only, no audio (`muzip
    test` said "truncated", exit 1). A header states a length only where the input's was exact."""
    return h.num_samples is not None and model_samples * h.sample_rate + h.sample_rate >= h.num_samples * h.model_rate


def _trailer_offset(tr: bytes) -> int | None:
    """The index offset a trailer's 16 bytes give, or None unless its sync and CRC are right."""
    if len(tr) != TRAILER_SIZE:
        return None
    tag, ioff, crc = _TRAILER.unpack(tr)
    return ioff if tag == TRAILER_SYNC and zlib.crc32(tr[:12]) == crc else None


def _sizes_ok(sizes, span: int) -> bool:
    return sum(sizes) == span and all(FRAME_OVERHEAD <= z <= FRAME_OVERHEAD + MAX_PAYLOAD for z in sizes)


def read_info(fileobj, verify: bool = False) -> dict:
    """Header fields plus n_frames, total_num_samples, file_size, duration_s, held_s (the seconds its frames hold:
    duration_s but for a truncated file, whose header states more), actual_bitrate_bps (a cover picture's bytes
    left out),
    index_valid, truncated, index_damaged (every frame there, but index or trailer damaged: no random
    access), damaged_frames (None = not checked: index valid and verify=False), joined_at (ContainerReader's),
    cover_mime and cover_bytes
    (its size; the image itself is Header.cover)."""
    r = ContainerReader(fileobj)
    h = r.header
    info = {"version": VERSION, "sample_rate": h.sample_rate, "channels": h.channels,
            "num_samples": h.num_samples, "model_rate": h.model_rate, "frame_samples": h.frame_samples,
            "bitrate_bps": h.bitrate_bps, "model_id": h.model_id, "model_sha256": h.model_sha256.hex(),
            "tags": dict(h.tags), "cover_mime": h.cover[0] if h.cover else None,
            "cover_bytes": len(h.cover[1]) if h.cover else 0}
    valid = r.load_index()
    info["index_valid"] = valid
    damaged = truncated = joined = None
    model_samples = 0
    if valid and not verify:
        n_frames, total, size = r.n_frames, r.total_num_samples, r.file_size
        truncated = index_damaged = False
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
        total, joined = r.total_num_samples, r.joined_at
        index_damaged = r.index_damaged or (r.seekable and not valid and not truncated and joined is None)
        if total is None:  # no index: header length, else an estimate from the frames seen
            total = h.num_samples if h.num_samples is not None else model_samples * h.sample_rate // h.model_rate
        size = r._size() if r._seekable else r.bytes_scanned
    duration = total / h.sample_rate
    # A cut file's bytes hold only its frames: its bitrate is over the audio they hold, not the header's length,
    # and the bytes of its whole frames (a part of the next holds no audio).
    coded_s = model_samples / h.model_rate if truncated else duration
    own = r.held_end if truncated else (joined or size)
    info.update(n_frames=n_frames, total_num_samples=total, file_size=size, duration_s=duration, held_s=coded_s,
                # its own bytes, a cover picture's left out (as the encoder budgets them)
                actual_bitrate_bps=((own - info["cover_bytes"]) * 8 / coded_s) if coded_s > 0 else 0.0,
                truncated=truncated, index_damaged=index_damaged, damaged_frames=damaged, joined_at=joined)
    return info
