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

from terminal import ENV, drain_pty, run_in_pty  # noqa: F401 - ENV is used by tests importing from here


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


def test_progress_bar_on_a_terminal_that_says_it_is_0_by_0(tmp_path):
    """`script` without a size, some CI consoles: tqdm drew nothing at all (session 56's review); 80 columns now."""
    sf.write(tmp_path / "long.wav", sine(440, 60, 44100, 2) * 0.1, 44100)
    env = {k: v for k, v in ENV.items() if k not in ("COLUMNS", "LINES")}
    code, screen = run_in_pty(["compress", "long.wav"], tmp_path, size=(0, 0), env=env)
    assert code == 0 and "%|" in screen and "long.wav:" in screen, screen


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


def test_a_file_finished_in_parallel_before_ctrl_c_is_said(tmp_path):
    """Session 56's review: with -j 2, a later file that finished while an earlier one still ran was kept whole,
    but its line was held back for input order and dropped at Ctrl-C; a re-run then failed on it ("exists")."""
    sf.write(tmp_path / "long.wav", sine(440, 400, 44100, 2) * 0.1, 44100)  # about two seconds of work
    sf.write(tmp_path / "short.wav", sine(440, 2, 44100, 2) * 0.1, 44100)
    sf.write(tmp_path / "short2.wav", sine(440, 2, 44100, 2) * 0.1, 44100)
    proc = subprocess.Popen([sys.executable, "-m", "muzip", "compress", "-j", "2", "long.wav", "short.wav",
                             "short2.wav"],
                            cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "short2.mz").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.02)
    time.sleep(0.3)  # its outcome reaches the parent
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "short.wav -> short.mz" in err and "interrupted" in err, err
    assert err.index("short.wav -> short.mz") < err.index("short2.wav -> short2.mz") < err.index("interrupted")
    assert not (tmp_path / "long.mz").exists()


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


# -- issue 23: standard input at a terminal, status lines, signals while writing FLAC ----------------

@pytest.mark.parametrize("args,what", [(["compress", "-", "-o", "x.mz"], "audio is"),
                                       (["decompress", "-", "-o", "x.wav"], "compressed data is"),
                                       (["restore", "-", "-o", "x.wav"], "audio is"),
                                       (["eval", "x.wav", "-"], "audio is"),
                                       (["info", "-"], "compressed data is"), (["test", "-"], "compressed data is")])
def test_dash_with_a_terminal_on_stdin_is_refused_at_once(tmp_path, args, what):
    """`muzip compress -` used to wait silently for audio typed at the keyboard (gzip refuses too)."""
    t0 = time.monotonic()
    code, screen = run_in_pty(args, tmp_path, timeout=30)
    assert code == 2, screen
    lines = [ln for ln in screen.splitlines() if ln.strip()]
    assert lines == [f"muzip: -: {what} not read from a terminal (pipe or redirect a file into it)"], screen
    assert time.monotonic() - t0 < 25 and os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [["compress", "-c", "a.wav"], ["decompress", "-c", "a.mz"], ["compress", "-"]])
def test_binary_output_to_a_terminal_is_a_usage_error(tmp_path, args):
    """Nothing is done, so exit 2 (it was 1, the status of a file that failed), before any reading."""
    sf.write(tmp_path / "a.wav", sine(440, 1, 44100, 2), 44100)
    (tmp_path / "a.mz").write_bytes(b"not read")
    with open(tmp_path / "a.wav", "rb") as f:
        code, screen = run_in_pty(args, tmp_path, stdin=f)
    assert code == 2, screen
    assert [ln for ln in screen.splitlines() if ln.strip()] == \
        ["muzip: refusing to write binary data to a terminal (redirect it, or use -o)"], screen
    assert sorted(os.listdir(tmp_path)) == ["a.mz", "a.wav"]


def test_dash_from_a_pipe_still_works_at_a_terminal(tmp_path):
    sf.write(tmp_path / "a.wav", sine(440, 1, 44100, 2), 44100)
    with open(tmp_path / "a.wav", "rb") as f:
        code, screen = run_in_pty(["compress", "-q", "-", "-o", "a.mz"], tmp_path, stdin=f)
    assert code == 0, screen
    assert (tmp_path / "a.mz").stat().st_size > 0


_TRAIN_SPY = """
import sys
import muzip.train.pipeline as pipeline
def slow_part(*args, **kwargs):  # stands in for reading, importing TensorFlow and training
    sys.stderr.write("SLOW PART\\n")
    sys.stderr.flush()
    return None
pipeline.train = slow_part
sys.argv = ["muzip", *sys.argv[1:]]
from muzip.cli import main
main()
"""

_EVAL_SPY = """
import sys
class Spy:  # says when the metrics package is imported: the slow start the status line announces
    def find_spec(self, name, path=None, target=None):
        if name == "muzip.evaluate":
            sys.stderr.write("IMPORTING muzip.evaluate\\n")
            sys.stderr.flush()
        return None
sys.meta_path.insert(0, Spy())
sys.argv = ["muzip", *sys.argv[1:]]
from muzip.cli import main
main()
"""


def test_train_says_it_is_loading_at_once_at_a_terminal_only(tmp_path):
    args = ["train", str(tmp_path), "--name", "status-line-test", "--from", "muzip-v1"]  # a network: TensorFlow
    code, screen = run_in_pty(args, tmp_path, code=_TRAIN_SPY, timeout=60)
    assert code == 0, screen
    assert "muzip: loading TensorFlow..." in screen
    assert screen.index("muzip: loading TensorFlow...") < screen.index("SLOW PART")
    piped = subprocess.run([sys.executable, "-c", _TRAIN_SPY, *args], cwd=tmp_path, env=ENV, capture_output=True,
                           text=True, timeout=60)
    assert piped.returncode == 0 and piped.stderr == "SLOW PART\n"  # nothing extra off a terminal
    code, screen = run_in_pty([*args, "-q"], tmp_path, code=_TRAIN_SPY, timeout=60)
    assert code == 0 and "loading" not in screen


def test_eval_says_what_it_is_doing_before_the_slow_imports(tmp_path):
    sf.write(tmp_path / "ref.wav", sine(440, 1.5, 44100), 44100)
    sf.write(tmp_path / "deg.wav", sine(440, 1.5, 44100) * 0.9, 44100)
    args = ["eval", "--no-visqol", "ref.wav", "deg.wav"]
    code, screen = run_in_pty(args, tmp_path, code=_EVAL_SPY, timeout=120)
    assert code == 0, screen
    status = "muzip: measuring deg.wav against ref.wav..."
    assert status in screen and screen.index(status) < screen.index("IMPORTING muzip.evaluate"), screen
    assert "mel distance" in screen
    piped = subprocess.run([sys.executable, "-c", _EVAL_SPY, *args], cwd=tmp_path, env=ENV, capture_output=True,
                           text=True, timeout=120)
    assert piped.returncode == 0 and "measuring" not in piped.stderr


def _long_mz(tmp_path, seconds=150):
    from muzip.codec import compress_array, load_model
    noise = (np.random.default_rng(7).standard_normal((seconds * 44100, 2)) * 0.1).astype(np.float32)
    (tmp_path / "long.mz").write_bytes(compress_array(noise, 44100, 12, model=load_model("muzip-v1")))


def test_sigterm_while_writing_flac_is_quiet(tmp_path):
    """Regression: "Exception ignored from cffi callback ... write to closed file" (libsndfile's clean-up
    writing to the removed temp file), and a signal lost inside a libsndfile callback (exit 0)."""
    _long_mz(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "muzip", "decompress", "long.mz", "-o", "out.flac"],
                            cwd=tmp_path, env=ENV, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not any(n.endswith(".part") and (tmp_path / n).stat().st_size > 0 for n in os.listdir(tmp_path)):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)  # well into the FLAC stream
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Exception ignored" not in err and "Traceback" not in err, err
    assert err.strip() == "muzip: interrupted"
    assert sorted(os.listdir(tmp_path)) == ["long.mz"]


_SIGNAL_IN_CALLBACK = """
import os, signal, sys
import muzip.audio.write as write
calls = [0]
real = write._GuardedFile.write
def write_then_signal(self, data):  # the signal arrives while libsndfile is inside its write callback
    calls[0] += 1
    if calls[0] == 3:
        os.kill(os.getpid(), signal.SIGTERM)
    return real(self, data)
write._GuardedFile.write = write_then_signal
sys.argv = ["muzip", *sys.argv[1:]]
from muzip.cli import main
main()
"""


@pytest.mark.parametrize("command", ["decompress", "restore"])
def test_a_signal_inside_libsndfiles_callback_is_not_lost(tmp_path, command):
    if command == "decompress":
        _long_mz(tmp_path, seconds=20)
        src = "long.mz"
    else:  # restore copies a lossless input: no network, the same sink
        src = "long.wav"
        sf.write(tmp_path / src, sine(440, 20, 44100, 2), 44100)
    before = sorted(os.listdir(tmp_path))
    proc = subprocess.run([sys.executable, "-c", _SIGNAL_IN_CALLBACK, command, src, "-o", "out.flac"], cwd=tmp_path,
                          env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert proc.stderr.strip() == "muzip: interrupted", proc.stderr
    assert sorted(os.listdir(tmp_path)) == before
