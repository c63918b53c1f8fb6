"""A damaged MP3 read as if each damaged frame were a silent one, so everything after stays in its time.

mpg123 drops each frame whose header is damaged and reads on at the next header it believes, so what follows came
out early (600 zeroed bytes in a 128-kbps MP3: the rest of the song 52 ms early). Inside a burst it can also take
a stray sync in the audio data for a header and stop there without a word, or give up after 1 KiB. So once it
shows damage, muzip walks the frame headers itself: where the chain breaks, it goes on at the first header that
starts three frames in a row of the same kind. It then decodes the file again through a view in which the bytes
between are frames of silence (decoders output zeros for a frame with no bits allotted), as many as were lost.
A constant-bitrate MP3's skipped bytes say how many that is; so does a VBR MP3's Xing frame count (where the walk
reaches the audio's end); else it is estimated. Samples handed out are decoded again and dropped (as before).
"""

from __future__ import annotations

import bisect
import os
import re
from collections import deque
from dataclasses import dataclass

from .byte_view import ByteView
from .mp3_frames import audio_end, first_frame, frame_at, id3v2_end, is_xing_frame, stated_frames, xing_says_vbr

CHAIN = 3  # frames in a row of one kind that a resync believes (mpg123 asks for one)
_SYNC = re.compile(rb"\xff[\xe0-\xff][\x00-\xef]", re.DOTALL)  # sync, then a bitrate other than "bad" (a run of 0xFF)
_NEAR = 8  # frames whose mean size estimates the lost ones' in a VBR MP3; fewer prove no constant bitrate
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Silence:
    """`padded` frames then `plain` ones, made as they are read: a 100-MB burst is no 100 MB in memory."""
    padded: bytes
    plain: bytes
    k: int  # padded frames
    n: int  # all frames

    def __len__(self) -> int:
        return self.k * len(self.padded) + (self.n - self.k) * len(self.plain)

    def __getitem__(self, cut: slice) -> bytes:
        a, b, _ = cut.indices(len(self))
        out, edge = bytearray(), self.k * len(self.padded)
        while a < b:
            frame, at = (self.padded, a) if a < edge else (self.plain, a - edge)
            i = at % len(frame) if frame else 0
            piece = frame[i:i + min(b - a, len(frame) - i)] if frame else b""
            if not piece:
                break
            out += piece
            a += len(piece)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self[0:len(self)]


NO_SILENCE = Silence(b"", b"", 0, 0)


@dataclass(frozen=True)
class Place:
    start: int     # byte where the frame chain breaks
    end: int       # byte where it goes on
    frames: int    # frames of silence put in (0: bytes between two frames that hold none, left out)
    samples: int   # per channel
    exact: bool    # False: a VBR MP3's count, estimated
    silent: Silence  # what the view holds there


class _Bytes:
    """Reads of the file open as `fd` through one 64-KiB window (pread: the descriptor's offset never moves)."""

    def __init__(self, fd: int):
        self.fd, self.base, self.buf = fd, 0, b""

    def at(self, pos: int, n: int) -> bytes:
        if not self.base <= pos or pos + n > self.base + len(self.buf):
            self.base, self.buf = pos, os.pread(self.fd, max(_CHUNK, n), pos)
        return self.buf[pos - self.base:pos - self.base + n]


def _kind(head: bytes) -> tuple:
    """What a frame must share with the stream's others: MPEG version, layer, sample rate, mono or not."""
    return head[1] & 0xFE, head[2] & 0x0C, head[3] >> 6 == 3


def find_damage(fd: int) -> list[Place]:
    """The places where the frame chain of the MP3 open as `fd` breaks and goes on, in order. A break with no
    frames after it (a cut) ends the walk: that is the reader's cut, not a place."""
    return _walked(fd)[0]


def _walked(fd: int) -> tuple[list[Place], int]:
    """(find_damage's places, the samples per channel of the frames walked and put in)."""
    end, read = audio_end(fd), _Bytes(fd)
    first = first_frame(fd)
    stated, walk, breaks, complete = 0, _Walk(), [], False
    if first is not None and is_xing_frame(first[1], first[2]):  # the encoder's: frames follow it, damaged or not
        xing, head = frame_at(first[1], first[2]), first[1][first[2]:first[2] + 4]
        stated, walk.kind, walk.head, walk.spf, walk.hz = stated_frames(first[1], first[2]), _kind(head), head, \
            xing.samples, xing.rate
        walk.sizes.append(xing.size)  # a size to go by where the damage is right after it
        walk.vbr = xing_says_vbr(first[1], first[2])  # "Xing": VBR, whatever its first frames' bitrates
        walk.said_cbr = not walk.vbr  # "Info": CBR from the first frame on
        pos = first[0] + xing.size
    else:
        audio = id3v2_end(fd, 0)
        pos = _resync(read, audio, end, None)  # the first frame: junk before it is no damage
        if pos is None:
            return [], 0
        head = read.at(audio, 4)
        if pos > audio and frame_at(head, 0) is not None and _kind(head) == _kind(read.at(pos, 4)):
            pos = audio  # the audio starts with a frame of the stream's kind: a break in its first frames is damage
        elif pos > audio and (lead := walk.lead(read, audio, pos, end)):
            breaks.append((audio, pos, read.at(pos, 4), lead))
    while True:
        if pos + 4 > end:
            complete = pos == end  # the walk ended on the audio's last byte: the frame count can be held to it
            break
        here = read.at(pos, 4)
        frame = frame_at(here, 0)
        if frame is not None and walk.kind in (None, _kind(here)) and pos + frame.size <= end:
            walk.step(pos, here, frame)
            pos += frame.size
            continue
        if frame is not None and walk.kind in (None, _kind(here)):
            break  # the last frame, cut short
        tag = _tag_size(read, fd, pos, end)
        if tag:  # tags between two MP3s (`cat a.mp3 b.mp3`), and the second one's Xing frame: not damage
            pos += tag
            continue
        if walk.counted < _NEAR and not walk.said_cbr and not walk.vbr:  # too few frames to tell CBR from VBR
            walk.peek(read, _resync(read, pos + 1, end, walk.kind), end)
        start = walk.suspect(pos, read, end)  # a CBR frame whose header took another bitrate was walked with the wrong size
        resumed = _resync(read, start + 1, end, walk.kind) if walk.kind is not None else None
        if resumed is None:
            break
        breaks.append((start, resumed, walk.head, walk.lost(resumed - start)))
        pos = resumed
    missing = stated - walk.counted if stated and complete else None
    places = [_place(start, stop, head, n, walk.spf, exact) for (start, stop, head, _), (n, exact)
              in zip(breaks, _counts(breaks, missing))]
    return places, walk.counted * walk.spf + sum(p.samples for p in places)


class _Walk:
    """What the walk has met: the frames' kind, sizes and bitrates, and the last one."""

    def __init__(self):
        self.kind, self.spf, self.head, self.counted, self.vbr, self.said_cbr = None, 0, b"", 0, False, False
        self.sizes: deque = deque(maxlen=_NEAR)
        self.rates: dict[int, int] = {}  # kbps -> frames
        self.ahead: dict[int, int] = {}  # kbps -> frames after the first break, where it came early (peek)
        self.last, self.hz, self.pad = (None, 0), 44100, 1  # the last frame's (byte, kbps); its rate; padding unit

    def step(self, pos: int, head: bytes, frame) -> None:
        self.kind, self.spf, self.head, self.counted = _kind(head), frame.samples, head, self.counted + 1
        self.sizes.append(frame.size)
        self.rates[frame.kbps] = self.rates.get(frame.kbps, 0) + 1
        self.hz, self.pad = frame.rate, 4 if frame.samples == 384 else 1  # Layer I pads in 4-byte slots
        self.last = (pos, frame.kbps)

    def cbr(self) -> int | None:
        """The bitrate of a constant-bitrate stream (all its frames but one, or 1 %), else None. Without a Xing/Info
        frame to say, a few frames of one bitrate are no proof (a VBR stream's silent start is all 32 kbps)."""
        rates = {k: self.rates.get(k, 0) + self.ahead.get(k, 0) for k in {*self.rates, *self.ahead}}
        seen = sum(rates.values())
        if not seen or self.vbr or (seen < _NEAR and not self.said_cbr):
            return None
        kbps, n = max(rates.items(), key=lambda item: item[1])
        return kbps if n >= seen - max(1, seen // 100) else None

    def lead(self, read: _Bytes, audio: int, first: int, end: int) -> tuple[int, bool] | None:
        """(frames, True) where the bytes from the `audio`'s start to the `first` frame are whole frames of a CBR
        stream (their first header damaged), else None: junk ahead of the first frame (a VBR stream's cannot be
        told from it; zeros or other padding are junk)."""
        lead = read.at(audio, first - audio)
        if b"Xing" in lead[:48] or b"Info" in lead[:48] or lead.count(lead[:1]) == len(lead):
            return None  # a Xing frame whose header is damaged holds no audio; a run of one byte is padding
        head = read.at(first, 4)
        self.kind, frame = _kind(head), frame_at(head, 0)
        self.spf, self.hz, self.pad = frame.samples, frame.rate, 4 if frame.samples == 384 else 1
        self.peek(read, first, end)
        n, exact = self.lost(first - audio) if self.cbr() is not None else (0, False)
        self.kind, self.ahead = None, {}
        return (n, True) if n and exact else None

    def peek(self, read: _Bytes, pos: int | None, end: int) -> None:
        """The bitrates of up to _NEAR frames from `pos` (where the stream goes on), for cbr() to go by."""
        while pos is not None and pos + 4 <= end and sum(self.ahead.values()) < _NEAR:
            here = read.at(pos, 4)
            frame = frame_at(here, 0)
            if frame is None or _kind(here) != self.kind or pos + frame.size > end:
                break
            self.ahead[frame.kbps] = self.ahead.get(frame.kbps, 0) + 1
            pos += frame.size

    def suspect(self, pos: int, read: _Bytes, end: int) -> int:
        """Where the break starts: at `pos`, or at the frame before, if it is a CBR stream's odd bitrate (one flipped
        bit in its header: walked with a wrong size, it ended mid-frame)."""
        at, kbps = self.last
        rate = self.cbr()
        if at is None or rate is None or kbps == rate:
            return pos
        # A VBR encoder's first frame can have another bitrate than all after it: among few frames, that one is the
        # damage only where, with the stream's bitrate, it ends where frames go on.
        size = int(self.spf * rate * 125 / self.hz)
        if self.said_cbr or self.counted >= _NEAR or any(_chain(read, at + size + d, end, self.kind)
                                                         for d in (0, self.pad)):
            self.counted -= 1
            return at
        return pos

    def lost(self, span: int) -> tuple[int, bool]:
        """(frames the `span` bytes held, counted or estimated). CBR: the bitrate's mean frame size (padding
        included) counts them exactly where the span is a whole number of frames; under half a frame is bytes
        inserted between two (none, left out). VBR: estimated from the last frames' mean size."""
        rate = self.cbr()
        if rate is None:
            return max(1, round(span / (sum(self.sizes) / len(self.sizes)))), False
        mean = self.spf * rate * 125 / self.hz
        n = round(span / mean)
        return n, n == 0 or abs(span - n * mean) <= self.pad + 0.5


def _tag_size(read: _Bytes, fd: int, pos: int, end: int) -> int:
    """The bytes of a tag at `pos` (ID3v2, ID3v1, APEv2, Lyrics3), or of an encoder's Xing frame, else 0."""
    head = read.at(pos, 11)
    if head[:3] == b"ID3":
        return id3v2_end(fd, pos) - pos
    if head[:3] == b"TAG":
        return 128
    if head[:8] == b"APETAGEX":
        return 32 + int.from_bytes(read.at(pos + 12, 4), "little")  # its header, then the items and footer
    if head[:11] == b"LYRICSBEGIN":
        tail = read.at(pos, 6000)  # Lyrics3 v1 is at most 5,100 bytes; v2 ends in its size and "LYRICS200"
        ends = [i + 9 for i in (tail.find(b"LYRICSEND"), tail.find(b"LYRICS200")) if i > 0]
        return min(ends) if ends else 0
    frame = frame_at(head, 0)
    if frame is not None and is_xing_frame(read.at(pos, 256), 0):
        return frame.size
    return 0


def _counts(breaks: list, missing: int | None) -> list[tuple[int, bool]]:
    """The frames lost at each break. Where the MP3 states its frame count (its Xing frame) and the walk went to
    its end, the frames missing from that count are the VBR breaks' to share (by their estimates): exact for one
    break, and bytes inserted between frames (no audio lost) get none."""
    counts = [lost for *_, lost in breaks]
    vbr = [i for i, (_, exact) in enumerate(counts) if not exact]
    share = None if missing is None else missing - sum(n for n, exact in counts if exact)
    guess = [counts[i][0] for i in vbr]
    if not vbr or share is None or not 0 <= share <= 2 * sum(guess) + 4:  # far off: a cut, or a wrong count
        return counts
    given = [share * g // sum(guess) for g in guess]
    for k in sorted(range(len(vbr)), key=lambda k: -(share * guess[k] % sum(guess)))[:share - sum(given)]:
        given[k] += 1  # the largest remainders: the shares add up to what is missing
    for i, n in zip(vbr, given):
        counts[i] = (n, len(vbr) == 1)
    return counts


def _resync(read: _Bytes, pos: int, end: int, kind) -> int | None:
    """The first byte from `pos` on that starts CHAIN frames of `kind` (None: of one kind) in a row, or to `end`."""
    while pos + 4 <= end:
        chunk = read.at(pos, min(_CHUNK, end - pos))  # scanned whole, for what could begin a header
        for m in _SYNC.finditer(chunk):
            if _chain(read, pos + m.start(), end, kind):
                return pos + m.start()
        pos += max(1, len(chunk) - 2)  # a sync cut by the chunk's end is met again in the next
    return None


def _chain(read: _Bytes, at: int, end: int, kind) -> bool:
    n, want = 0, kind
    while n < CHAIN and at + 4 <= end:
        here = read.at(at, 4)
        frame = frame_at(here, 0)
        if frame is None or _kind(here) != (want or _kind(here)) or at + frame.size > end:
            break
        at, n, want = at + frame.size, n + 1, _kind(here)
    return n == CHAIN or (n > 0 and at == end)


def _place(start: int, end: int, head: bytes, n: int, spf: int, exact: bool) -> Place:
    """What goes between: `n` silent frames, each the last good frame's header (no CRC) and zeros: no bits
    allotted, so silence. In a CBR MP3 as many are padded as keep the file's size."""
    if n == 0:
        return Place(start, end, 0, 0, exact, NO_SILENCE)  # bytes between two frames, left out
    plain = bytes([head[0], head[1] | 0x01, head[2] & 0xFD, head[3]])  # protection off, padding off
    padded = bytes([plain[0], plain[1], plain[2] | 0x02, plain[3]])
    size, extra = frame_at(plain, 0).size, frame_at(padded, 0).size - frame_at(plain, 0).size
    more = end - start - n * size
    k = more // extra if 0 <= more <= n * extra and more % extra == 0 else 0
    silence = Silence(padded + bytes(size + extra - 4), plain + bytes(size - 4), k, n)
    return Place(start, end, n, n * spf, exact, silence)


class RepairedView(ByteView):
    """The file open as `fd` with each place's bytes replaced by its silent frames (pread: nothing moves)."""

    def __init__(self, fd: int, places: list[Place], samples: int = 0):
        self.fd, self.places, self.used = fd, places, False  # used: a decoder has read it
        self.samples = samples  # per channel, of its frames (a decoder's delay and trims not taken off)
        self.parts: list[tuple[int, int, Silence | None, int]] = []  # (view start, length, silence, file offset)
        view = file = 0
        for p in places:
            self.parts.append((view, p.start - file, None, file))
            view += p.start - file
            self.parts.append((view, len(p.silent), p.silent, p.end))  # the file offset where it has been read to
            view, file = view + len(p.silent), p.end
        size = os.fstat(fd).st_size
        self.parts.append((view, max(size - file, 0), None, file))
        super().__init__(view + max(size - file, 0))
        self.starts = [part[0] for part in self.parts]

    def readinto(self, b):
        out = bytearray()
        while len(out) < len(b) and self.pos < self.size:
            start, length, data, offset = self.parts[bisect.bisect_right(self.starts, self.pos) - 1]
            want = min(len(b) - len(out), start + length - self.pos)
            if data is not None:
                got = data[self.pos - start:self.pos - start + want]
            else:
                try:  # inside libsndfile's callback: an exception would print there, so a read error is the end
                    got = os.pread(self.fd, want, offset + self.pos - start)
                except OSError:
                    got = b""
            if not got:
                break
            out += got
            self.pos += len(got)
        b[:len(out)] = out
        return len(out)

    def chunks(self):
        """What the view holds, start to end, in pieces (its read position does not move)."""
        self.used = True
        for start, length, data, offset in self.parts:
            if data is not None:
                for at in range(0, length, 1 << 20):
                    yield data[at:min(length, at + (1 << 20))]
                continue
            for at in range(offset, offset + length, 1 << 20):
                yield os.pread(self.fd, min(1 << 20, offset + length - at), at)

    def original_offset(self) -> int:
        """Where in the file the view has been read to."""
        start, length, data, offset = self.parts[bisect.bisect_right(self.starts, self.pos) - 1]
        return offset if data is not None else offset + self.pos - start  # in silence: past the bytes it replaced


def repaired_view(fd: int) -> RepairedView | None:
    """The MP3 open as `fd` through a view with silent frames where it is damaged; None where the walk finds no
    damage."""
    try:
        places, samples = _walked(fd)
        return RepairedView(fd, places, samples) if places else None
    except Exception:  # noqa: BLE001 - any file libsndfile refuses is walked: what fails is read as it was
        return None


def walked_samples(fd: int) -> int:
    """The samples per channel of the frames of the MP3 open as `fd`, by walking them (0 where that fails)."""
    try:
        return _walked(fd)[1]
    except Exception:  # noqa: BLE001 - then the file's bytes say whether more follows
        return 0


def decoder_at(view: RepairedView, handed_out: int):
    """A decoder reading `view`, moved past the `handed_out` samples already read; None where it does not open
    or ends before that (a VBR MP3 stating no length: libsndfile stops where it estimates the end)."""
    import numpy as np

    from ..native import quiet_native_stderr
    from .lazy import soundfile as sf
    from .libsndfile_calls import readf
    try:
        with quiet_native_stderr():  # what mpg123 says of the samples already handed out was said
            f = sf.SoundFile(view)
            if not handed_out:  # a view that decodes to nothing: the file is read (or refused) as it is
                got, err = readf(f, np.empty((1152, f.channels), np.float32))
                f.close()
                if not got or err is not None:
                    return None
                f = sf.SoundFile(view)
            scratch = np.empty((min(max(handed_out, 1), 1 << 16), f.channels), np.float32)
            left = handed_out
            while left > 0:
                got, err = readf(f, scratch[:min(left, len(scratch))])
                if not got or err is not None:
                    f.close()
                    return None
                left -= got
    except Exception:  # noqa: BLE001 - the file as mpg123 reads it is what is left
        return None
    view.used = True
    return f
