"""`muzip train`: a tiny configuration trained a few steps on synthetic audio, installed, resumed,
fine-tuned again, and used by compress/decompress; the refusals; the data helpers."""

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import music_folder, sine

pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[2]


def _music(folder: Path, n=3, seconds=4.0, rate=44100):
    return music_folder(folder, n, seconds, rate)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    cfg = json.loads((ROOT / "models" / "muzip-v1" / "config.json").read_text())
    cfg.update(hidden=16, decoder_blocks=1, noise_channels=4)
    path = tmp_path_factory.mktemp("cfg") / "tiny.json"
    path.write_text(json.dumps(cfg))
    return path


def _train(runner, *args):
    from muzip.cli import cli
    return runner.invoke(cli, ["train", "-q", "--json", "-j", "1", "--batch", "2", "--per-file", "2", *map(str, args)])


def test_train_installs_resumes_and_round_trips(runner, tmp_path, tiny_config, monkeypatch):
    from muzip.cli import cli
    from muzip.codec import installed_models
    from muzip.runtime import model_folder, user_models_dir
    monkeypatch.delenv("MUZIP_THREADS", raising=False)  # train sets it; restored after the test
    music = _music(tmp_path / "music")
    r = _train(runner, music, "--name", "tiny-t", "--init-config", tiny_config, "--steps", 2)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert set(res) == {"name", "folder", "steps", "train_seconds", "holdout_files", "before", "after", "from"}
    assert res["steps"] == 2 and res["holdout_files"] == 1 and res["before"] is None and res["from"] is None
    assert Path(res["folder"]).parent == user_models_dir() and "tiny-t" in installed_models("codec")
    for kbps, m in res["after"].items():  # honest bitrate through the real codec, a finite distance
        assert abs(m["kbps"] - float(kbps)) / float(kbps) < 0.25 and np.isfinite(m["mel"])
    card = (model_folder("tiny-t") / "MODEL.md").read_text()
    assert "Steps: 2 of batch 2" in card and "| 24 |" in card

    first = tmp_path / "first.mz"  # made by the first install, which the next one replaces
    r = runner.invoke(cli, ["compress", "-q", "--model", "tiny-t", str(music / "t1.wav"), "-o", str(first)])
    assert r.exit_code == 0, r.output

    r = _train(runner, music, "--name", "tiny-t", "--steps", 3)  # the same run continues
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["steps"] == 3
    from muzip.runtime.identity import identity_digest
    digest = identity_digest("tiny-t")
    r = runner.invoke(cli, ["train", "--json", "-j", "1", str(music), "--name", "tiny-t", "--steps", "3"])
    assert r.exit_code == 0 and "already trained to step 3 and installed" in r.stderr, r.output  # said, and
    # nothing exported or replaced again (it installed new bytes under a new id, 9 MB more each time)
    assert json.loads(r.stdout)["steps"] == 3 and identity_digest("tiny-t") == digest
    r = runner.invoke(cli, ["decompress", "-q", str(first), "-o", str(tmp_path / "first.wav")])
    assert r.exit_code == 0, r.output  # the replaced version was kept, and found by the file's identity
    assert [m for m in installed_models("codec") if m.startswith("tiny-t")] == ["tiny-t"]

    r = _train(runner, music, "--name", "tiny-ft", "--from", "tiny-t", "--steps", 1)  # fine-tune a model
    assert r.exit_code == 0, r.output
    ft = json.loads(r.stdout)
    assert ft["from"] == "tiny-t" and set(ft["before"]) == set(ft["after"])

    r = runner.invoke(cli, ["models", "--json"])
    listed = {m["name"]: m for m in map(json.loads, r.stdout.splitlines())}
    assert listed["tiny-ft"]["status"] == "ok" and listed["tiny-ft"]["folder"] == str(model_folder("tiny-ft"))

    src = music / "t0.wav"
    r = runner.invoke(cli, ["compress", "-q", "--model", "tiny-ft", "-b", "24", str(src), "-o", str(tmp_path / "t.mz")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "t.mz"), "-o", str(tmp_path / "t.wav")])
    assert r.exit_code == 0, r.output
    out, rate = sf.read(tmp_path / "t.wav")
    assert rate == 44100 and out.shape == sf.read(src)[0].shape
    r = runner.invoke(cli, ["info", str(tmp_path / "t.mz")])
    assert "tiny-ft" in r.output


def test_train_a_context_table_model(runner, tmp_path, tiny_config, monkeypatch):
    """A config naming context-adaptive tables (muzip.entropy_context) and the constant MDCT (muzip-v2's
    layout) gets its tables counted and installed, and no filterbank in its weight files."""
    from muzip.cli import cli
    from muzip.codec.entropy.context import ContextCoder
    from muzip.codec import load_model
    from muzip.runtime import model_folder
    monkeypatch.delenv("MUZIP_THREADS", raising=False)
    cfg = dict(json.loads(Path(tiny_config).read_text()), entropy="context",
               context_edges=[1, 2, 3, 5, 7, 10, 14, 20, 30, 45, 70], context_bands=16, filterbank="mdct")
    (tmp_path / "ctx.json").write_text(json.dumps(cfg))
    music = _music(tmp_path / "music")
    r = _train(runner, music, "--name", "tiny-ctx", "--init-config", tmp_path / "ctx.json", "--steps", 2)
    assert r.exit_code == 0, r.output
    for kbps, m in json.loads(r.stdout)["after"].items():
        assert abs(m["kbps"] - float(kbps)) / float(kbps) < 0.25 and np.isfinite(m["mel"])
    assert not (model_folder("tiny-ctx") / "tables.levels.npz").exists()
    assert (model_folder("tiny-ctx") / "encoder.weights.h5").stat().st_size < 4 * cfg["hop"] ** 2
    assert isinstance(load_model("tiny-ctx").coder, ContextCoder)
    src = music / "t1.wav"
    r = runner.invoke(cli, ["compress", "-q", "--model", "tiny-ctx", "-b", "16", str(src), "-o", str(tmp_path / "c.mz")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["test", str(tmp_path / "c.mz")])
    assert r.exit_code == 0 and "ok" in r.output


@pytest.mark.parametrize("args, code, message", [
    (["--name", "muzip-v1"], 2, "a shipped model has that name"),
    (["--name", "embed-v1"], 2, "a shipped model has that name"),  # removed, but files may name it
    (["--name", "../evil"], 2, "use letters, digits"),
    (["--name", "x", "--from", "no-such-model"], 2, "is not installed"),  # nothing done: a usage error
    (["--name", "x", "--from", "muzip-v2.1"], 2, "cannot fit this kind of model"),
])
def test_train_refusals(runner, tmp_path, args, code, message):
    r = _train(runner, _music(tmp_path / "m", n=2, seconds=2.5), *args)
    assert r.exit_code == code and message in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("minutes", ["nan", "inf", "0", "-2"])
def test_minutes_must_be_a_finite_positive_number(runner, tmp_path, minutes):
    """--minutes nan drew a nan% bar and never stopped (a first-use review)."""
    r = _train(runner, _music(tmp_path / "m", n=2, seconds=2.5), "--name", "x", "--minutes", minutes)
    assert r.exit_code == 2 and "give a number of minutes above 0" in r.output


def test_train_needs_a_held_out_file(runner, tmp_path):
    r = _train(runner, _music(tmp_path / "m", n=1), "--name", "one")
    assert r.exit_code == 2 and "1 audio file; training needs at least 2" in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_holdout_split_is_stable_and_disjoint():
    from muzip.train.data import split_holdout
    files = [f"/music/{i:02d}.flac" for i in range(30)]
    train, held = split_holdout(files)
    assert len(held) == 3 and not set(train) & set(held) and len(train) + len(held) == 30
    assert split_holdout(list(reversed(files))) == (train, held)
    assert split_holdout(files[:1]) == (files[:1], [])


def test_file_segments_are_sampled_mid_side(tmp_path):
    from muzip.train.data import file_segments
    path = tmp_path / "long.wav"
    x = sine(440, 21, 22050, 2)
    x[:, 1] *= 0.5
    x[int(22050 * 3.5):int(22050 * 6.5)] = 0  # the segment [4 s, 6 s) is silent, and dropped
    sf.write(path, x, 22050)
    seg = file_segments(str(path), 44100, per_file=4)  # resampled to the model rate on the way
    assert seg.shape == (4, 2, 88200) and seg.dtype == np.int16
    mid, side = seg[0].astype(float) / 32767
    assert np.isclose(np.abs(side).max() / np.abs(mid).max(), 1 / 3, atol=0.02)
    assert len(file_segments(str(path), 44100, per_file=40)) == 9  # 10 whole segments, one silent


def test_ctrl_c_at_a_terminal_keeps_the_run(tmp_path, tiny_config):
    """Under a pseudo-terminal: the progress bar shows the step and loss; Ctrl-C exits 130 with one line,
    and the same command continues from the last checkpoint."""
    from terminal import ENV, drain_pty
    music = _music(tmp_path / "music")
    env = dict(ENV, MUZIP_USER_MODELS=str(tmp_path / "models"), MUZIP_TRAIN_RUNS=str(tmp_path / "runs"))
    args = [sys.executable, "-m", "muzip", "train", str(music), "--name", "tty", "--init-config", str(tiny_config),
            "--batch", "2", "--per-file", "2", "-j", "1", "--steps", "100000"]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # tqdm draws nothing 0 wide
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    screen, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline and b" loss " not in screen:
        if select.select([master], [], [], 0.5)[0]:
            try:
                screen += os.read(master, 65536)
            except OSError:
                break
    proc.send_signal(signal.SIGINT)
    screen = drain_pty(master, proc, 60, screen)
    code = proc.wait(timeout=60)
    os.close(master)
    text = screen.decode("utf-8", "replace")
    assert b" loss " in screen and "train tty step" in text
    assert code == 130 and "interrupted; run the same command again" in text and "Traceback" not in text
    assert "Exception ignored" not in text
    assert not (tmp_path / "models" / "tty").exists()  # nothing installed from an interrupted run
    meta = json.loads((tmp_path / "runs" / "tty" / "run.json").read_text())
    # Interrupted long before the first minute's checkpoint: the steps made are saved all the same.
    assert meta["steps_done"] >= 1 and (tmp_path / "runs" / "tty" / "checkpoint.weights.h5").is_file()
    r = subprocess.run(args[:-1] + [str(meta["steps_done"] + 1), "--json"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "continuing the run" in r.stderr and json.loads(r.stdout)["steps"] == meta["steps_done"] + 1


def test_ctrl_c_while_measuring_a_fine_tuned_model_then_the_same_command_measures(runner, tmp_path, tiny_config,
                                                                                   monkeypatch):
    """Without --steps the same command used to train another budget and install again (session 55's review)."""
    import muzip.train.run as run
    from muzip.signals import Interrupted
    from muzip.runtime.store import REPLACED, user_models_dir
    monkeypatch.delenv("MUZIP_THREADS", raising=False)
    real, calls = run.codec_quality, []

    def interrupted_first(*a, **k):  # no --from: the first measurement is the installed model's
        calls.append(1)
        if len(calls) == 1:
            raise Interrupted(2)
        return real(*a, **k)
    monkeypatch.setattr(run, "codec_quality", interrupted_first)
    music = _music(tmp_path / "music")
    args = [music, "--name", "tiny-m", "--init-config", tiny_config, "--minutes", "0.02"]
    r = _train(runner, *args)
    assert r.exit_code == 130 and "interrupted after installing the model in" in r.stderr, r.output
    steps = json.loads((run.runs_dir() / "tiny-m" / "run.json").read_text())["steps_done"]
    r = _train(runner, *args)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["steps"] == steps and res["after"]  # measured, not trained on
    replaced = user_models_dir() / REPLACED
    assert not (replaced.is_dir() and any(p.name.startswith("tiny-m~") for p in replaced.iterdir()))
