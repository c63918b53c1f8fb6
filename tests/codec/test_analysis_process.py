"""The gain analysis in a forked process (muzip.codec.analysis_process): the thread's bytes, and an error
rather than a hang when the child fails or dies; the CLI uses it for one long file on 2+ cores."""

import io
import os

import numpy as np
import pytest
import soundfile as sf

from muzip.cli import cli
from muzip.codec import load_model
from muzip.codec.analysis_process import AnalysisProcess
from muzip.codec.encode import compress_blocks
from muzip.errors import MuzipError

MODEL = "muzip-v2.6"


def music(seconds, seed=7):
    """Tones, a noise floor and a cymbal-like burst every 0.7 s (the envelope has attacks to correct)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 44100)) / 44100
    x = 0.08 * np.sin(2 * np.pi * 220 * t)[:, None] + 0.01 * rng.standard_normal((len(t), 2))
    burst = (t % 0.7 < 0.2) * np.exp(-(t % 0.7) / 0.05)
    return (x + 0.3 * burst[:, None] * rng.standard_normal((len(t), 2))).astype(np.float32)


def compressed(x, kbps, process, thread=True, model=MODEL):
    out = io.BytesIO()
    blocks = (x[i:i + 65536] for i in range(0, len(x), 65536))
    compress_blocks(blocks, 44100, 2, len(x), out, load_model(model), kbps, analysis_process=process,
                    analysis_thread=thread)
    return out.getvalue()


@pytest.mark.parametrize("kbps", [12, 48])
def test_a_process_gives_the_threads_bytes(kbps):
    x = music(12)
    assert compressed(x, kbps, True) == compressed(x, kbps, False)


@pytest.mark.parametrize("model", [MODEL, "muzip-v2.7"])
def test_analysing_in_the_callers_thread_gives_the_threads_bytes(model):
    """A batch whose processes fill every core analyses without a second thread: the same file."""
    x = music(5, seed=3)
    assert compressed(x, 16, False, thread=False, model=model) == compressed(x, 16, False, model=model)


def test_a_process_with_one_core_analyses_in_its_own_thread(monkeypatch):
    """MUZIP_THREADS=1 (a batch worker: one core each) analyses without a second thread, the same bytes."""
    import threading
    from muzip.codec import gain_encoder
    names = []
    real = gain_encoder.GainEncoder._analyse

    def spy(self, frame, latents):
        names.append(threading.current_thread().name)
        return real(self, frame, latents)
    monkeypatch.setattr(gain_encoder.GainEncoder, "_analyse", spy)
    x = music(3, seed=4)
    monkeypatch.setenv("MUZIP_THREADS", "1")
    one = compressed(x, 24, False, thread=None)
    assert names and set(names) == {threading.current_thread().name}
    names.clear()
    monkeypatch.setenv("MUZIP_THREADS", "2")
    assert compressed(x, 24, False, thread=None) == one
    assert names and threading.current_thread().name not in names


def test_a_failing_analysis_is_one_error():
    def failing(frame, latents):
        raise ValueError("no such band")

    pool = AnalysisProcess(failing)
    try:
        with pytest.raises(MuzipError, match="gain analysis failed: ValueError"):
            pool.submit(failing, None, None).result()
    finally:
        pool.shutdown(cancel_futures=True)


def test_a_child_that_dies_is_an_error_not_a_hang():
    def dying(frame, latents):
        os._exit(3)

    pool = AnalysisProcess(dying)
    try:
        with pytest.raises(MuzipError, match="ended unexpectedly"):
            pool.submit(dying, None, None).result()
    finally:
        pool.shutdown(cancel_futures=True)


def test_the_cli_uses_it_for_one_long_file_alone(runner, tmp_path, monkeypatch):
    from muzip.cli import codec_jobs
    started = []
    original = AnalysisProcess.__init__

    def counted(self, analyse):
        started.append(1)
        original(self, analyse)

    monkeypatch.setattr(AnalysisProcess, "__init__", counted)
    monkeypatch.setattr(codec_jobs, "LONG_FILE_S", 10.0)  # a 12-s file counts as long here
    sf.write(tmp_path / "a.wav", music(12), 44100)
    outs = {}
    for jobs in ("1", "2"):
        r = runner.invoke(cli, ["compress", "--model", MODEL, "-q", "-j", jobs, "-b", "24", str(tmp_path / "a.wav"),
                                "-o", str(tmp_path / f"a{jobs}.mz")])
        assert r.exit_code == 0, r.output
        outs[jobs] = (tmp_path / f"a{jobs}.mz").read_bytes()
    assert started == [1]  # -j 2 only
    assert outs["1"] == outs["2"]
