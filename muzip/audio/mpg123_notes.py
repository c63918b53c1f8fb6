"""What mpg123 leaves out of an MP3, read by AudioSource (read.py): damage it skips, and a second MP3 after the first.

What mpg123 says while it decodes an MP3 damaged in its middle. It skips the bad bytes and reads on, as every
player does, so the file decodes a few milliseconds short, and libsndfile reports nothing. mpg123's notes on file
descriptor 2 ("Note: Illegal Audio-MPEG-Header 0x06eaebc9 at offset 144866." ... "Note: Skipped 627 bytes in
input.") are kept in a temporary file rather than dropped, and read once the file is decoded: one warning."""

from __future__ import annotations

import os
import re
import tempfile
from collections import deque

import numpy as np

from .ffmpeg_resume import resume
from .mp3_gaps import FrameWalk, Gap

_ILLEGAL = re.compile(r"Illegal Audio-MPEG-Header 0x[0-9a-fA-F]+ at offset (\d+)")
_SKIPPED = re.compile(r"Skipped (\d+) bytes in input")
_KEPT = 1 << 20  # bytes of notes read back: a file damaged all through says so within them
# Frames ffmpeg's decode may be off mpg123's where it takes over: damage earlier in the MP3 made each drop its own
# count of whole frames (a 600-byte burst: mpg123 2, ffmpeg more), and lined up exactly the rest was refused.
SEARCH = 32 * 1152


class Mpg123Notes:
    """A place for mpg123's notes (`fd` for native.quiet_native_stderr's `into`), the silence in place of the
    frames they say were dropped (mp3_gaps), and the warning they make."""

    def __init__(self):
        try:
            self.file = tempfile.TemporaryFile()
        except OSError:  # no room for it: the notes are dropped, as before
            self.file = None
        self._parsed, self._partial, self._illegal = 0, "", None
        self.places: dict[int, int] = {}  # byte where mpg123's header chain broke -> bytes it skipped, in order
        self._walk: FrameWalk | None = None
        self._waiting: deque = deque()  # gaps past the output so far
        self.filled: list[Gap] = []
        self.unplaced = 0  # places the walk could not place
        self.inserted = 0  # samples of silence handed out

    @property
    def fd(self) -> int | None:
        return None if self.file is None else self.file.fileno()

    def _read_new(self) -> list[tuple[int, int]]:
        """(byte, skipped) of the places named since the last call. pread: the file's offset is fd 2's too."""
        if self.file is None or self._parsed >= _KEPT:
            return []
        data = os.pread(self.file.fileno(), _KEPT - self._parsed, self._parsed)
        self._parsed += len(data)
        lines = (self._partial + data.decode("utf-8", "replace")).split("\n")
        self._partial, new = lines.pop(), []
        for line in lines:
            if m := _ILLEGAL.search(line):
                self._illegal = int(m.group(1))
            elif (m := _SKIPPED.search(line)) and self._illegal is not None:
                if self._illegal not in self.places:  # mpg123 may name a place twice
                    self.places[self._illegal] = int(m.group(1))
                    new.append((self._illegal, int(m.group(1))))
                self._illegal = None
        return new

    def place(self, block: np.ndarray, handed_out: int, fd: int, promised: int | None) -> list[np.ndarray]:
        """`block`, mpg123's next output after `handed_out` samples, in pieces, with silence where dropped frames
        belonged (a gap whose note came late goes at the block's start), and no further than `promised`, the
        length an MP3 states: mpg123 cuts the encoder's padding at the end by its own count, short of the
        dropped frames, so that much more came out."""
        start = handed_out - self.inserted
        for at, skipped in self._read_new():
            self._walk = self._walk or FrameWalk(fd)
            gap = self._walk.gap(at, at + skipped)
            if gap is None:
                self.unplaced += 1
            else:
                self._waiting.append(gap)
        pieces, cut, end = [], 0, start + len(block)
        while self._waiting and self._waiting[0].at <= end:
            gap = self._waiting.popleft()
            at = max(gap.at, start) - start
            if at > cut:
                pieces.append(block[cut:at])
                cut = at
            pieces.append(np.zeros((gap.samples, block.shape[1]), block.dtype))
            self.filled.append(gap)
            self.inserted += gap.samples
        pieces += [block[cut:]] if cut < len(block) else []
        if promised is None or not self.inserted:
            return pieces
        room, kept = promised - handed_out, []
        for piece in pieces:
            if room > 0:
                kept.append(piece[:room])
                room -= len(kept[-1])
        return kept

    def warnings(self, fd: int, tail: int, rate: int) -> list[str]:
        """One line for damage before the last `tail` bytes of the file open as `fd` (what follows the audio
        there, tags or a cut last frame, is the reader's own business), or none."""
        try:
            size = os.fstat(fd).st_size
        except (OSError, TypeError):
            return []
        self._read_new()
        places = [at for at in self.places if at < size - tail]
        if not places:
            return []
        skipped = sum(self.places[at] for at in places)
        where = f"at byte {places[0]:,}" if len(places) == 1 else f"in {len(places)} places from byte {places[0]:,}"
        held = "the audio they held is missing"
        if self.filled and len(self.filled) == len(places) and not self.unplaced:
            ms = round(1000 * self.inserted / rate)
            held = (f"the {ms} ms they held are silence, the rest in its place" if all(g.exact for g in self.filled)
                    else f"about {ms} ms they held are silence, the rest in its place (a VBR MP3 does not say "
                    "exactly how much)")
        return [f"the MP3 data is damaged {where} (of {size:,}); mpg123 skipped {skipped:,} bytes and read on: {held}"]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def appended_mp3(source, tail, f, n):
    """Blocks after the first MP3: mpg123 stops where an MP3's Xing/LAME frame says its audio ends, and `cat a.mp3
    b.mp3` (which players play whole) lost b. ffmpeg reads on, in line with mpg123 (ffmpeg_resume: `tail`, the
    frames `source`, an AudioSource, handed out last), or the rest is named in a warning."""
    at, left, rate = source.samples_read, source._bytes_left(), source.info.sample_rate  # noqa: SLF001 - its reader
    at -= source._mp3_notes.inserted  # noqa: SLF001 - mpg123's own count, without the silence put in
    # An MP3 without a Xing/VBRI frame states no length: mpg123 stops where it estimates the end from the file's
    # size, which is short of it for a VBR one (read on quietly: ffmpeg in line, and nothing damaged).
    stated = source._promised  # noqa: SLF001
    where = (f"the {at / rate:.3f} s ({at} samples) its header states (another file appended?)"
             if stated is not None and at >= stated - source._slack else  # noqa: SLF001
             f"{at / rate:.3f} s, where mpg123 stopped short of the {stated / rate:.3f} s its header states"
             if stated is not None else f"{at / rate:.3f} s, where mpg123 estimated its end (the MP3 states no length)")

    def damaged(said):
        source.warnings.append(f"the MP3 goes on after {where}; read on by ffmpeg, which said: {said}")
    rest = resume(source.name, at, tail, f.channels, f.samplerate, n, None, damaged, SEARCH)
    if rest is None:
        source.warnings.append(f"{left} bytes follow {where}; read those")
        return
    try:
        yield from rest
    finally:
        rest.close()


def mp3_read_on(source, err: str, at: int, tail, f, n):
    """Blocks from where mpg123 gave up, decoded by ffmpeg (ffmpeg_resume), or None where ffmpeg cannot take over.
    mpg123 resyncs over at most about 1 KiB of bad bytes: a longer burst failed the whole MP3 (a review, session 57),
    where ffmpeg, as players do, skips what it cannot decode and reads on. What it skipped is said."""
    rate = source.info.sample_rate

    def skipped(said):
        if source._mp3_notes is not None:  # noqa: SLF001 - mpg123's notes: it did not read on after all
            source._mp3_notes.close()  # noqa: SLF001
            source._mp3_notes = None  # noqa: SLF001
        source.cut_notes.append(f"the MP3 data is damaged at {at / rate:.3f} s, where mpg123 gave up (libsndfile: "
                                f"{err}); ffmpeg read on, skipping what it could not decode ({said}): the audio it "
                                "held is missing")
    return resume(source.name, at, tail, f.channels, f.samplerate, n, None, skipped, SEARCH)
