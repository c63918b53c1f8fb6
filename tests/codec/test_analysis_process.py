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


def test_a_batch_filling_every_core_analyses_in_each_files_thread(tmp_path, monkeypatch):
    """-j as many as the cores over several files: no gain thread per file; one file, or fewer processes
    than cores: the thread."""
    import muzip.cli.codec_cmds as cmds
    from click.testing import CliRunner
    seen = []
    monkeypatch.setattr(cmds, "run_batch", lambda items, job, options, **kw: seen.append(options.analysis_thread))
    monkeypatch.setattr(cmds, "default_jobs", lambda: 2)
    songs = []
    for i in range(3):
        songs.append(str(tmp_path / f"s{i}.wav"))
        sf.write(songs[-1], music(1, seed=i), 44100)
    for j, inputs in (("2", songs), ("3", songs), ("1", songs), ("2", songs[:1]), ("2", songs[:2])):
        result = CliRunner().invoke(cli, ["compress", "-q", "-j", j, *inputs, "--output-dir", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
    assert seen == [False, False, True, True, False]


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
