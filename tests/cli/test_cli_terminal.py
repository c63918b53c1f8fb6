"""The CLI as a person sees it: under a pseudo-terminal (progress bars live only there), and when a
signal arrives (Ctrl-C, SIGTERM from `timeout` or CI, SIGHUP from a dropped ssh session)."""

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import CLIP, sine

ENV = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100", LINES="24")
ENV.pop("MUZIP_BACKEND", None)


def run_in_pty(args, cwd, stdin=None, timeout=120):
    """Run `python -m muzip ARGS` with stdout and stderr on a terminal; -> (exit code, screen text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "muzip", *map(str, args)], cwd=cwd, env=ENV,
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


def _mp3(path, seconds=6):
    lameenc = pytest.importorskip("lameenc")
    x = (sine(440, seconds, 44100, 2) * 32767).astype(np.int16)
    enc = lameenc.Encoder()
    enc.set_bit_rate(128)
    enc.set_in_sample_rate(44100)
    enc.set_channels(2)
    path.write_bytes(enc.encode(x.tobytes()) + enc.flush())


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "mp3", "stdin"])
def test_compress_then_decompress_at_a_terminal(tmp_path, kind):
    """Regression: muzip 1.0 crashed in the progress bar (TypeError) for inputs of unknown length."""
    name = "song." + ("wav" if kind == "stdin" else kind)
    if kind == "mp3":
        _mp3(tmp_path / name)
    elif kind == "ogg":
        (tmp_path / name).write_bytes(CLIP.read_bytes())
    else:
        sf.write(tmp_path / name, sine(440, 6, 44100, 2), 44100)
    if kind == "stdin":
        cat = subprocess.Popen(["cat", str(tmp_path / name)], stdout=subprocess.PIPE)
        code, screen = run_in_pty(["compress", "-", "-o", "song.mz"], tmp_path, stdin=cat.stdout)
        cat.wait()
    else:
        code, screen = run_in_pty(["compress", name], tmp_path)
    assert code == 0, screen
    assert "Traceback" not in screen and "Error" not in screen
    assert "song.mz" in screen and "kbps" in screen  # the summary line
    code, screen = run_in_pty(["decompress", "song.mz", "-o", "out.wav"], tmp_path)
    assert code == 0, screen
    assert "Traceback" not in screen
    assert sf.info(str(tmp_path / "out.wav")).frames > 0


def test_progress_bar_is_drawn_on_a_terminal_only(tmp_path):
    sf.write(tmp_path / "long.wav", sine(440, 240, 44100, 2) * 0.1, 44100)
    code, screen = run_in_pty(["compress", "long.wav"], tmp_path)
    assert code == 0, screen
    assert "%|" in screen and "long.wav" in screen  # tqdm's bar, with the file as its label
    piped = subprocess.run([sys.executable, "-m", "muzip", "compress", "-f", "long.wav"], cwd=tmp_path,
                           env=ENV, capture_output=True, text=True)
    assert piped.returncode == 0 and "%|" not in piped.stderr


def test_batch_at_a_terminal_shows_the_batch_line_and_a_summary(tmp_path):
    for i in range(3):
        sf.write(tmp_path / f"s{i}.wav", sine(300 + 100 * i, 20, 44100, 2), 44100)
    code, screen = run_in_pty(["compress", "-j", "2", "s0.wav", "s1.wav", "s2.wav"], tmp_path)
    assert code == 0, screen
    assert "file " in screen and "/3" in screen
    assert "batch: 3 files;" in screen
    assert screen.index("s0.wav ->") < screen.index("s1.wav ->") < screen.index("s2.wav ->")  # input order


def test_quiet_prints_nothing_at_a_terminal(tmp_path):
    sf.write(tmp_path / "a.wav", sine(440, 5, 44100), 44100)
    code, screen = run_in_pty(["compress", "-q", "a.wav"], tmp_path)
    assert code == 0 and screen.strip() == ""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_signals_leave_no_partial_output(tmp_path, signum, jobs):
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, sine(440, 400, 44100, 2) * 0.1, 44100)  # about two seconds of work each
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "muzip", "compress", "-j", jobs, "a.wav", "b.wav"],
                            cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(n.endswith(".part") for n in os.listdir(tmp_path)):  # wait until it is writing
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.02)
    os.kill(proc.pid, signum)  # to muzip only, as `timeout` and `kill` do
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and "interrupted" in err
    left = sorted(set(os.listdir(tmp_path)) - set(before))
    assert not [n for n in left if n.endswith(".part") or n.startswith(".")], left  # no temp file left
    for name in left:  # a file finished before the signal stays, and is complete (like gzip)
        assert name.endswith(".mz")
        check = subprocess.run([sys.executable, "-m", "muzip", "test", "-q", name], cwd=tmp_path, env=ENV)
        assert check.returncode == 0, name


def test_restore_at_a_terminal(tmp_path):
    from muzip.codec import installed_models
    if "restore-v1" not in installed_models("restorer"):
        pytest.skip("restore-v1 not shipped")
    from muzip.restore.pairs import mp3_bytes
    (tmp_path / "old.mp3").write_bytes(mp3_bytes(sine(440, 6, 44100, 2), 44100, 24))
    code, screen = run_in_pty(["restore", "old.mp3"], tmp_path)
    assert code == 0, screen
    assert "Traceback" not in screen and "old.mp3 -> old.restored.wav" in screen
    assert "MP3, 24 kbps" in screen and "%" in screen  # the per-file progress bar was drawn
    assert sf.info(tmp_path / "old.restored.wav").channels == 2
