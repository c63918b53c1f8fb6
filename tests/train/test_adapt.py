"""`muzip train` from the default model: its tables counted on the music (muzip.train.adapt), installed
as a model of its own, used by compress/decompress, installed again; no TensorFlow needed."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import music_folder


def _music(folder, n=3, seconds=4.0, rate=44100):
    return music_folder(folder, n, seconds, rate, base_hz=330.0, noise=0.05, seed=3, prefix="a")


def _train(runner, *args):
    from muzip.cli import cli
    return runner.invoke(cli, ["train", "-j", "1", "--per-file", "2", *map(str, args)])


def test_blend_keeps_the_base_where_the_music_is_silent():
    from muzip.codec.entropy.ans import TOTAL, counts_from_histogram
    from muzip.train.adapt import blend
    base = counts_from_histogram(np.array([[1.0, 2.0, 5.0, 2.0], [4.0, 3.0, 2.0, 1.0]]))
    hist = np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1e6]])
    out = blend(hist, base, prior=200.0)
    assert out.dtype == np.uint32 and np.all(out.sum(axis=1) == TOTAL) and out.min() >= 1
    assert np.abs(out[0].astype(np.int64) - base[0]).max() <= 4     # nothing seen: the base's row
    assert out[1, 3] / TOTAL > 0.99 and out[1, 0] < base[1, 0]        # plenty seen: the music's


def test_train_from_the_default_counts_tables(runner, tmp_path):
    from muzip.cli import cli
    from muzip.codec import installed_models, load_model
    from muzip.defaults import DEFAULT_MODEL, TRAIN_FROM
    from muzip.runtime import model_folder
    assert TRAIN_FROM == DEFAULT_MODEL
    music = _music(tmp_path / "music")
    r = _train(runner, music, "--name", "ad-t", "--json", "--steps", "5")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["method"] == "tables" and res["from"] == DEFAULT_MODEL and res["steps"] == 0
    assert "no network to train" in r.stderr  # --steps does not apply: said once
    assert res["holdout_files"] == 1 and set(res["before"]) == set(res["after"]) == {"24", "64"}
    for kbps, m in res["after"].items():  # the real codec's bitrate, a finite distance
        assert abs(m["kbps"] - float(kbps)) / float(kbps) < 0.25 and np.isfinite(m["mel"])
    assert "ad-t" in installed_models("codec")

    base, new = model_folder(DEFAULT_MODEL), model_folder("ad-t")
    for f in ("config.json", "encoder.weights.h5", "decoder.weights.h5", "runtime.json"):
        assert (base / f).read_bytes() == (new / f).read_bytes(), f
    adapted, shipped = load_model("ad-t"), load_model(DEFAULT_MODEL)
    assert adapted.digest != shipped.digest
    assert not np.array_equal(adapted.counts.latents, shipped.counts.latents)
    assert not np.array_equal(adapted.gain_counts, shipped.gain_counts)
    with np.load(new / "tables.npz", allow_pickle=False) as t, np.load(base / "tables.npz", allow_pickle=False) as b:
        assert np.array_equal(t["encoder_log_gain"], b["encoder_log_gain"])
    card = (new / "MODEL.md").read_text()
    assert f"`{DEFAULT_MODEL}`" in card and "| 24 |" in card and "blended with the base's" in card
    training = json.loads((new / "training.json").read_text())
    assert training["method"] == "tables" and training["counted"]["latent_symbols"] > 0

    first = tmp_path / "first.mz"
    r = runner.invoke(cli, ["compress", "-q", "--model", "ad-t", "-b", "24", str(music / "a1.wav"), "-o", str(first)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["info", str(first)])
    assert "ad-t" in r.output

    r = _train(runner, music, "--name", "ad-t", "--json")  # the same run again: nothing to count
    assert r.exit_code == 0 and "already counted and installed" in r.stderr
    assert json.loads(r.stdout)["after"] == res["after"] and load_model("ad-t").digest == adapted.digest
    assert json.loads(r.stdout)["earlier"] is True
    r = _train(runner, music, "--name", "ad-t")  # said as the earlier result, not as work just done (session 61)
    assert r.exit_code == 0 and re.search(r"ad-t: tables counted in \d+ s earlier, installed in", r.stderr), r.output

    r = _train(runner, music, "--name", "ad-t", "--from", "no-such-model")  # not "use --restart": not installed
    assert r.exit_code == 2 and "'no-such-model' is not installed" in r.output and "--restart" not in r.output

    # A new collection, the same name: refused without --restart (it gave back the first music's model)...
    r = _train(runner, _music(tmp_path / "more", n=4, seconds=3.0), "--name", "ad-t", "-q")
    assert r.exit_code == 2 and f"trained on {music}, not {tmp_path / 'more'} (use --restart" in r.output, r.output
    # ...and installed again with it, the first version kept for its files.
    r = _train(runner, tmp_path / "more", "--name", "ad-t", "--restart", "-q", "--json")
    assert r.exit_code == 0, r.output
    assert load_model("ad-t").digest != adapted.digest
    r = runner.invoke(cli, ["decompress", "-q", str(first), "-o", str(tmp_path / "first.wav")])
    assert r.exit_code == 0, r.output
    out, rate = sf.read(tmp_path / "first.wav")
    assert rate == 44100 and out.shape == sf.read(music / "a1.wav")[0].shape


def test_train_from_the_default_never_imports_tensorflow(tmp_path):
    import os
    music = _music(tmp_path / "m", n=2, seconds=3.0)
    code = ("import sys; from muzip.cli import cli\n"
            "try:\n    cli(['train', '-q', '-j', '1', '--per-file', '1', sys.argv[1], '--name', 'ad-notf'])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(music)], capture_output=True, text=True, env=os.environ)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("base", ["muzip-v2.1", "muzip-v2.3"])
def test_models_it_cannot_fit_are_refused(runner, tmp_path, base):
    r = _train(runner, _music(tmp_path / "m", n=2, seconds=2.5), "--name", "x", "--from", base)
    assert r.exit_code == 2 and "cannot fit this kind of model" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_an_unreadable_held_out_file_is_left_out_not_fatal(runner, tmp_path, monkeypatch):
    """A broken file drawn for the held-out set ended the run at its first measurement, and every re-run."""
    from muzip.train import data
    music = _music(tmp_path / "music", n=3, seconds=3.0)
    bad = music / "zz_broken.mp3"
    bad.write_bytes(b"ID3" + b"\x00" * 400)
    real = data.split_holdout
    monkeypatch.setattr(data, "split_holdout", lambda files: (
        [f for f in real(files)[0] + real(files)[1] if f != str(bad)][:-1],
        [str(bad), sorted(f for f in files if f != str(bad))[-1]]))
    r = _train(runner, music, "--name", "ad-bad", "--json")
    assert r.exit_code == 3, r.output  # done, with a warning naming the file
    assert "zz_broken.mp3" in r.stderr and "Traceback" not in r.output
    assert json.loads(r.stdout)["holdout_files"] == 1
    assert r.stderr.count("zz_broken.mp3") == 1 and "(not measured)" in r.stderr  # one line, named once


def test_a_file_too_short_to_train_on_is_named(runner, tmp_path, monkeypatch):
    """A file under one 2-s segment (or empty of audio) was left out of training without a word."""
    from muzip.train import data
    music = _music(tmp_path / "music", n=3, seconds=3.0)
    sf.write(music / "a_short.wav", np.zeros((44100, 2), np.float32), 44100)
    monkeypatch.setattr(data, "split_holdout", lambda files: (sorted(files)[1:], sorted(files)[:1]))
    r = _train(runner, music, "--name", "ad-short", "--json")
    assert r.exit_code == 3, r.output
    assert "a_short.wav: shorter than a 2-s training segment (not trained on)" in r.stderr
