"""AudioSink through libsndfile's callbacks: a signal during a write, an abandoned sink, a file closed under
it -- never "Exception ignored from cffi callback" (issue 23, item 7)."""

import gc
import io
import os
import signal
import sys

import numpy as np
import pytest

import muzip.audio.write as write
from muzip.audio import AudioSink, can_write

from conftest import sine


class Boom(BaseException):
    pass


@pytest.fixture
def unraisable(monkeypatch):
    """Exceptions Python could only print ("Exception ignored ..."), recorded instead."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(f"{u.err_msg}: {u.exc_value!r}"))
    return seen


@pytest.fixture
def sigterm_raises():
    def handler(signum, frame):
        raise Boom(signum)
    old = signal.signal(signal.SIGTERM, handler)
    yield
    signal.signal(signal.SIGTERM, old)


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_a_signal_inside_a_libsndfile_callback_is_raised_after_it(tmp_path, monkeypatch, unraisable, sigterm_raises,
                                                                   fmt):
    if not can_write(fmt):
        pytest.skip(f"no {fmt} encoder")
    calls = []
    real = write._GuardedFile.write

    def write_then_signal(self, data):
        calls.append(len(data))
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler is due while libsndfile waits for this call
        return real(self, data)

    monkeypatch.setattr(write._GuardedFile, "write", write_then_signal)
    x = sine(440, 30, 44100, 2)
    with open(tmp_path / f"out.{fmt}", "w+b") as f:
        with pytest.raises(Boom):
            with AudioSink(f, 44100, 2, fmt) as sink:
                for i in range(0, len(x), 44100):
                    sink.write(x[i:i + 44100])
    gc.collect()
    assert len(calls) >= 2
    assert unraisable == []


def test_a_sink_whose_file_was_closed_first_is_collected_quietly(tmp_path, unraisable):
    """What decompress does on an error: the temp file is closed and removed, the sink just dropped."""
    f = open(tmp_path / "out.flac", "w+b")
    sink = AudioSink(f, 44100, 2, "flac")
    sink.write(sine(440, 3, 44100, 2))
    f.close()
    del sink
    gc.collect()
    assert unraisable == []


def test_an_abandoned_sink_writes_nothing_more(tmp_path, unraisable):
    buf = io.BytesIO()
    with pytest.raises(RuntimeError):
        with AudioSink(buf, 44100, 1, "flac", tags={"title": "t"}) as sink:
            sink.write(sine(440, 2, 44100))
            size = buf.tell()
            raise RuntimeError("stop")
    assert buf.tell() == size  # no FLAC trailer, no tags written after the error
    gc.collect()
    assert unraisable == []


def test_signals_deferred_restores_the_handlers_and_runs_the_one_that_came():
    got = []
    old = signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    try:
        with write._signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # let the interpreter run its handlers: held back here
                pass
            assert got == []
        assert got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is not None and signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        assert got == [signal.SIGTERM, signal.SIGTERM]  # the original handler is back
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_finished_flac_is_unchanged_by_the_guard(tmp_path):
    import soundfile as sf
    x = sine(440, 2, 44100, 2)
    with AudioSink(str(tmp_path / "a.flac"), 44100, 2, "flac", tags={"comment": "c"}) as sink:
        sink.write(x)
    y, sr = sf.read(tmp_path / "a.flac", dtype="float32")
    assert sr == 44100 and y.shape == x.shape and np.abs(y - x).max() < 1e-4
