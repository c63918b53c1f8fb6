"""What ffmpeg said while pydub ran it. pydub reads ffmpeg's messages and drops them unless ffmpeg fails, so an
M4A, WMA or FLAC-in-Ogg damaged in its middle decoded short or with a glitch without a word. ffmpeg also writes
its log to the file named in the FFREPORT environment variable, which pydub's child process inherits: its error
lines (a failed packet, a page's CRC) become one warning."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from contextlib import contextmanager

from .ffmpeg_resume import without_address

_LOCK = threading.Lock()  # FFREPORT is the process's: one decode at a time names its report
# Lines of the report that are ffmpeg's errors: "[ogg @ 0x55d...] CRC mismatch!", "Error while decoding stream..."
_ERROR = re.compile(r"^(\[[^]]*\] .+|Error while decoding stream.*)$")


@contextmanager
def ffmpeg_errors():
    """Yields a list that holds, after the block, ffmpeg's error lines of the decode run inside it (their
    "[codec @ address]" prefix left out); empty where the report could not be made."""
    said: list[str] = []
    try:
        fd, name = tempfile.mkstemp(prefix="muzip-ffmpeg-", suffix=".log")
    except OSError:
        yield said
        return
    os.close(fd)
    usable = not any(c in name for c in ":\\'")  # FFREPORT's own syntax: such a name is not passed
    try:
        with _LOCK:
            saved = os.environ.get("FFREPORT")
            if usable:
                os.environ["FFREPORT"] = f"file={name}:level=16"  # 16: errors
            try:
                yield said
            finally:
                if saved is None:
                    os.environ.pop("FFREPORT", None)
                else:
                    os.environ["FFREPORT"] = saved
        if usable:
            with open(name, "rb") as f:
                lines = f.read(1 << 16).decode("utf-8", "replace").splitlines()
            said += [without_address(ln) for ln in lines if _ERROR.match(ln)]
    except OSError:
        pass
    finally:
        try:
            os.unlink(name)
        except OSError:
            pass
