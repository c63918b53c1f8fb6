"""Where the frames that mpg123 drops from a damaged MP3 belonged, so that the reader puts silence there.

mpg123 drops each frame whose header is damaged and reads on at the next good one, so everything after came out
early: 600 zeroed bytes in a 128-kbps MP3 moved the rest of the song 52 ms (two frames) forward. Its notes name
the byte where its header chain broke and how many bytes it skipped. Walking the frame headers from the file's
start to that byte gives the sample where the dropped frames belonged (less the start mpg123 cuts for gapless
playback). In a constant-bitrate MP3 the skipped bytes give how many frames there were. In a VBR one the frames'
sizes vary, so their count is estimated from the frames just before.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass

from .mp3_frames import first_frame, frame_at, is_xing_frame, start_trim

_READ = 1 << 16
_NEAR = 8  # frames whose mean size estimates the dropped ones' in a VBR MP3


@dataclass(frozen=True)
class Gap:
    at: int       # mpg123's output sample where the dropped frames' audio belonged
    samples: int  # how much of it there was, per channel
    exact: bool   # False: a VBR MP3, whose dropped frames are counted by an estimate


class FrameWalk:
    """The frame headers of the MP3 open as `fd`, walked once from its first frame, damage by damage."""

    def __init__(self, fd: int):
        self.fd, self.frames, self.trim = fd, 0, 0
        self.sizes: deque = deque(maxlen=_NEAR)
        self.kbps: set = set()
        self.spf, self.rate, self.pos = None, None, None
        self._base, self._buf = 0, b""
        found = first_frame(fd)
        if found is not None:
            self.pos, data, i = found
            self.trim = start_trim(data, i)
            if is_xing_frame(data, i):  # an encoder's first frame: nothing comes out of it
                self.pos += frame_at(data, i).size

    def gap(self, damaged_at: int, resumed_at: int) -> Gap | None:
        """The frames mpg123 dropped where its header chain broke at byte `damaged_at` and went on at
        `resumed_at`. None where the bytes skipped held no frames, and where this walk does not reach
        `damaged_at` on a frame boundary (mpg123 and it disagree: nothing is placed, then or later)."""
        if self.pos is None or resumed_at <= damaged_at:
            return None
        while self.pos < damaged_at:
            frame = self._frame()
            if frame is None or (self.spf is not None and (frame.samples, frame.rate) != (self.spf, self.rate)):
                self.pos = None
                return None
            self.spf, self.rate = frame.samples, frame.rate
            self.frames, self.pos = self.frames + 1, self.pos + frame.size
            self.sizes.append(frame.size)
            self.kbps.add(frame.kbps)
        if self.pos != damaged_at or not self.frames:
            self.pos = None
            return None
        span, mean, exact = resumed_at - damaged_at, sum(self.sizes) / len(self.sizes), len(self.kbps) == 1
        lost = max(1, round(span / mean))
        self.pos = resumed_at  # mpg123 reads on from there
        tag = os.pread(self.fd, 3, damaged_at) in (b"ID3", b"TAG", b"APE")
        if tag or (exact and abs(span - lost * mean) > lost + 1):
            return None  # a tag, or junk between two frames (not a whole number of them): no audio was there
        return Gap(max(0, self.frames * self.spf - self.trim), lost * self.spf, exact)

    def _frame(self):
        if self.pos + 4 > self._base + len(self._buf):
            self._base, self._buf = self.pos, os.pread(self.fd, _READ, self.pos)
        return frame_at(self._buf, self.pos - self._base)
