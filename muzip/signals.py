"""Terminating signals (Ctrl-C, SIGTERM, SIGHUP): raised as Interrupted where the program is, so every clean-up
handler runs and no partial output is left; muzip then exits 128 + the signal's number, as shells report it."""

from __future__ import annotations

import signal
from contextlib import contextmanager


class Interrupted(BaseException):
    """A terminating signal arrived; raised where the program is, so every cleanup handler runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


# The signal being handled, if any: an exception raised while unwinding from it (a C extension's import
# turns it into ImportError, for one) is still an interruption, not a failure of the input.
pending_signal = None


def _ignored(signum, frame):
    """A further signal during the clean-up: nothing is done."""


def ignore_further_signals() -> None:
    """A second signal must not interrupt the clean-up of the first (a temp file left behind). Ignored by a Python
    handler, not SIG_IGN: a signal caught by the C handler while the handler became SIG_IGN made CPython raise
    "OSError: Signal 15 ignored due to race condition" where the clean-up was, and a worker of a `-j 2` batch
    printed its traceback (a group's SIGHUP, then the parent's SIGTERM; session 58)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, _ignored)
        except (ValueError, OSError):
            pass


def _raise_interrupted(signum, frame):
    _note_signal(signum, frame)
    raise Interrupted(signum)


def raise_if_interrupted() -> None:
    """Raise the pending signal's Interrupted again. The handler raises it where the program is, and a few
    places drop it without a trace (measured: about 1 in 30 SIGTERMs to a `-j 2` batch left a worker coding
    on, signals ignored, until it was killed with its temporary file): progress updates call this, so the
    interruption lands at the next block."""
    if pending_signal is not None:
        raise Interrupted(pending_signal)


def _note_signal(signum, frame):
    global pending_signal
    pending_signal = signum
    ignore_further_signals()


@contextmanager
def signals_noted():
    """Inside: a terminating signal is noted, not raised; the caller raises it with raise_if_interrupted() at its
    next turn. For a loop that waits on a process pool: raised in there, the interruption can land between a
    lock's acquire and its `with` (Python makes neither atomic against signals), and the unwinding fails with
    "release unlocked lock" instead (seen once in 30 SIGINTs to a `-j 2` batch, session 57)."""
    before = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            before[sig] = signal.signal(sig, _note_signal)
        except (ValueError, OSError):  # not the main thread: nothing to defer
            pass
    try:
        yield
    finally:
        if pending_signal is None:  # once one arrived, further ones stay ignored until the clean-up is done
            for sig, handler in before.items():
                signal.signal(sig, handler)


def install_signal_handlers() -> None:
    """Ctrl-C, SIGTERM and SIGHUP all unwind the stack (temp files removed) and exit 128+signal."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, _raise_interrupted)
        except (ValueError, OSError):  # not the main thread (e.g. embedded): keep the defaults
            pass


def installed() -> bool:
    """muzip's handlers are this process's (install_signal_handlers): a signal raises Interrupted."""
    try:
        return signal.getsignal(signal.SIGINT) is _raise_interrupted
    except ValueError:
        return False


def exit_for_signal(signum: int) -> int:
    return 128 + int(signum)
