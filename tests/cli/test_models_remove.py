"""`muzip models remove` (session 56): a model `muzip train` installed goes, with the older versions kept of it,
after a question at a terminal (its .mz files stop decoding); shipped models never. `muzip models` says what
the hidden .replaced/ folder holds."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from muzip.cli import cli
from muzip.runtime import models_dir
from terminal import ENV, drain_pty


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """A user models folder holding "mine" (a copy of a shipped codec) and one kept older version of it."""
    root = tmp_path / "user-models"
    shutil.copytree(models_dir() / "muzip-v2.7", root / "mine")
    shutil.copytree(models_dir() / "muzip-v2.6", root / ".replaced" / "mine~0123456789ab")
    monkeypatch.setenv("MUZIP_USER_MODELS", str(root))
    monkeypatch.setenv("MUZIP_TRAIN_RUNS", str(tmp_path / "runs"))
    return root


def test_models_lists_the_kept_versions(user_models):
    r = CliRunner().invoke(cli, ["models"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("mine: "))
    assert lines[at + 1].startswith("  and 1 older version it replaced, kept so the files made with it decode: ")
    assert lines[at + 1].endswith(str(user_models / ".replaced"))
    mine, = [m for m in map(json.loads, CliRunner().invoke(cli, ["models", "--json"]).stdout.splitlines())
             if m["name"] == "mine"]
    assert mine["replaced"] == ["mine~0123456789ab"]


def test_remove_needs_yes_without_a_terminal_and_refuses_shipped_and_unknown_names(user_models):
    runner = CliRunner()
    r = runner.invoke(cli, ["models", "remove", "mine"])
    assert r.exit_code == 2 and "add --yes" in r.stderr and (user_models / "mine").is_dir(), r.output
    r = runner.invoke(cli, ["models", "remove", "nosuch", "muzip-v1"])  # said at once, no terminal asked for
    assert r.exit_code == 1 and "add --yes" not in r.stderr and len(r.stderr.splitlines()) == 2, r.output
    r = runner.invoke(cli, ["models", "remove", "--yes", "muzip-v2.7", "nosuch", "muzip-v1"])
    assert r.exit_code == 1 and (models_dir() / "muzip-v2.7").is_dir(), r.output
    assert r.stderr.splitlines() == ["muzip: muzip-v2.7: ships with muzip, so it cannot be removed (files name it)",
                                     "muzip: nosuch: no such model (`muzip models` lists them)",
                                     "muzip: muzip-v1: ships with muzip, so it cannot be removed (files name it)"]


def test_remove_yes_takes_the_model_and_its_kept_versions(user_models, tmp_path):
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    r = CliRunner().invoke(cli, ["models", "remove", "-y", "mine"])
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith("removed mine (") and "with 1 older version)" in r.stderr
    assert f"its training run stays in {tmp_path / 'runs' / 'mine'}" in r.stderr
    assert sorted(os.listdir(user_models)) == [".replaced"] and os.listdir(user_models / ".replaced") == []
    assert "mine" not in CliRunner().invoke(cli, ["models"]).stdout


def _answer_at_a_terminal(args, answer, env):
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "muzip", *args], env=env, stdin=slave, stdout=slave,
                            stderr=slave, close_fds=True)
    os.close(slave)
    out, deadline = b"", time.monotonic() + 60
    while b"[y/N]" not in out and time.monotonic() < deadline and proc.poll() is None:
        out = drain_pty(master, proc, 0.5, out)
    os.write(master, answer)
    out = drain_pty(master, proc, 60, out)
    code = proc.wait(timeout=30)
    os.close(master)
    return code, out.decode()


@pytest.mark.parametrize("answer, removed", [(b"n\n", False), (b"y\n", True)])
def test_remove_asks_at_a_terminal(user_models, answer, removed):
    env = dict(ENV, MUZIP_USER_MODELS=os.environ["MUZIP_USER_MODELS"], MUZIP_TRAIN_RUNS=os.environ["MUZIP_TRAIN_RUNS"])
    code, screen = _answer_at_a_terminal(["models", "remove", "mine"], answer, env)
    assert code == 0, screen
    assert "Remove mine (" in screen and "The .mz files made with it will no longer decode here [y/N]" in screen
    assert (user_models / "mine").exists() is not removed
    assert ("removed mine" in screen) is removed and ("mine: kept" in screen) is not removed


def test_what_an_interrupted_removal_left_is_swept_and_a_linked_model_loses_only_its_link(user_models, tmp_path):
    shutil.copytree(user_models / "mine", user_models / ".removing-mine")  # an earlier removal, interrupted
    elsewhere = tmp_path / "elsewhere" / "linked"
    shutil.copytree(models_dir() / "muzip-v2.7", elsewhere)
    os.symlink(elsewhere, user_models / "linked")
    r = CliRunner().invoke(cli, ["models", "remove", "-y", "mine", "linked"])
    assert r.exit_code == 0, r.output
    assert f"the folder its link pointed to stays: {elsewhere}" in r.stderr
    assert sorted(os.listdir(user_models)) == [".replaced"] and (elsewhere / "SHA256SUMS").is_file()


def test_kept_versions_of_a_model_deleted_by_hand_are_listed(user_models):
    shutil.rmtree(user_models / "mine")
    r = CliRunner().invoke(cli, ["models"])
    assert r.exit_code == 0, r.output
    line, = [line for line in r.stdout.splitlines() if line.startswith("mine: ")]
    assert line.startswith("mine: not installed; 1 older version of it kept, so the files made with it decode: ")
    assert line.endswith("(`muzip models remove mine` removes them)")
    assert CliRunner().invoke(cli, ["models", "remove", "-y", "mine"]).exit_code == 0
    assert os.listdir(user_models / ".replaced") == []


def test_the_shell_completes_the_names_it_can_remove(user_models):
    from muzip.cli.models_cmds import _complete_removable
    assert _complete_removable(None, None, "") == ["mine"] and _complete_removable(None, None, "x") == []
