"""Reading a FLAC on past damage in its middle. One flipped bit fails a frame's checksum, and libFLAC (through
libsndfile) stops there: the whole file was refused, where every player plays it with a 0.1-s dropout.

Each FLAC frame header carries its first sample's number under its own CRC-8, and libFLAC seeks by them: a fresh
decoder seeks to a sample of a good frame and decodes on, and fails to seek into a damaged one. So the first
position after the damage that decodes is found (steps of STEP samples, then doubling; then a binary search down
to the frame's first sample), the samples before it are silence, and reading goes on from there, every sample in its place.
(ffmpeg's `aresample=async` fill was tried first, session 57: where a file had a second damage, ffmpeg's FLAC
parser could merge frames into a packet without a timestamp, without an error, and put audio in the wrong place.)
"""

from __future__ import annotations

import os

import numpy as np

from .lazy import soundfile as sf
from .libsndfile_calls import readf

# Positions tried after a damaged frame, this many samples apart: no longer than a frame (libFLAC writes 4,096
# samples a frame, ffmpeg 4,608), so no good frame is stepped over (a shorter one may be: silence, never misplaced)
STEP = 4096
_PROBE = 64  # samples decoded to see that a position reads on
LINEAR = 8  # tries a frame apart before the steps double (a flipped bit costs one frame; a burst may cost seconds)


def _decoder_at(path: str, position: int, total: int):
    """(fd, SoundFile) of a fresh decoder of `path` at `position` if libFLAC seeks there and decodes on, else None
    (after a failed seek a decoder is spent: each try opens its own)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        f = sf.SoundFile(fd, closefd=False)
    except Exception:  # noqa: BLE001 - it opened before; whatever fails now, there is nothing to read on from
        os.close(fd)
        return None
    try:
        f.seek(position)
        probe = np.empty((min(_PROBE, total - position), f.channels), np.float32)
        got, err = readf(f, probe)
        if err is None and got == len(probe):
            f.seek(position)
            return fd, f
    except Exception:  # noqa: BLE001 - libsndfile's "Internal psf_fseek() failed": a damaged frame
        pass
    f.close()
    os.close(fd)
    return None


def read_on(path: str, at: int, total: int):
    """(position, fd, SoundFile at it): the first sample after `at` (a damaged frame's first) from which the FLAC
    decodes on, or None if nothing before `total` (its length) does."""
    found, lo = None, at
    for position in _tries(at, total):
        found = _decoder_at(path, position, total)
        if found is not None:
            hi = position
            break
        lo = position
    if found is None:
        return None
    while hi - lo > 1:  # down to the frame's first sample: lo never decodes, hi does
        mid = (lo + hi) // 2
        earlier = _decoder_at(path, mid, total)
        if earlier is None:
            lo = mid
            continue
        _close(found)
        found, hi = earlier, mid
    return (hi, *found)


def _tries(at: int, total: int):
    """Positions to try after a damaged frame at `at`: a frame apart for LINEAR tries, then twice as far each time
    (a failed try is costly inside a long burst of damage: 0.2-0.8 s where a megabyte is zeros; the binary search
    after it finds the frame. Good frames between two damaged places stepped over that way are silenced)."""
    position, step = at, STEP
    for k in range(1, 64):
        position += step
        if position >= total:
            return
        yield position
        if k >= LINEAR:
            step *= 2


def _close(found) -> None:
    fd, f = found
    f.close()
    os.close(fd)


def damage_note(damaged: list[tuple[int, int, str]], rate: int) -> str:
    """The warning for a FLAC read on past damage: `damaged` holds (first silent sample, first sample read on,
    libsndfile's error) of each place."""
    places = f"{len(damaged)} places" if len(damaged) > 1 else "one place"
    silent = sum(b - a for a, b, _ in damaged) / rate
    return (f"the FLAC data is damaged in {places}, from {damaged[0][0] / rate:.3f} s: the {silent:.3f} s that would "
            f"not decode are silence, the rest in its place (libsndfile: {damaged[0][2]})")
