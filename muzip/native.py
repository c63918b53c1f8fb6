"""Native libraries' own output: what C code prints to file descriptor 2, which no Python setting stops."""

from __future__ import annotations

import os
import sys


class quiet_native_stderr:
    """File descriptor 2 points at /dev/null inside the block: what C libraries print there (TensorFlow's
    start-up chatter, mpg123's "Warning: Xing stream size off ...") is dropped. Python's own messages are
    not printed inside (jobs record them and the caller prints them after). enabled=False: a no-op."""

    def __init__(self, enabled: bool = True, into: int | None = None):
        self.enabled, self.saved, self.into = enabled, None, into  # into: a file descriptor to keep it in instead

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        try:
            self.saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY) if self.into is None else os.dup(self.into)
        except OSError:
            self.__exit__()
            return self
        try:
            os.dup2(devnull, 2)
        except BaseException:  # a signal in between: put fd 2 back before it unwinds further
            self.__exit__()
            raise
        finally:
            os.close(devnull)
        return self

    def __exit__(self, *exc):
        saved, self.saved = self.saved, None
        if saved is not None:
            try:
                os.dup2(saved, 2)
            finally:
                os.close(saved)


class native_stderr_to_null(quiet_native_stderr):
    """For a block that starts native services (Ray's core and raylet log to fd 2 from C++, and pass fd 2 to
    the processes they spawn): fd 2 points at /dev/null inside, while Python's sys.stderr is a new stream
    on the original stderr, so muzip's own lines, bars and prompts still reach the terminal (a tty stays a
    tty). A captured sys.stderr (a test runner's) is left as it is."""

    def __init__(self):
        super().__init__(True)
        self.saved_stream = None

    def __enter__(self):
        try:
            python_on_fd2 = sys.stderr.fileno() == 2
        except (OSError, ValueError, AttributeError):
            python_on_fd2 = False
        if python_on_fd2:
            sys.stderr.flush()
            self.saved_stream = sys.stderr
            sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace",
                                   encoding=getattr(self.saved_stream, "encoding", None) or "utf-8")
        try:
            return super().__enter__()
        except BaseException:
            self._restore_stream()
            raise

    def __exit__(self, *exc):
        try:
            super().__exit__(*exc)
        finally:
            self._restore_stream()

    def _restore_stream(self):
        if self.saved_stream is not None:
            stream, sys.stderr, self.saved_stream = sys.stderr, self.saved_stream, None
            try:
                stream.close()
            except (OSError, ValueError):
                pass
