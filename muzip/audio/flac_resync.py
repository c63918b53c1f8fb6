"""Reading a FLAC on past damage in its middle. One flipped bit fails a frame's checksum, and libFLAC (through
libsndfile) stops there: the whole file was refused, where every player plays it with a 0.1-s dropout.

Each FLAC frame header carries its place: the frame's number (fixed block size) or its first sample's (variable),
under the header's own CRC-8. So after a decode error the bytes from a little before where libFLAC stopped are
scanned for frame headers whose CRC-8 holds and whose place is after the damaged frame; the first whose frame then
decodes (a fresh decoder reads the file's own metadata followed by the bytes from that header on: the frame's
CRC-16 holds) is where reading goes on, and the samples before its place are silence. Every sample keeps its time.
Read through the descriptor already open: a file replaced meanwhile is not read in.
(ffmpeg's `aresample=async` fill was tried first, session 57: where a file had a second damage, its FLAC parser
could merge frames into a packet without a timestamp, without an error, and put audio in the wrong place. libFLAC's
own seeking worked but took minutes where a megabyte or more of the file was zeros.)
"""

from __future__ import annotations

import os

import numpy as np

from .byte_view import ByteView
from .lazy import soundfile as sf
from .libsndfile_calls import readf

LOOK_BACK = 1 << 16  # bytes before libFLAC's stop scanned too: it reads ahead, past good frames after the damage
_CHUNK = 1 << 20
_PROBE = 64  # samples decoded from a candidate frame: libFLAC checks the frame's CRC-16 to give them


def _crc8(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def stream_layout(fd: int):
    """(bytes before the first frame: the "fLaC" marker and metadata, with any ID3v2 tag before them; STREAMINFO's
    largest block size), or None where the file does not read as a FLAC."""
    head = os.pread(fd, 10, 0)
    start = 10 + int.from_bytes(bytes(b & 0x7F for b in head[6:10]), "big") if head[:3] == b"ID3" else 0
    if os.pread(fd, 4, start) != b"fLaC":
        return None
    at, max_block = start + 4, None
    while True:
        block = os.pread(fd, 4, at)
        if len(block) < 4:
            return None
        length = int.from_bytes(block[1:4], "big")
        if block[0] & 0x7F == 0:  # STREAMINFO: min and max block size first
            info = os.pread(fd, 4, at + 4)
            max_block = int.from_bytes(info[2:4], "big") if len(info) == 4 else None
        at += 4 + length
        if block[0] & 0x80:
            return os.pread(fd, at, 0), max_block


def _header_place(buf: bytes, i: int, max_block: int | None) -> int | None:
    """The first sample of the frame whose header starts at buf[i] (b"\\xff\\xf8" or b"\\xff\\xf9"), or None if no
    valid header starts there (reserved values, a bad CRC-8)."""
    if len(buf) - i < 16:
        return None
    variable, size_code, rate_code = buf[i + 1] & 1, buf[i + 2] >> 4, buf[i + 2] & 0x0F
    if size_code == 0 or rate_code == 15 or buf[i + 3] >> 4 > 10 or buf[i + 3] & 1 or (buf[i + 3] >> 1) & 7 == 3:
        return None
    first, j = buf[i + 4], i + 5
    extra = next((k for k in range(7) if not (first << k) & 0x80), 7)  # UTF-8-like: leading ones = bytes - 1
    if extra == 1 or extra == 7:
        return None
    number = first & (0x7F >> extra) if extra else first
    for _ in range(extra - 1 if extra else 0):
        if buf[j] & 0xC0 != 0x80:
            return None
        number, j = (number << 6) | (buf[j] & 0x3F), j + 1
    block = {1: 192, 6: None, 7: None}.get(size_code)
    if size_code == 6:
        block, j = buf[j] + 1, j + 1
    elif size_code == 7:
        block, j = int.from_bytes(buf[j:j + 2], "big") + 1, j + 2
    elif block is None:
        block = 576 << (size_code - 2) if size_code <= 5 else 256 << (size_code - 8)
    j += {12: 1, 13: 2, 14: 2}.get(rate_code, 0)
    if _crc8(buf[i:j]) != buf[j]:
        return None
    return number if variable else number * (max_block or block)


class _Spliced(ByteView):
    """The file's metadata, then its bytes from `start` on: read through `fd` (pread), which nothing moves."""

    def __init__(self, fd: int, head: bytes, start: int):
        super().__init__(len(head) + max(os.fstat(fd).st_size - start, 0))
        self.fd, self.head, self.start = fd, head, start

    def readinto(self, b):
        n, got = len(b), b""
        if self.pos < len(self.head):
            got = self.head[self.pos:self.pos + n]
        if len(got) < n and self.pos + len(got) >= len(self.head):
            try:  # inside libsndfile's callback: an exception would print there, so a read error is the end
                got += os.pread(self.fd, n - len(got), self.start + self.pos + len(got) - len(self.head))
            except OSError:
                pass
        b[:len(got)] = got
        self.pos += len(got)
        return len(got)

    def original_offset(self) -> int:
        return self.start + max(self.pos - len(self.head), 0)


def read_on(fd: int, stopped_at: int, at: int, channels: int):
    """(place, SoundFile, its _Spliced) of the first frame after sample `at` (a damaged frame's first) that decodes,
    scanning the file open as `fd` from byte `stopped_at` - LOOK_BACK; None where none does (damaged to its end)."""
    try:
        return _scan(fd, stopped_at, at, channels)
    except OSError:  # the file cannot be read there: as if nothing after the damage decoded
        return None


def _scan(fd: int, stopped_at: int, at: int, channels: int):
    layout = stream_layout(fd)
    if layout is None:
        return None
    head, max_block = layout
    offset = max(len(head), stopped_at - LOOK_BACK)
    while True:
        buf = os.pread(fd, _CHUNK + 32, offset)
        if len(buf) < 16:
            return None
        i = buf.find(b"\xff", 0, _CHUNK)
        while 0 <= i < _CHUNK:
            if buf[i + 1:i + 2] in (b"\xf8", b"\xf9"):
                place = _header_place(buf, i, max_block)
                if place is not None and place > at and (found := _decodes(fd, head, offset + i, channels)):
                    return (place, *found)
            i = buf.find(b"\xff", i + 1, _CHUNK)
        offset += _CHUNK


def _decodes(fd: int, head: bytes, start: int, channels: int):
    """(SoundFile, _Spliced) reading from the frame at byte `start`, if that frame decodes (else None)."""
    try:
        f = sf.SoundFile(_Spliced(fd, head, start))
    except Exception:  # noqa: BLE001 - libsndfile turned it down: not a frame after all
        return None
    try:
        probe = np.empty((_PROBE, f.channels), np.float32)
        got, err = readf(f, probe) if f.channels == channels else (0, "")
    finally:
        f.close()
    if err is not None or got == 0:
        return None
    spliced = _Spliced(fd, head, start)  # from the frame's start again: a seek would go by the file's sample numbers
    try:
        return sf.SoundFile(spliced), spliced
    except Exception:  # noqa: BLE001 - it opened a moment ago; if not now, the file changed under us
        return None


def damage_note(damaged: list[tuple[int, int, str]], rate: int) -> str:
    """The warning for a FLAC read on past damage: `damaged` holds (first silent sample, first sample read on,
    libsndfile's error) of each place."""
    places = f"{len(damaged)} places" if len(damaged) > 1 else "one place"
    silent = sum(b - a for a, b, _ in damaged) / rate
    return (f"the FLAC data is damaged in {places}, from {damaged[0][0] / rate:.3f} s: the {silent:.3f} s that would "
            f"not decode are silence, the rest in its place (libsndfile: {damaged[0][2]})")
