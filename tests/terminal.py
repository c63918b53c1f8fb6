"""Running muzip under a pseudo-terminal, as a person sees it (progress bars and prompts live only there):
shared by the tests of every package."""

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time

ENV = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100", LINES="24")
ENV.pop("MUZIP_BACKEND", None)


def run_in_pty(args, cwd, stdin=None, timeout=120, code=None, size=(24, 100), env=None):
    """Run `python -m muzip ARGS` (or `python -c CODE ARGS`) with stdout and stderr on a terminal (and stdin,
    unless given) of `size` (rows, columns); -> (exit code, screen text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
    program = [sys.executable, "-m", "muzip"] if code is None else [sys.executable, "-c", code]
    proc = subprocess.Popen([*program, *map(str, args)], cwd=cwd, env=ENV if env is None else env,
                            stdin=stdin if stdin is not None else slave, stdout=slave, stderr=slave,
                            close_fds=True)
    os.close(slave)
    out = drain_pty(master, proc, timeout)
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out.decode("utf-8", "replace")


def drain_pty(master, proc, timeout, out=b""):
    """What the child writes to its terminal until it closes it or exits (at most `timeout` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out
