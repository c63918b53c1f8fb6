"""An MP3's layout, read with ``os.pread`` (the descriptor libsndfile reads from never moves): its ID3v2 tags,
MPEG audio frame headers, the Xing/Info frame that states its length, and the tags at its end."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

_KBPS = {  # (MPEG-1?, layer bits) -> kbps by index; MPEG-2 and 2.5 share their tables
    (True, 3): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 1): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 3): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    (False, 1): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def mpeg_header(b: bytes, i: int) -> tuple[int, int, int] | None:
    """(version bits, layer bits, channel mode) of a valid MPEG audio frame header at b[i:i+4], else None."""
    if i + 4 > len(b) or b[i] != 0xFF or (b[i + 1] & 0xE0) != 0xE0:
        return None
    version, layer = (b[i + 1] >> 3) & 3, (b[i + 1] >> 1) & 3
    bitrate, rate = b[i + 2] >> 4, (b[i + 2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate in (0, 15) or rate == 3:
        return None
    return version, layer, b[i + 3] >> 6


@dataclass(frozen=True)
class Frame:
    size: int     # bytes, header included
    samples: int  # per channel
    kbps: int
    rate: int


def frame_at(b: bytes, i: int) -> Frame | None:
    """The frame whose header is at b[i:i+4] (None: no valid header there)."""
    head = mpeg_header(b, i)
    if head is None:
        return None
    version, layer, _ = head
    kbps = _KBPS[(version == 3, layer)][b[i + 2] >> 4]
    rate = _RATES[version][(b[i + 2] >> 2) & 3]
    pad = (b[i + 2] >> 1) & 1
    if layer == 3:  # Layer I: 384 samples in 4-byte slots
        return Frame((12 * kbps * 1000 // rate + pad) * 4, 384, kbps, rate)
    samples = 576 if layer == 1 and version != 3 else 1152
    return Frame(samples // 8 * kbps * 1000 // rate + pad, samples, kbps, rate)


def _l3_frame_bytes(b: bytes, i: int) -> int | None:
    """The length of the Layer III frame whose header is at b[i:i+4] (None: not Layer III)."""
    frame = frame_at(b, i) if (b[i + 1] >> 1) & 3 == 1 else None
    return None if frame is None else frame.size


def id3v2_end(fd: int, pos: int) -> int:
    """Where the ID3v2 tags at `pos` end (possibly more than one: mpg123 skips them all)."""
    for _ in range(8):
        tag = os.pread(fd, 10, pos)
        if len(tag) < 10 or tag[:3] != b"ID3":
            break
        pos += 10 + syncsafe(tag[6:10]) + (10 if tag[5] & 0x10 else 0)
    return pos


def first_frame(fd: int) -> tuple[int, bytes, int] | None:
    """(file offset of the first MPEG audio frame header after the ID3v2 tags, up to 64 KiB read from there on,
    that header's index in them), or None."""
    pos = id3v2_end(fd, 0)
    data = os.pread(fd, 1 << 16, pos)
    i = data.find(b"\xff")
    while 0 <= i and mpeg_header(data, i) is None:
        i = data.find(b"\xff", i + 1)
    return None if i < 0 else (pos + i, data, i)


def _xing_fields(data: bytes, i: int) -> tuple[int, int] | None:
    """(flags, where the Xing/Info tag's fields start) of the Layer III frame at data[i], or None."""
    head = mpeg_header(data, i)
    if head is None or head[1] != 1:  # Xing/VBRI frames are Layer III only
        return None
    version, _, mode = head
    side = (32 if mode != 3 else 17) if version == 3 else (17 if mode != 3 else 9)
    for off in (i + 4 + side, i + 6 + side):  # without and with a CRC
        if data[off:off + 4] in (b"Xing", b"Info") and len(data) >= off + 8:
            return struct.unpack(">I", data[off + 4:off + 8])[0], off + 8
    return None


def _stated_frames(data: bytes, flags: int, off: int) -> int:
    """The frame count a Xing/Info tag's fields at data[off] state (0: none)."""
    return struct.unpack(">I", data[off:off + 4])[0] if flags & 1 and len(data) >= off + 4 else 0


def is_xing_frame(data: bytes, i: int) -> bool:
    """The frame at data[i] is an encoder's Xing/Info frame: decoders output nothing for it."""
    return _xing_fields(data, i) is not None


def xing_says_vbr(data: bytes, i: int) -> bool:
    """The frame at data[i] is a "Xing" frame, which encoders write for a variable bitrate ("Info": constant)."""
    xing = _xing_fields(data, i)
    return xing is not None and data[xing[1] - 8:xing[1] - 4] == b"Xing"


START_FRAMES = 8  # frames from the first that start_damaged walks


def start_damaged(fd: int, frames: int | None) -> bool:
    """The MP3 open as `fd`, which libsndfile says is `frames` long, is damaged at its start, or may be (bytes
    ahead of its first frame: mp3_repair tells a damaged header from junk). mpg123 takes a first frame whose
    next one is damaged for a stray sync and reads on at the next pair, saying nothing: a frame or two early, and
    past a Xing frame without its stated length and gapless trim (47 samples early where the first audio frame
    was lost); damage in an MPEG-2 MP3's second or third frame is met as libsndfile opens it, unsaid too (so the
    first START_FRAMES are walked). A Xing frame whose count is not libsndfile's length was so passed by. `frames`
    None: libsndfile refused the file, and any MPEG frame in it is reason to walk it (0.3 s for 150 MB of random
    bytes)."""
    found = first_frame(fd)
    if found is None:
        return False
    at, data, i = found
    if at > id3v2_end(fd, 0) or frames is None:  # libsndfile refused it: damage in the first frames (MPEG-2's 2nd)
        return True
    first, stated = frame_at(data, i), stated_frames(data, i)
    if stated and frames is not None and not (stated - 4) * first.samples <= frames <= stated * first.samples:
        return True  # mpg123's delay and padding trimmed are under 3 frames
    kind, j = (data[i + 1] & 0xFE, data[i + 2] & 0x0C), i  # MPEG version, layer, sample rate
    for _ in range(START_FRAMES):  # what mpg123 resyncs over as libsndfile opens the file goes unsaid
        j += frame_at(data, j).size
        if j + 4 > len(data) or data[j:j + 3] in (b"TAG", b"APE", b"LYR", b"ID3"):
            return False  # a file of a few frames (its tags follow), or more than the 64 KiB read
        if frame_at(data, j) is None or (data[j + 1] & 0xFE, data[j + 2] & 0x0C) != kind:
            return True
    return False


def stated_frames(data: bytes, i: int) -> int:
    """The frame count the Xing/Info frame at data[i] states (0: none, or no such frame)."""
    xing = _xing_fields(data, i)
    return 0 if xing is None else _stated_frames(data, *xing)


def mp3_states_length(fd: int) -> bool:
    """True when the first MPEG audio frame (after any ID3v2 tags) is a Xing/Info or VBRI frame that gives
    the stream's frame count: then libsndfile's (mpg123's) length is exact; without it, it is an estimate
    from the file's size."""
    found = first_frame(fd)
    if found is None:
        return False
    _, data, i = found
    xing = _xing_fields(data, i)
    if xing is not None and xing[0] & 1:
        return _stated_frames(data, *xing) > 0
    off = i + 4 + 32  # VBRI: always 32 bytes after the header
    if data[off:off + 4] == b"VBRI" and len(data) >= off + 18 and (data[i + 1] >> 1) & 3 == 1:
        return struct.unpack(">I", data[off + 14:off + 18])[0] > 0
    return False


def states_no_audio(fd: int) -> bool:
    """The MP3 is its Info/Xing frame stating 0 frames and its tags (ffmpeg's MP3 of a cut past a file's end):
    no audio, not damage (libsndfile said "File does not exist or is not a regular file")."""
    found = first_frame(fd)
    if found is None:
        return False
    at, data, i = found
    xing, frame = _xing_fields(data, i), frame_at(data, i)
    return xing is not None and xing[0] & 1 and _stated_frames(data, *xing) == 0 and frame is not None \
        and at + frame.size >= audio_end(fd)


def audio_end(fd: int) -> int:
    """Where an MP3's audio ends: the file's end less the tags there (ID3v1, an APEv2 tag, an ID3v2 footer)."""
    end = os.fstat(fd).st_size
    for _ in range(4):
        if end >= 128 and os.pread(fd, 3, end - 128) == b"TAG":
            end -= 128
        elif end >= 32 and (f := os.pread(fd, 32, end - 32))[:8] == b"APETAGEX":
            size, flags = struct.unpack("<I", f[12:16])[0], struct.unpack("<I", f[20:24])[0]
            end -= size + (32 if flags & 0x80000000 else 0)
        elif end >= 10 and (f := os.pread(fd, 10, end - 10))[:3] == b"3DI":
            end -= 20 + syncsafe(f[6:10])
        else:
            break
    return end


def joined_mp3_at(fd: int) -> int | None:
    """Where a second MP3 joined to the first (`cat a.mp3 b.mp3`) begins with its ID3v2 tag: at the end of the
    first's run of frames (past its ID3v1 tag), if such a tag starts there; else None."""
    found = first_frame(fd)
    if found is None:
        return None
    pos = found[0]
    for _ in range(1 << 23):  # 50 hours of frames
        frame = frame_at(os.pread(fd, 4, pos).ljust(4, b"\0"), 0)
        if frame is None or frame.size < 4:
            break
        pos += frame.size
    pos += 128 if os.pread(fd, 3, pos) == b"TAG" else 0
    tag = os.pread(fd, 10, pos)
    return pos if len(tag) == 10 and tag[:3] == b"ID3" and 2 <= tag[3] <= 4 and max(tag[6:10]) < 0x80 else None


def mp3_audio_share(fd: int) -> float:
    """The share of an MP3's bytes that are audio, not tags: mpg123 estimates the length of an MP3 that does not
    state it from the file's size, so a 300-kB cover picture made a 12-s 128-kbps MP3 31 s long."""
    try:
        size = os.fstat(fd).st_size
        audio = audio_end(fd) - id3v2_end(fd, 0)
        return min(1.0, audio / size) if size and audio > 0 else 1.0  # a tag size past the file: not believed
    except (OSError, struct.error):
        return 1.0


def mpeg_audio_after(fd: int, slack: int, at: int | None = None) -> bool:
    """True when more than `slack` bytes of MPEG audio frames follow where mpg123 stopped (byte `at`, else fd's
    offset), past the tags there: another MP3 appended (`cat a.mp3 b.mp3`), not a cover-art tag at the end. Two
    Layer III frame headers one frame apart are asked for (one 0xFFF sync in a JPEG proves nothing)."""
    try:
        return _mpeg_audio_after(fd, os.lseek(fd, 0, os.SEEK_CUR) if at is None else at, slack)
    except (OSError, TypeError, struct.error):
        return False


def _mpeg_audio_after(fd: int, pos: int, slack: int) -> bool:
    end = audio_end(fd)
    pos = id3v2_end(fd, pos)  # tags ahead of the appended audio (its ID3v2)
    if end - pos <= slack:
        return False
    data = os.pread(fd, min(1 << 16, end - pos), pos)
    i = data.find(b"\xff")
    while 0 <= i:
        if mpeg_header(data, i) is not None:
            n = _l3_frame_bytes(data, i)
            if n is None or (n > 4 and mpeg_header(data, i + n) is not None):
                return True
        i = data.find(b"\xff", i + 1)
    return False
