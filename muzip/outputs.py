"""Output files that are never left half-written and never replace what they should not.

* A regular file (or a new path) is written to a hidden temp file beside it, then moved into place:
  with --force by rename; without, by a hard link that fails if the name appeared meanwhile (another
  process), so no-overwrite holds at the moment of the move, not only when checked up front.
* A character device or FIFO (/dev/null, /dev/stdout, a named pipe) is written into, like flac and
  ffmpeg do; formats that must seek (FLAC, Ogg, MP3) are spooled to a temp file first. Block devices
  are refused.
* A symlink is followed: its target is replaced atomically and the link stays.
* Any exception (Ctrl-C, SIGTERM and SIGHUP arrive as exceptions: muzip.cli.common) removes the temp file.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Iterable, Iterator

from .errors import MuzipError, OutputExistsError, OutputWriteError


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


def output_kind(path: str) -> str:
    """'new', 'file', 'device' (char device, FIFO, socket), 'block' or 'dir' -- after following symlinks."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "new"
    except OSError as e:
        raise MuzipError(f"{path}: cannot write ({e.strerror or e})") from None
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISBLK(mode):
        return "block"
    return "device"


def check_output(path: str, force: bool, inputs: Iterable[str] = ()) -> str:
    """Fail before any slow work (atomic_output checks again when it moves the file); returns output_kind."""
    for inp in inputs:
        if inp is not None and os.path.lexists(path) and same_file(path, os.fspath(inp)):
            raise OutputExistsError(f"{path}: is the input file; refusing to overwrite it")
    kind = output_kind(path)
    if kind == "dir":
        raise OutputExistsError(f"{path}: is a directory")
    if kind == "block":
        raise OutputExistsError(f"{path}: is a block device; refusing to write to it")
    if kind == "file" and not force:
        raise OutputExistsError(f"{path}: exists (use -f to overwrite)")
    if kind == "new" and not os.path.isdir(os.path.dirname(os.path.abspath(path))):  # said now, not after the work
        raise OutputWriteError(f"{path}: cannot write (its folder does not exist)")
    if kind == "new" and os.path.islink(path) and not os.path.isdir(os.path.dirname(os.path.realpath(path))):
        raise OutputWriteError(f"{path}: cannot write (a link to {os.readlink(path)}, whose folder does not exist)")
    return kind


def _publish(tmp_name: str, path: str, force: bool) -> None:
    if force:
        os.replace(tmp_name, path)
        return
    try:
        os.link(tmp_name, path)  # fails with EEXIST if the name exists now: no-overwrite at move time
    except FileExistsError:
        raise OutputExistsError(f"{path}: exists (use -f to overwrite)") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # No hard links here (FAT, some network shares): claim the name with O_EXCL, then rename over it.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise OutputExistsError(f"{path}: exists (use -f to overwrite)") from None
        os.replace(tmp_name, path)
        return
    os.unlink(tmp_name)


def part_prefix(name: str) -> str:
    """The start of an output's temporary name, ".NAME." (then 8 random characters and ".part"), with NAME cut
    to fit a file name's 255 bytes: a legal name of 241-255 bytes (80 Japanese characters) failed as too long."""
    room = 255 - len(".") - len(".") - 8 - len(".part")
    return "." + name.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "surrogateescape") + "."


@contextmanager
def atomic_output(path: str, force: bool, inputs: Iterable[str] = (), seekable: bool = False) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``path`` only on success (see the module docstring).

    ``seekable``: the writer needs to seek (FLAC, Ogg, MP3); devices and FIFOs then get a spooled copy."""
    path = os.fspath(path)
    kind = check_output(path, force, inputs)
    if kind == "device":
        with _device_output(path, seekable) as f:
            yield f
        return
    real = os.path.realpath(path)  # a symlink stays a symlink: its target is replaced
    directory, name = os.path.split(real)
    tmp = None
    try:
        try:
            with _signals_held():  # a signal lands after `tmp` is set, so the removal below sees the file
                tmp = tempfile.NamedTemporaryFile(delete=False, dir=directory, prefix=part_prefix(name),
                                                  suffix=".part")
        except OSError as e:
            raise OutputWriteError(f"{path}: cannot write ({e.strerror or e})") from None
        with _named_when_full(path):  # a full disk, a file size limit: the output's failure, named by it
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
            tmp.close()
        os.chmod(tmp.name, _default_mode())
        _publish(tmp.name, real, force)
    except BaseException:
        if tmp is None:
            raise
        with _signals_held():  # a signal arriving now must not skip the removal
            try:
                tmp.close()  # flushes what is buffered: on a full disk that fails again
            except OSError:
                pass
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
def _signals_held():
    """Hold SIGINT/SIGTERM/SIGHUP for the duration (delivered afterwards); a no-op where unsupported."""
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def _device_output(path: str, seekable: bool) -> Iterator[BinaryIO]:
    try:
        dev = open(path, "wb", buffering=0)
    except OSError as e:
        raise MuzipError(f"{path}: cannot write ({e.strerror or e})") from None
    with dev, _named_when_full(path):
        if not seekable or _is_seekable(dev):
            with open(dev.fileno(), "wb", closefd=False) as f:
                yield f
            return
        with tempfile.TemporaryFile() as spool:  # in $TMPDIR; gone on any exit
            yield spool
            spool.seek(0)
            _copy_whole(spool, dev)


def _at_its_start(f) -> bool:
    """A seekable regular file at offset 0, not opened to append: where a writer's absolute seeks land right."""
    try:
        import fcntl
        return _is_seekable(f) and f.tell() == 0 and not fcntl.fcntl(f.fileno(), fcntl.F_GETFL) & os.O_APPEND
    except (OSError, ValueError, AttributeError):
        return False


def _copy_whole(src, dst) -> None:
    """copyfileobj that honours short writes: an unbuffered stdout (PYTHONUNBUFFERED) or device takes part of a
    chunk and says so, where its reader went away; the next write then fails as it should (exit 141)."""
    while chunk := src.read(1 << 20):
        view = memoryview(chunk)
        while view:
            n = dst.write(view)
            if not n:
                raise BrokenPipeError(errno.EPIPE, "the reader took no more")
            view = view[n:]


def is_full(exc: OSError) -> bool:
    """A write that failed for want of room, with no file name to say where (a descriptor's file object, standard
    output): the caller names the output."""
    return exc.filename is None and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


@contextmanager
def _named_when_full(path: str) -> Iterator[None]:
    """A device that takes no more (/dev/full, a full disk behind a FIFO) named in the one-line error: a write
    through a file object opened on its descriptor reports no file name."""
    try:
        yield
    except OSError as e:
        if is_full(e):
            raise OutputWriteError(f"{path}: cannot write ({e.strerror})") from None
        raise


def _is_seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except (OSError, ValueError):
        return False


@contextmanager
def stdout_output(seekable: bool = False) -> Iterator[BinaryIO]:
    """Yield sys.stdout.buffer (for -c); flushed on exit, never closed. ``seekable``: the writer needs to seek
    (FLAC, Ogg, MP3): a pipe gets the file once it is whole, from a spooled copy in $TMPDIR."""
    out = sys.stdout.buffer
    try:
        if seekable and not _at_its_start(out):  # a pipe; or a file appended to, or after other output
            spool = tempfile.TemporaryFile()  # gone on any exit
            try:
                try:
                    yield spool
                    spool.flush()  # what is buffered reaches the disk here
                except OSError as e:  # the spool's disk, not standard output, is what is full
                    if not is_full(e):
                        raise
                    raise OutputWriteError(f"standard output: no room for the file's spooled copy in "
                                           f"{tempfile.gettempdir()} ({e.strerror}); set TMPDIR to a folder with "
                                           "room") from None
                spool.seek(0)
                _copy_whole(spool, out)
            finally:
                try:
                    spool.close()  # on a full disk its buffer's flush fails again: the first error is said
                except OSError:
                    pass
        else:
            yield out
    finally:
        try:
            out.flush()
        except (BrokenPipeError, ValueError):
            pass
