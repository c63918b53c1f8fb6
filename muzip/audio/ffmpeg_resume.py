"""Where libsndfile gives up inside an Ogg file that ffmpeg decodes whole, ffmpeg goes on from that point.

libsndfile 1.2.2 calls some valid Ogg Opus files malformed part of the way in (ffmpeg's Opus made from an Ogg
Vorbis source: the bundled clip's, at 6 s; ffmpeg and opusdec decode them whole). Failing such a file would
turn away music every other player plays. So, in an Ogg file that libsndfile cannot finish, ffmpeg decodes
the stream from its start through a pipe (constant memory), the frames libsndfile has already handed out
are dropped, and the rest is used only if

* the last OVERLAP frames libsndfile decoded agree with ffmpeg's to AGREE (the two Opus decoders differ by
  ~2e-4; a frame out of line differs by the signal itself), and
* ffmpeg reports no error anywhere in the file and exits 0.

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


def resume(path: str, start: int, tail: np.ndarray, channels: int, rate: int, block: int,
           failure: Callable[[str], AudioReadError]) -> _Rest | None:
    """Blocks of (<= block, channels) float32 frames from frame `start` on, or None where ffmpeg cannot
    take over (not installed, more than two channels, its frames not in line with `tail`, the frames
    libsndfile handed out last). `failure(ffmpeg's message)`: the error the blocks raise if ffmpeg finds the
    file damaged after all."""
    import subprocess
    import tempfile
    if channels > 2 or not os.path.isfile(path) or shutil.which("ffmpeg") is None:
        return None
    errors = tempfile.TemporaryFile()  # a pipe could fill up and stall ffmpeg while we read its output
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", str(channels),
           "-ar", str(rate), "-"]
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
    except OSError:
        errors.close()
        return None
    frame_bytes = 4 * channels
    skipped = _skip(proc.stdout, start, frame_bytes, len(tail))
    if skipped is None or len(skipped) != len(tail) or (len(tail) and np.max(np.abs(skipped - tail)) > AGREE):
        _stop(proc, errors)
        return None
    return _Rest(proc, errors, block, channels, failure)


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

    def __init__(self, proc, errors, block: int, channels: int, failure):
        self.proc, self.errors, self.block, self.channels, self.failure = proc, errors, block, channels, failure

    def __iter__(self) -> Iterator[np.ndarray]:
        size = self.block * 4 * self.channels
        try:
            while True:
                data = _read(self.proc.stdout, size)
                n = len(data) // (4 * self.channels)
                if n:
                    yield np.frombuffer(bytearray(data[:n * 4 * self.channels]), np.float32).reshape(n, self.channels)
                if len(data) < size:
                    break
            self.proc.wait()
            self.errors.seek(0)
            said = [re.sub(r"^\[[^]]*\] *", "", line)  # "[ogg @ 0x55d0...] CRC mismatch!": the address is noise
                    for line in self.errors.read(2000).decode("utf-8", "replace").strip().splitlines()]
            if self.proc.returncode != 0 or said:
                raise self.failure(said[0][:200] if said else f"exit status {self.proc.returncode}")
        finally:
            self.close()

    def close(self) -> None:
        _stop(self.proc, self.errors)


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
