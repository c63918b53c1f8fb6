"""A model's identity covers every file that runs: a replaced decoder.onnx (SHA256SUMS rewritten to match)
never decodes a file made before; shipped models are pinned; an install keeps the version it replaces."""

import shutil

import numpy as np
import pytest

from muzip.codec import compress_array, decompress_bytes, load_model
from muzip.errors import ModelError
from muzip.runtime import identity, models_dir, write_sha256sums
from muzip.runtime.store import RUNTIME_FILES, installed_models, keep_replaced, user_models_dir

from conftest import sine


def _replace_decoder(folder, donor="muzip-v2"):
    """Another model's decoder.onnx in its place, and SHA256SUMS rewritten so every file verifies."""
    shutil.copy(models_dir() / donor / "decoder.onnx", folder / "decoder.onnx")
    write_sha256sums(folder)


@pytest.fixture
def user_copy(tmp_path, monkeypatch):
    """muzip-v1's files installed as the user model 'mine'."""
    root = tmp_path / "user"
    shutil.copytree(models_dir() / "muzip-v1", root / "mine")
    monkeypatch.setenv("MUZIP_USER_MODELS", str(root))
    return root / "mine"


def test_the_identity_covers_every_runtime_file(user_copy):
    before = identity.identity_digest("mine")
    assert before == identity.runtime_digest("mine") != identity.legacy_digest("mine")
    for fname in RUNTIME_FILES:
        data = (user_copy / fname).read_bytes()
        (user_copy / fname).write_bytes(data + b"\0")  # any change of a file that runs
        write_sha256sums(user_copy)
        assert identity.identity_digest("mine") != before, fname
        (user_copy / fname).write_bytes(data)
        write_sha256sums(user_copy)
    assert identity.identity_digest("mine") == before


def test_a_replaced_decoder_does_not_decode_older_files(user_copy):
    data = compress_array(sine(440, 2, 44100), 44100, 24, model=load_model("mine"))
    decompress_bytes(data)  # the header names 'mine': loaded by name and identity
    _replace_decoder(user_copy)
    with pytest.raises(ModelError, match="file was made with model 'mine'"):
        decompress_bytes(data)


def test_the_cli_refuses_it_in_one_line(user_copy, runner, tmp_path):
    """muzip decompress in a fresh process: one line, exit 1, no output."""
    from muzip.cli import cli
    (tmp_path / "a.mz").write_bytes(compress_array(sine(440, 2, 44100), 44100, 24, model=load_model("mine")))
    _replace_decoder(user_copy)
    r = runner.invoke(cli, ["decompress", "-q", str(tmp_path / "a.mz"), "-o", str(tmp_path / "b.wav")])
    assert r.exit_code == 1 and not (tmp_path / "b.wav").exists()
    assert r.output.count("\n") == 1 and "file was made with model 'mine'" in r.output and "Traceback" not in r.output


def test_a_shipped_model_is_pinned(tmp_path, monkeypatch):
    shutil.copytree(models_dir() / "muzip-v1", tmp_path / "muzip-v1")
    _replace_decoder(tmp_path / "muzip-v1")
    monkeypatch.setenv("MUZIP_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="not the ones muzip shipped"):
        load_model("muzip-v1")


def test_muzip_models_lists_an_altered_shipped_model_with_its_problem(tmp_path, monkeypatch, runner):
    from muzip.cli import cli
    shutil.copytree(models_dir() / "muzip-v1", tmp_path / "muzip-v1")
    _replace_decoder(tmp_path / "muzip-v1")
    monkeypatch.setenv("MUZIP_MODELS", str(tmp_path))
    r = runner.invoke(cli, ["models"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "muzip-v1" in r.output and "not the ones muzip shipped" in r.output


def test_shipped_models_keep_the_identity_their_files_carry():
    for name, (carried, whole) in identity.SHIPPED_CODECS.items():
        assert identity.identity_digest(name).hex() == carried
        assert identity.runtime_digest(name).hex() == whole
        if carried != whole:  # shipped before 1.2: its files carry the narrower identity
            assert identity.legacy_digest(name).hex() == carried
    assert identity.SHIPPED_CODECS["muzip-v2.2"][0] == identity.SHIPPED_CODECS["muzip-v2.2"][1]


def test_shipped_names_are_never_a_users(monkeypatch):
    from muzip.train.pipeline import check_name
    from muzip.train.run import TrainUsageError
    monkeypatch.setenv("MUZIP_USER_MODELS", str(models_dir()))  # even pointed at the shipped folder
    for name in identity.SHIPPED_NAMES:
        with pytest.raises(TrainUsageError, match="shipped model"):
            check_name(name, None)
    assert not identity.is_shipped_name("my-jazz")


def test_install_refuses_a_shipped_name(monkeypatch, tmp_path):
    from muzip.train.install import install
    monkeypatch.setenv("MUZIP_USER_MODELS", str(models_dir()))
    before = (models_dir() / "muzip-v1" / "SHA256SUMS").read_bytes()
    with pytest.raises(ModelError, match="never replaced"):
        install("muzip-v1", models_dir(), None, None, {}, np.zeros(1), np.zeros(1), None, {})
    assert (models_dir() / "muzip-v1" / "SHA256SUMS").read_bytes() == before


def test_a_replaced_version_is_kept_and_still_decodes(user_copy):
    old = compress_array(sine(440, 2, 44100), 44100, 24, model=load_model("mine"))
    kept = keep_replaced(user_copy.parent, "mine", identity.identity_digest("mine"))
    shutil.copytree(models_dir() / "muzip-v1", user_copy)  # the new version: its config differs
    config = user_copy / "config.json"
    config.write_text(config.read_text().rstrip().rstrip("}") + ', "note": "version 2"}')
    write_sha256sums(user_copy)
    assert installed_models().count("mine") == 1 and not [m for m in installed_models() if "~" in m]
    assert kept.parent == user_models_dir() / ".replaced"
    audio, rate = decompress_bytes(old)  # found by the identity the file names
    assert rate == 44100 and audio.shape == (88200, 1)
    new = compress_array(sine(440, 2, 44100), 44100, 24, model=load_model("mine"))
    assert decompress_bytes(new)[0].shape == (88200, 1)
    assert load_model("mine").digest != load_model(kept.name).digest
