"""Where libsndfile gives up inside an Ogg file that ffmpeg decodes whole, ffmpeg goes on from that point.

libsndfile 1.2.2 calls some valid Ogg Opus files malformed part of the way in (ffmpeg's Opus made from an Ogg
Vorbis source: the bundled clip's, at 6 s; ffmpeg and opusdec decode them whole). Failing such a file would
turn away music every other player plays. So, in an Ogg file that libsndfile cannot finish, ffmpeg decodes
the stream from its start through a pipe (constant memory), the frames libsndfile has already handed out
are dropped, and the rest is used only if

* the last OVERLAP frames libsndfile decoded agree with ffmpeg's to AGREE (the two Opus decoders differ by
  ~2e-4; a frame out of line differs by the signal itself), and
* ffmpeg reports no error anywhere in the file and exits 0, and its frames add up to the length the stream's
  last page states (ffmpeg reads on over a missing page without a word).

Otherwise the file is what libsndfile said: corrupt (AudioSource raises its usual one-line error).
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Callable, Iterator

import numpy as np

from ..errors import AudioReadError

OVERLAP = 2048  # frames compared where libsndfile stopped
AGREE = 1e-2  # largest sample difference of two decoders of one stream; -40 dB, far under a misalignment's
AGREE_SHARE = 0.1
PAGE_SLACK = 8192  # frames a decode may differ from the last page's count by: under one Vorbis or Opus packet


def resume(path: str, start: int, tail: np.ndarray, channels: int, rate: int, block: int, expected: int | None,
           failure: Callable[[str], AudioReadError | None], search: int = 0, view=None) -> _Rest | None:
    """Blocks of (<= block, channels) float32 frames from frame `start` on, or None where ffmpeg cannot
    take over (not installed, more than two channels, its frames not in line with `tail`, the frames
    libsndfile handed out last). `expected`: the stream's length as its last page states it (None: unknown).
    `failure(what ffmpeg found)`: the error the blocks raise if ffmpeg finds the file damaged after all, or
    None for none (the damage is at the very end: a cut the caller warns of). `search`: how many frames
    ffmpeg's decode may be ahead of or behind libsndfile's (an MP3 damaged earlier on: each decoder drops its
    own count of whole MPEG frames there); tried at whole multiples of SEARCH_STEP, in line first. `view`: what
    ffmpeg reads instead of the file (a damaged MP3's mp3_repair.RepairedView), through a temporary copy."""
    import subprocess
    import tempfile
    if channels > 2 or not os.path.isfile(path) or shutil.which("ffmpeg") is None:
        return None
    try:
        errors = tempfile.TemporaryFile()
        source = None if view is None or not os.path.isdir("/dev/fd") else _copied(view)
    except OSError:
        errors.close()
        return None
    # "file:": a name with a colon is not read as a protocol. Errors to a file: a full pipe would stall ffmpeg.
    name = f"/dev/fd/{source.fileno()}" if source is not None else os.path.abspath(path)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", "file:" + name, "-map", "0:a:0",
           "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "-"]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors,
                                pass_fds=(source.fileno(),) if source is not None else ())
    except OSError:
        errors.close()
        return None
    finally:
        if source is not None:
            source.close()  # ffmpeg has its own descriptor of it; the copy goes when that closes
    try:  # decoding up to `start` can take a while: Ctrl-C there must not leave ffmpeg running
        first = max(0, start - search)
        skipped = _skip(proc.stdout, first, 4 * channels, len(tail))
        found = None if skipped is None else _in_line(
            np.concatenate([skipped, _frames(_read(proc.stdout, (start + search - first) * 4 * channels), channels)]),
            first - len(skipped), start, tail, search)
        if found is None:
            _stop(proc, errors)
            return None
    except BaseException:
        _stop(proc, errors)
        raise
    return _Rest(proc, errors, block, channels, failure, None if expected is None else expected - start, found)


def from_start(path: str, channels: int, rate: int, block: int, failure) -> _Rest | None:
    """ffmpeg's decode of the whole file as blocks (resume from frame 0), or None where ffmpeg cannot take it."""
    return resume(path, 0, np.zeros((0, channels), np.float32), channels, rate, block, None, failure)


SEARCH_STEP = 192  # samples: every MPEG audio frame is a multiple (Layer I 384, Layer III 576 or 1152)
QUIET = 1e-3  # a tail this quiet (peak) lines up anywhere: only in line is believed
# LAME's delays (encoder 576, decoder 529, both 1,105): one decoder trims them where the other does not (a Xing frame
# without its frame count: ffmpeg trims, mpg123 not), and no multiple of SEARCH_STEP is (session 59).
GAPLESS = (1105, 576, 529)


def _in_line(decoded: np.ndarray, decoded_from: int, start: int, tail: np.ndarray, search: int) -> np.ndarray | None:
    """What follows the place in `decoded` (ffmpeg's frames from `decoded_from`) whose preceding frames agree
    with `tail`: frame `start` in line, else the nearest within `search`; None where none agrees."""
    shifts = [0, *GAPLESS, *(-k for k in GAPLESS)] + \
        [k * sign for k in range(SEARCH_STEP, search + 1, SEARCH_STEP) for sign in (1, -1)]
    if len(tail) and np.max(np.abs(tail)) < QUIET:
        shifts = [0]
    for shift in shifts:
        end = start + shift - decoded_from
        if end - len(tail) < 0 or end > len(decoded):
            continue
        if not len(tail) or _agree(decoded[end - len(tail):end], tail):
            return decoded[end:]
    return None


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    """Two decoders' frames of one place: within AGREE everywhere, or their difference's RMS within AGREE_SHARE of
    the signal's (libsndfile's Opus decoder drifts from ffmpeg's near where it calls a file malformed: 0.011 at
    most, 4 % of the RMS; one sample out of line, 22 %)."""
    d = a - b
    return bool(np.max(np.abs(d)) <= AGREE or np.sqrt(np.mean(d * d)) <= AGREE_SHARE * np.sqrt(np.mean(b * b)))


def _copied(view):
    """A temporary file holding what `view` (its chunks()) reads; its place in the file system is gone already."""
    import tempfile
    copy = tempfile.TemporaryFile()
    try:
        for chunk in view.chunks():
            copy.write(chunk)
        copy.flush()
    except BaseException:
        copy.close()
        raise
    return copy


def _frames(data: bytes, channels: int) -> np.ndarray:
    n = len(data) // (4 * channels)
    return np.frombuffer(bytearray(data[:n * 4 * channels]), np.float32).reshape(n, channels)


def _skip(stream, frames: int, frame_bytes: int, keep: int) -> np.ndarray | None:
    """Read and drop `frames` frames; the last `keep` of them, or None if the stream ends first."""
    chunk = 1 << 16
    left, last = frames, b""
    while left > 0:
        data = _read(stream, min(left, chunk) * frame_bytes)
        if len(data) < min(left, chunk) * frame_bytes:
            return None
        last = (last + data)[-keep * frame_bytes:] if keep else b""
        left -= len(data) // frame_bytes
    return np.frombuffer(last, np.float32).reshape(-1, frame_bytes // 4)


class _Rest:
    """The rest of ffmpeg's decode as blocks; close() ends ffmpeg whether or not they were read."""

    def __init__(self, proc, errors, block: int, channels: int, failure, expected: int | None, head: np.ndarray):
        self.proc, self.errors, self.block, self.channels, self.failure = proc, errors, block, channels, failure
        self.expected = expected  # frames the stream's last page says are left
        self.head = head  # frames already read from ffmpeg while lining up (a search): handed out first

    def __iter__(self) -> Iterator[np.ndarray]:
        size = self.block * 4 * self.channels
        got = len(self.head)
        try:
            for i in range(0, len(self.head), self.block):
                yield self.head[i:i + self.block]
            while True:
                data = _read(self.proc.stdout, size)
                block = _frames(data, self.channels)
                if len(block):
                    got += len(block)
                    yield block
                if len(data) < size:
                    break
            self.proc.wait()
            said = _errors_said(self.errors)
            if self.proc.returncode != 0 or said:
                problem = said[0][:200] if said else f"exit status {self.proc.returncode}"
            elif self.expected is not None and abs(got - self.expected) > PAGE_SLACK:
                # ffmpeg does not check Ogg page numbers: a page gone in the middle decodes without a word
                problem = f"{self.expected - got} frames fewer than the stream's last page states"
            else:
                return
            exc = self.failure(problem)
            if exc is not None:
                raise exc
        finally:
            self.close()

    def close(self) -> None:
        _stop(self.proc, self.errors)


def _errors_said(errors) -> list[str]:
    """ffmpeg's error lines, but what the output's muxer says of the stream's timestamps (a line a packet: read
    line by line, the whole file, so none hides another's damage), the first 20."""
    errors.seek(0)
    said = []
    for raw in errors:
        line = raw.decode("utf-8", "replace").strip()
        if line and not line.startswith("[f32le @"):
            said.append(without_address(line))
            if len(said) >= 20:
                break
    return said


def a_cut_frame(line: str) -> bool:
    """ffmpeg's word for an MPEG frame cut off at the end of a file cut short (its bit reservoir points back past
    what is there): the cut, not damage. A cut elsewhere in a frame says nothing at all."""
    return "invalid new backstep" in line


def without_address(line: str) -> str:
    """An ffmpeg log line without its "[ogg @ 0x55d0...] " prefix: the address is noise."""
    return re.sub(r"^\[[^]]*\] *", "", line)


def _read(stream, n: int) -> bytes:
    """Up to n bytes: fewer only at the end of the stream."""
    parts, got = [], 0
    while got < n:
        data = stream.read(n - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def _stop(proc, errors) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if not proc.stdout.closed:
        proc.stdout.close()
    errors.close()
