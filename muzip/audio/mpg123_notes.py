"""What mpg123 leaves out of an MP3, read by AudioSource (read.py): damage it skips, and a second MP3 after the first.

What mpg123 says while it decodes an MP3 damaged in its middle. It skips the bad bytes and reads on, as every
player does, so the file decodes a few milliseconds short, and libsndfile reports nothing. mpg123's notes on file
descriptor 2 ("Note: Illegal Audio-MPEG-Header 0x06eaebc9 at offset 144866." ... "Note: Skipped 627 bytes in
input.") are kept in a temporary file rather than dropped. The first one (or mpg123 giving up, or stopping with
frames still to come) has the file read again through mp3_repair's view, with silent frames where the damaged
ones were (mp3_repaired); what is left is said in one warning."""

from __future__ import annotations

import os
import re
import tempfile

from .ffmpeg_resume import resume
from .mp3_frames import joined_mp3_at, mpeg_audio_after, start_damaged
from .mp3_repair import Place, decoder_at, repaired_view, walked_samples

_ILLEGAL = re.compile(r"Illegal Audio-MPEG-Header 0x[0-9a-fA-F]+ at offset (\d+)")
_SKIPPED = re.compile(r"Skipped (\d+) bytes in input")
_KEPT = 1 << 20  # bytes of notes read back: a file damaged all through says so within them
# Frames ffmpeg's decode may be off mpg123's where it takes over: damage earlier in the MP3 made each drop its own
# count of whole frames (a 600-byte burst: mpg123 2, ffmpeg more), and lined up exactly the rest was refused.
SEARCH = 32 * 1152


class Mpg123Notes:
    """A place for mpg123's notes (`fd` for native.quiet_native_stderr's `into`), and the warning they make."""

    def __init__(self):
        try:
            self.file = tempfile.TemporaryFile()
        except OSError:  # no room for it: the notes are dropped, as before
            self.file = None

    @property
    def fd(self) -> int | None:
        return None if self.file is None else self.file.fileno()

    def _text(self) -> str:
        """The notes so far. pread: the file's offset is fd 2's while mpg123 writes."""
        if self.file is None:
            return ""
        return os.pread(self.file.fileno(), _KEPT, 0).decode("utf-8", "replace")

    def damage_seen(self) -> bool:
        """mpg123 has met a damaged frame header (mp3_repair then reads the file through its repaired view)."""
        return self.file is not None and os.fstat(self.file.fileno()).st_size > 0 and \
            _ILLEGAL.search(self._text()) is not None

    def warnings(self, fd: int, tail: int, view=None, rate: int = 0) -> list[str]:
        """One line for damage before the last `tail` bytes of the file open as `fd` (what follows the audio
        there, tags or a cut last frame, is the reader's own business), or none; and one for `view`, its
        mp3_repair.RepairedView, where a decoder read it."""
        try:
            size = os.fstat(fd).st_size
        except (OSError, TypeError):
            return []
        repaired = [damage_warning(view.places, rate, size)] if view and view.used else []
        return self._skipped(size, tail) + repaired

    def _skipped(self, size: int, tail: int) -> list[str]:
        text = self._text()
        places = sorted({int(m.group(1)) for m in _ILLEGAL.finditer(text) if int(m.group(1)) < size - tail})
        if not places:
            return []  # mpg123 may name a place twice
        skipped = sum(int(m.group(1)) for m in _SKIPPED.finditer(text))
        where = f"at byte {places[0]:,}" if len(places) == 1 else f"in {len(places)} places from byte {places[0]:,}"
        return [f"the MP3 data is damaged {where} (of {size:,}); mpg123 skipped {skipped:,} bytes and read on: the "
                "audio they held is missing"]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def mp3_damaged(source, err, got: int, tail: int) -> bool:
    """mpg123 met damage in the MP3 `source` (an AudioSource) reads: said so, gave up before the end, or stopped
    with more than `tail` bytes of MPEG frames still to come."""
    return source._mp3_notes.damage_seen() or (err is not None and not source._at_eof()) or \
        (got == 0 and mpeg_audio_after(source._fd, tail, source._offset()))  # noqa: SLF001 - its reader


def mp3_repaired(source) -> bool:
    """`source`'s decoder moved to the file's repaired view (mp3_repair), where the frame walk finds damage;
    ffmpeg reads that view too, where it takes over."""
    source._mp3_view = view = repaired_view(source._fd)  # noqa: SLF001 - its reader
    f = decoder_at(view, source.samples_read) if view else None
    if f is not None:
        if source._sf is not None:  # None: libsndfile refused the file (its first header damaged)  # noqa: SLF001
            source._sf.close()  # noqa: SLF001
        source._sf, source._spliced = f, view  # noqa: SLF001
        if source._mp3_notes is not None:  # None at open (read.py: its first frames damaged)  # noqa: SLF001
            source._mp3_notes.close()  # noqa: SLF001
            source._mp3_notes = Mpg123Notes()  # noqa: SLF001 - what the repaired decode still meets is said too
    return f is not None


def repaired_at_start(source, frames: int | None) -> bool:
    """`source`, an AudioSource opening an MP3 damaged at its start (mp3_frames.start_damaged), moved to its
    repaired view before any read: mpg123 skips a first frame with no second after it without a word. `frames`:
    libsndfile's length (None: it refused the file, whose first header may be the damage)."""
    return source._mp3_view is False and start_damaged(source._fd, frames) and mp3_repaired(source)  # noqa: SLF001


def mp3_goes_on(source, tail: int) -> bool:
    """More MPEG audio follows where mpg123 stopped in the MP3 `source` (an AudioSource) reads: more than `tail`
    bytes of frames after the decoder's offset, or frames not decoded yet, by a walk of them where the MP3 states
    no length (or through its repaired view). libsndfile reads ahead of what it has decoded: a small VBR MP3
    without a Xing frame (6 s, 6.7 KB) stopped at mpg123's estimate of its end, 1.3 s, with its bytes all read."""
    view = source._mp3_view  # noqa: SLF001 - its reader
    frames = view.samples if view else walked_samples(source._fd) if source._promised is None else 0  # noqa: SLF001
    if frames and source.samples_read < frames - 4 * 1152:  # mpg123's trims: under three frames
        return True
    return mpeg_audio_after(source._fd, tail, source._offset())  # noqa: SLF001


def appended_mp3(source, tail, f, n):
    """Blocks after the first MP3: mpg123 stops where an MP3's Xing/LAME frame says its audio ends, and `cat a.mp3
    b.mp3` (which players play whole) lost b. ffmpeg reads on, in line with mpg123 (ffmpeg_resume: `tail`, the
    frames `source`, an AudioSource, handed out last), or the rest is named in a warning."""
    at, left, rate = source.samples_read, source._bytes_left(), source.info.sample_rate  # noqa: SLF001 - its reader
    # An MP3 without a Xing/VBRI frame states no length: mpg123 stops where it estimates the end from the file's
    # size, which is short of it for a VBR one (read on quietly: ffmpeg in line, and nothing damaged).
    stated = source._promised  # noqa: SLF001
    where = (f"the {at / rate:.3f} s ({at} samples) its header states (another file appended?)"
             if stated is not None and at >= stated - source._slack else  # noqa: SLF001
             f"{at / rate:.3f} s, where mpg123 stopped short of the {stated / rate:.3f} s its header states"
             if stated is not None else f"{at / rate:.3f} s, where mpg123 estimated its end (the MP3 states no length)")

    def damaged(said):
        tag = joined_mp3_at(source._fd) if said.startswith("Header missing") else None  # noqa: SLF001
        source.warnings.append(f"another MP3 follows the first's {at / rate:.3f} s, with its own tags from byte "
                               f"{tag:,} (files joined with `cat`?); read on by ffmpeg" if tag is not None else
                               f"the MP3 goes on after {where}; read on by ffmpeg, which said: {said}")
    rest = resume(source.name, at, tail, f.channels, f.samplerate, n, None, damaged, SEARCH,
                  source._mp3_view or None)  # noqa: SLF001 - a damaged MP3 read through its repaired view
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
    return resume(source.name, at, tail, f.channels, f.samplerate, n, None, skipped, SEARCH,
                  source._mp3_view or None)  # noqa: SLF001


def damage_warning(places: list[Place], rate: int, size: int) -> str:
    """The warning: where, how much, and that the rest is in its place."""
    lost, junk = [p for p in places if p.frames], sum(p.end - p.start for p in places if not p.frames)
    where = f"at byte {places[0].start:,}" if len(places) == 1 else \
        f"in {len(places)} places from byte {places[0].start:,}"
    said = []
    if lost:
        ms = round(1000 * sum(p.samples for p in lost) / rate)
        said.append(f"the {ms} ms of frames there are silence" if all(p.exact for p in lost) else
                    f"about {ms} ms of frames there are silence (a VBR MP3 does not say exactly how many)")
    if junk:
        said.append(f"{junk:,} bytes that hold no whole frame are left out")
    return f"the MP3 data is damaged {where} (of {size:,}): {'; '.join(said)}; the rest is in its place"
