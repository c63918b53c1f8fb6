"""Worker pools that leave Ctrl-C to the parent (muzip/workers.py; session 55: `muzip train` printed its workers'
KeyboardInterrupt tracebacks and once hung for good; `index -j 2` printed theirs too)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from muzip.workers import submitting, worker_pool
from terminal import ENV, drain_pty


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_ignore_sigint_and_results_come_in_order(start):
    before = signal.getsignal(signal.SIGINT)  # (ignored already where the suite runs in the background)
    with worker_pool(2, start) as pool:
        handlers = list(submitting(pool, signal.getsignal, [signal.SIGINT] * 3))
        assert handlers == [signal.SIG_IGN] * 3  # spawned ones too: they start with it ignored
        assert list(submitting(pool, abs, [-3, 2, -1])) == [3, 2, 1]
    assert signal.getsignal(signal.SIGINT) is before  # the parent's own is back


def test_stop_workers_ends_the_pool_without_waiting_for_queued_work():
    t = time.monotonic()
    with pytest.raises(RuntimeError):
        with worker_pool(2) as pool:
            results = submitting(pool, time.sleep, [30] * 6)
            raise RuntimeError("the caller stops")
    assert time.monotonic() - t < 10
    del results


# A parent reading large results (a training file's segments) when Ctrl-C comes at a terminal: one line, at once.
_SCRIPT = """
import sys, time, numpy as np
sys.path.insert(0, {root!r})
from muzip.workers import submitting, worker_pool

def big(i):
    time.sleep(0.05)
    return np.ones(700_000)  # 5.6 MB: its sending takes a while, a kill can come in the middle of it

try:
    with worker_pool(2) as pool:
        for k, x in enumerate(submitting(pool, big, range(400))):
            print("got", k, flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


@pytest.mark.parametrize("after", [0.6, 1.1, 1.7])
def test_ctrl_c_at_a_terminal_while_results_arrive(tmp_path, after):
    import fcntl
    import struct
    import termios
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))

    def own_terminal():  # the child's controlling terminal, so Ctrl-C reaches its whole process group
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a shell starts it (a background suite ignores SIGINT)
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT.format(root=root)], env=ENV, stdin=slave, stdout=slave,
                            stderr=slave, preexec_fn=own_terminal, close_fds=True)
    os.close(slave)
    out = drain_pty(master, proc, after)
    os.write(master, b"\x03")
    t = time.monotonic()
    out = drain_pty(master, proc, 30, out)
    try:
        code = proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "hung"
    os.close(master)
    text = out.decode("utf-8", "replace")
    assert code == 130 and "interrupted" in text and time.monotonic() - t < 15, text[-2000:]
    assert "Traceback" not in text and "Exception ignored" not in text, text[-3000:]
