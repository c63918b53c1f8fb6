"""What a first-use review of `muzip train` found (session 55), on the table-counting method (no TensorFlow)."""

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from conftest import music_folder
from muzip.cli import cli
from muzip.signals import Interrupted


def _music(folder, n=3):
    return music_folder(folder, n, 4.0, 44100, base_hz=330.0, noise=0.05, seed=5, prefix="r")


def _train(runner, *args):
    return runner.invoke(cli, ["train", "-j", "1", "--per-file", "2", *map(str, args)])


@pytest.mark.parametrize("name", ["muzip-v3", "embed-v9", "Restore-v2.1"])
def test_names_of_later_shipped_models_are_kept(runner, tmp_path, name):
    """A later muzip shipping muzip-v3 would shadow a user's muzip-v3, and its files would decode wrong."""
    r = _train(runner, _music(tmp_path / "m", 2), "--name", name)
    assert r.exit_code == 2 and "kept for the models muzip ships" in r.stderr, r.output


def test_an_installed_model_is_not_replaced_without_restart(runner, tmp_path):
    """With its run folder deleted (as the GUIDE says to, once a model is final), a new run of the same name
    replaced the model without a word."""
    from muzip.runtime.store import REPLACED, user_models_dir
    from muzip.train.run import runs_dir
    music = _music(tmp_path / "m")
    assert _train(runner, music, "--name", "kept").exit_code == 0
    shutil.rmtree(runs_dir() / "kept")
    r = _train(runner, music, "--name", "kept")
    assert r.exit_code == 2 and "a model named kept is installed" in r.stderr and "--restart" in r.stderr
    assert not (runs_dir() / "kept").exists()  # refused before any work
    r = _train(runner, music, "--name", "kept", "--restart")
    assert r.exit_code == 0, r.output
    assert any(p.name.startswith("kept~") for p in (user_models_dir() / REPLACED).iterdir())  # the old one kept


def test_a_models_folder_that_cannot_take_the_model_is_found_first(runner, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("MUZIP_USER_MODELS", str(tmp_path / "afile" / "models"))
    r = _train(runner, _music(tmp_path / "m"), "--name", "nowhere")
    assert r.exit_code == 1 and r.stderr.startswith(f"muzip: train nowhere: {tmp_path / 'afile' / 'models'}: "
                                                    "cannot install models there (Not a directory)"), r.output
    assert "reading" not in r.stderr
    monkeypatch.delenv("MUZIP_USER_MODELS")
    monkeypatch.setenv("MUZIP_TRAIN_RUNS", str(tmp_path / "afile"))  # said as the models folder is (session 61)
    r = _train(runner, _music(tmp_path / "m"), "--name", "nowhere")
    assert r.exit_code == 1 and r.stderr.strip().endswith(f"muzip: train nowhere: {tmp_path / 'afile'}: cannot "
                                                          "keep training runs there (Not a directory)"), r.output
    assert "Errno" not in r.stderr


def test_a_file_under_several_names_is_one_file(runner, tmp_path):
    """A held-out file was trained on under its other names (drascula-music: 190 names of 35 files)."""
    from muzip.train.run import runs_dir
    real = _music(tmp_path / "lib" / "real", 3)
    for k in range(3):
        os.symlink(real, tmp_path / "lib" / f"links{k}")
    assert _train(runner, tmp_path / "lib", "--name", "linked").exit_code == 0
    meta = json.loads((runs_dir() / "linked" / "run.json").read_text())
    files = meta["train_files"] + meta["holdout_files"]
    assert len(files) == 3 and len({os.path.realpath(f) for f in files}) == 3
    assert all(os.path.dirname(f) == str(real) for f in files)  # each by its own name, not a link's


def test_ctrl_c_while_measuring_the_installed_model(runner, tmp_path, monkeypatch):
    """The model was installed, yet the run said it was interrupted, and the next run installed it again."""
    import muzip.train.run as run
    from muzip.codec import installed_models
    from muzip.runtime.store import REPLACED, user_models_dir
    real, calls = run.codec_quality, []

    def interrupted_after(model, files, rate, *a, **k):
        calls.append(model)
        if len(calls) == 2:  # the first measures the base; the second the model just installed
            raise Interrupted(2)
        return real(model, files, rate, *a, **k)
    monkeypatch.setattr(run, "codec_quality", interrupted_after)
    music = _music(tmp_path / "m")
    r = _train(runner, music, "--name", "late")
    assert r.exit_code == 130 and "interrupted after installing the model in" in r.stderr, r.output
    assert "late" in installed_models("codec")
    r = _train(runner, music, "--name", "late", "--json")  # measures it, installs nothing new
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["after"] and "24" in json.loads(r.stdout)["after"]
    replaced = user_models_dir() / REPLACED
    assert not (replaced.is_dir() and any(p.name.startswith("late~") for p in replaced.iterdir()))
    assert "measured once the model is installed" not in (user_models_dir() / "late" / "MODEL.md").read_text()


@pytest.fixture
def user_copy(tmp_path, monkeypatch):
    """A user's model: the shipped muzip-v2.7's files under another name, in a models folder of its own."""
    from muzip.runtime import model_folder
    root = tmp_path / "models"
    shutil.copytree(model_folder("muzip-v2.7"), root / "mine")
    monkeypatch.setenv("MUZIP_USER_MODELS", str(root))
    import muzip.cli.codec_jobs as jobs
    monkeypatch.setattr(jobs, "_MODELS", {})  # another test's "mine", loaded in this process, is not this one
    return root / "mine"


def test_a_config_that_is_no_json_is_reported_by_its_sha256(runner, user_copy, tmp_path):
    data = bytearray((user_copy / "config.json").read_bytes())
    data[len(data) // 2] = ord("@")
    (user_copy / "config.json").write_bytes(bytes(data))
    r = runner.invoke(cli, ["models"])
    assert r.exit_code == 1 and "mine: FILES DAMAGED (model 'mine': config.json" in r.stdout, r.output
    r = runner.invoke(cli, ["compress", "--model", "mine", str(tmp_path / "x.wav")])
    assert r.exit_code == 1 and r.stderr.startswith("muzip: --model mine: the model is damaged (model 'mine': "
                                                    "config.json"), r.output


@pytest.mark.parametrize("line", ["0" * 64 + "  MODEL.md", "0" * 64 + "  ../../../../etc/hostname"])
def test_models_checks_every_file_its_sums_list(runner, user_copy, tmp_path, line):
    """A wrong sum of its card, or a listed path outside its folder, passed as "files ok" (a review, session 61);
    neither runs, so it still codes."""
    with open(user_copy / "SHA256SUMS", "a") as f:
        f.write(line + "\n")
    r = runner.invoke(cli, ["models"])
    mine = next(ln for ln in r.stdout.splitlines() if ln.startswith("mine:"))
    assert r.exit_code == 1 and "FILES DAMAGED" in mine and line.split()[1] in mine and "still codes" in mine, mine
    sf.write(tmp_path / "x.wav", np.zeros((44100, 1), np.float32), 44100)
    assert runner.invoke(cli, ["compress", "-q", "--model", "mine", str(tmp_path / "x.wav")]).exit_code == 0


def test_a_model_folder_without_its_sums_is_named(runner, user_copy):
    (user_copy / "SHA256SUMS").unlink()
    r = runner.invoke(cli, ["models"])
    assert r.exit_code == 1 and f"muzip: {user_copy}: no SHA256SUMS, so not a model muzip loads" in r.stderr


def test_models_to_a_reader_that_went_away_ends_quietly():
    """`muzip models | head -1` exited 1 without a word (Click's own handling of EPIPE)."""
    import subprocess
    import sys
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        r = subprocess.run([sys.executable, "-m", "muzip", "models"], stdout=write_end, stderr=subprocess.PIPE,
                           text=True)
    finally:
        os.close(write_end)
    assert r.returncode == 141 and r.stderr == ""


def test_a_large_run_folder_is_said_after_the_install(tmp_path, monkeypatch):
    """Table counting keeps the run's segments (42 MB for four songs) without a word."""
    from muzip.cli.common import Reporter
    from muzip.cli.train_cmd import _say_run_folder
    monkeypatch.setenv("MUZIP_TRAIN_RUNS", str(tmp_path / "runs"))
    (tmp_path / "runs" / "big").mkdir(parents=True)
    with open(tmp_path / "runs" / "big" / "segments.npy", "wb") as f:
        f.truncate(42 * 2 ** 20)  # sparse: its size is what is said
    said = []
    rep = Reporter()
    monkeypatch.setattr(rep, "say", said.append)
    _say_run_folder("big", rep)
    _say_run_folder("missing", rep)
    assert said == [f"the run's folder {tmp_path / 'runs' / 'big'} holds 42 MB to continue or recount it; remove it "
                    "once the model is final (the model does not need it)"]


def test_a_missing_folder_is_one_line(runner, tmp_path):
    r = _train(runner, tmp_path / "nowhere", "--name", "none")
    assert r.exit_code == 1 and r.stderr == f"muzip: {tmp_path / 'nowhere'}: no such file or folder\n", r.output


def test_a_file_of_a_renamed_model_decodes_by_its_identity(runner, user_copy, tmp_path):
    """A user model's folder renamed: its files were "model 'mine' is not installed", though the model they name
    was there under the new name, identity and all (a review, session 61). The identity decides; with no model
    of it, the models listed are the codec models only (not the embedders or the restorer)."""
    sf.write(tmp_path / "x.wav", 0.1 * np.sin(np.arange(44100 * 2) / 7.0)[:, None].astype(np.float32), 44100)
    assert runner.invoke(cli, ["compress", "-q", "--model", "mine", str(tmp_path / "x.wav")]).exit_code == 0
    before = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "x.mz"), "-o", str(tmp_path / "a.wav")])
    user_copy.rename(user_copy.parent / "renamed")
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "x.mz"), "-o", str(tmp_path / "b.wav")])
    assert before.exit_code == r.exit_code == 0, r.output
    assert np.array_equal(sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b.wav")[0])
    # its name another model's now (an older folder put in its place): still found by its identity
    from muzip.runtime import model_folder
    shutil.copytree(model_folder("muzip-v2.6"), user_copy)
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "x.mz"), "-o", str(tmp_path / "b2.wav")])
    assert r.exit_code == 0 and np.array_equal(sf.read(tmp_path / "a.wav")[0], sf.read(tmp_path / "b2.wav")[0])
    import io
    from muzip.container import ContainerReader, encode_header
    data = (tmp_path / "x.mz").read_bytes()
    h = ContainerReader(io.BytesIO(data)).header
    size = len(encode_header(h))
    h.model_id, h.model_sha256 = "gone", bytes(32)  # a model of no installed identity
    (tmp_path / "gone.mz").write_bytes(encode_header(h) + data[size:])
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "gone.mz"), "-o", str(tmp_path / "c.wav")])
    assert r.exit_code == 1 and "model 'gone' is not installed (installed codec models: " in r.stderr, r.output
    assert "embed-v" not in r.stderr and "restore-v1" not in r.stderr and not (tmp_path / "c.wav").exists()
