"""What mpg123 leaves out of an MP3, read by AudioSource (read.py): damage it skips, and a second MP3 after the first.

What mpg123 says while it decodes an MP3 damaged in its middle. It skips the bad bytes and reads on, as every
player does, so the file decodes a few milliseconds short, and libsndfile reports nothing. mpg123's notes on file
descriptor 2 ("Note: Illegal Audio-MPEG-Header 0x06eaebc9 at offset 144866." ... "Note: Skipped 627 bytes in
input.") are kept in a temporary file rather than dropped, and read once the file is decoded: one warning."""

from __future__ import annotations

import os
import re
import tempfile

from .ffmpeg_resume import resume

_ILLEGAL = re.compile(r"Illegal Audio-MPEG-Header 0x[0-9a-fA-F]+ at offset (\d+)")
_SKIPPED = re.compile(r"Skipped (\d+) bytes in input")
_KEPT = 1 << 20  # bytes of notes read back: a file damaged all through says so within them


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

    def warnings(self, fd: int, tail: int) -> list[str]:
        """One line for damage before the last `tail` bytes of the file open as `fd` (what follows the audio
        there, tags or a cut last frame, is the reader's own business), or none."""
        try:
            size = os.fstat(fd).st_size
        except (OSError, TypeError):
            return []
        if self.file is None:
            return []
        self.file.seek(0)
        text = self.file.read(_KEPT).decode("utf-8", "replace")
        places = [int(m.group(1)) for m in _ILLEGAL.finditer(text) if int(m.group(1)) < size - tail]
        if not places:
            return []
        skipped = sum(int(m.group(1)) for m in _SKIPPED.finditer(text))
        where = f"at byte {places[0]:,}" if len(places) == 1 else f"in {len(places)} places from byte {places[0]:,}"
        return [f"the MP3 data is damaged {where} (of {size:,}); mpg123 skipped {skipped:,} bytes and read on: the "
                "audio they held is missing"]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def appended_mp3(source, tail, f, n):
    """Blocks after the first MP3: mpg123 stops where an MP3's Xing/LAME frame says its audio ends, and `cat a.mp3
    b.mp3` (which players play whole) lost b. ffmpeg reads on, in line with mpg123 (ffmpeg_resume: `tail`, the
    frames `source`, an AudioSource, handed out last), or the rest is named in a warning."""
    at, left, rate = source.samples_read, source._bytes_left(), source.info.sample_rate  # noqa: SLF001 - its reader

    def damaged(said):
        source.warnings.append(f"the MP3 goes on after the {at / rate:.3f} s ({at} samples) its header states "
                               f"(another file appended?); read on by ffmpeg, which said: {said}")
    rest = resume(source.name, at, tail, f.channels, f.samplerate, n, None, damaged)
    if rest is None:
        source.warnings.append(f"{left} bytes follow the {at / rate:.3f} s ({at} samples) its header states "
                               "(another MP3 appended?); read those")
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
    return resume(source.name, at, tail, f.channels, f.samplerate, n, None, skipped)
