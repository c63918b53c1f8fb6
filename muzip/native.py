"""Native libraries' own output: what C code prints to file descriptor 2, which no Python setting stops."""

from __future__ import annotations

import os
import sys


class quiet_native_stderr:
    """File descriptor 2 points at /dev/null inside the block: what C libraries print there (TensorFlow's
    start-up chatter, mpg123's "Warning: Xing stream size off ...") is dropped. Python's own messages are
    not printed inside (jobs record them and the caller prints them after). enabled=False: a no-op."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.saved = enabled, None

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        try:
            self.saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
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
