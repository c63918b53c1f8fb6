"""Safe output files: write to a hidden temp file beside the target, then rename."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterable, Iterator

from .errors import MuzipError, OutputExistsError


def same_file(a: str, b: str) -> bool:
    """True if paths ``a`` and ``b`` name the same file ("-" never matches)."""
    if a == "-" or b == "-":
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_output(path: str, force: bool, inputs: Iterable[str] = ()) -> Iterator[BinaryIO]:
    """Yield a binary file (w+b, seekable) that replaces ``path`` only on success.

    Refuses, before creating anything, when ``path`` is one of ``inputs`` (even with
    force) or exists and ``force`` is false.  On any exception (KeyboardInterrupt
    included) the temp file is deleted and the exception re-raised.
    """
    path = os.fspath(path)
    for inp in inputs:
        if inp is not None and same_file(path, os.fspath(inp)):
            raise OutputExistsError(f"{path}: is the input file; refusing to overwrite it")
    if os.path.isdir(path):
        raise OutputExistsError(f"{path}: is a directory")
    if os.path.lexists(path) and not force:
        raise OutputExistsError(f"{path}: exists (use -f to overwrite)")
    directory, name = os.path.split(os.path.abspath(path))
    try:
        tmp = tempfile.NamedTemporaryFile(delete=False, dir=directory, prefix="." + name + ".",
                                          suffix=".part")
    except OSError as e:
        raise MuzipError(f"{path}: cannot write ({e.strerror or e})") from None
    try:
        yield tmp
        tmp.flush()
        os.fsync(tmp.fileno())
        tmp.close()
        os.chmod(tmp.name, _default_mode())
        os.replace(tmp.name, path)
    except BaseException:
        tmp.close()
        try:
            os.unlink(tmp.name)
        except OSError:
            pass
        raise
    try:  # make the rename durable; best effort
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


@contextmanager
def stdout_output() -> Iterator[BinaryIO]:
    """Yield sys.stdout.buffer (for -c); flushed on exit, never closed."""
    out = sys.stdout.buffer
    try:
        yield out
    finally:
        try:
            out.flush()
        except (BrokenPipeError, ValueError):
            pass
