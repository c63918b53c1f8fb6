"""The lean runtime: onnxruntime matches the Keras reference, the model store only loads installed
models by plain name, and no inference command imports TensorFlow or Keras."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from muzip.codec import compress_array, decompress_bytes, to_mid_side
from muzip.errors import ModelError
from muzip.runtime import identity_digest, resolve_name
from muzip.codec import installed_models, load_model

from conftest import DATA, sine

# Stated tolerances (docs: README "Runtime"): decoded audio within 1e-5 absolute and 100 dB SNR of Keras;
# encoder symbols equal except rounding ties (latents within 1e-5 of a half step), none seen on the clip.
MAX_ABS, MIN_SNR_DB, TIE = 1e-5, 100.0, 1e-5


def test_onnx_decoder_matches_keras(model, keras_model, clip):
    audio, sr = clip
    hop = model.config["hop"]
    ms = to_mid_side(audio[: len(audio) // hop * hop])[:, :, None]
    y = keras_model.encode(ms)
    step = model.steps()[24]
    lat = (np.round(y / step) * step).astype(np.float32)
    ref, got = keras_model.decode(lat, 7), model.decode(lat, 7)
    err = (ref - got).astype(np.float64)
    assert np.abs(err).max() < MAX_ABS
    assert 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum(err ** 2)) > MIN_SNR_DB


def test_onnx_encoder_symbols_match_keras_except_ties(model, keras_model, clip):
    audio, sr = clip
    hop = model.config["hop"]
    ms = to_mid_side(audio[: len(audio) // hop * hop])[:, :, None]
    yk, yo = keras_model.encode(ms), model.encode(ms)
    for step in model.steps()[::8]:
        differ = np.round(yk / step) != np.round(yo / step)
        ties = np.abs(np.abs(yk / step - np.floor(yk / step)) - 0.5) < TIE / step
        assert not np.any(differ & ~ties)  # every difference is a rounding tie
        assert np.count_nonzero(differ) <= np.count_nonzero(ties)


def test_whole_codec_matches_between_backends(model, keras_model, clip):
    audio, sr = clip
    a = compress_array(audio[: 4 * sr], sr, 32, model=model)
    b = compress_array(audio[: 4 * sr], sr, 32, model=keras_model)
    assert a == b  # no ties on this clip: identical files
    x, _ = decompress_bytes(a, model=model)
    y, _ = decompress_bytes(a, model=keras_model)
    assert np.abs(x - y).max() < MAX_ABS


def test_golden_files_decode_the_same_on_both_backends(model, keras_model):
    from conftest import shipped_codecs
    for name in shipped_codecs():  # a model another test trained has no golden file
        mz = (DATA / "golden" / f"{name}.mz").read_bytes()
        x, _ = decompress_bytes(mz, model=load_model(name))
        y, _ = decompress_bytes(mz, model=load_model(name, backend_name="keras"))
        assert np.abs(x - y).max() < MAX_ABS


def test_identity_does_not_change_when_runtime_files_are_listed():
    # muzip 1.0 files carry sha256(SHA256SUMS of the four codec files); 1.1 added the ONNX lines.
    golden = json.loads((DATA / "golden" / "muzip-v1.json").read_text())
    assert identity_digest("muzip-v1").hex() == golden["model_sha256"]


@pytest.mark.parametrize("name", ["../models/muzip-v1", "/etc", "muzip-v1/../muzip-v1", "..", ".", "",
                                  "muzip-v1\x00", "a" * 300, "no-such-model"])
def test_model_names_are_names_not_paths(name):
    with pytest.raises(ModelError) as e:
        resolve_name(name)
    assert "not installed" in str(e.value)


def test_a_file_naming_a_path_as_its_model_is_refused(model, tmp_path):
    import io
    from muzip.container import ContainerReader, Header, encode_header
    data = compress_array(sine(440, 1, 44100), 44100, 32, model=model)
    h = ContainerReader(io.BytesIO(data)).header
    size = len(encode_header(h))
    h.model_id = str(tmp_path)  # an absolute path: must not be loaded from
    evil = encode_header(h) + data[size:]
    with pytest.raises(ModelError):
        decompress_bytes(evil)


def _tampered_v1(tmp_path, monkeypatch):
    """A copy of muzip-v1 with two bytes of its decoder.onnx changed, as the only models folder."""
    import shutil
    from muzip.runtime import models_dir
    shutil.copytree(models_dir() / "muzip-v1", tmp_path / "muzip-v1")
    with open(tmp_path / "muzip-v1" / "decoder.onnx", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    monkeypatch.setenv("MUZIP_MODELS", str(tmp_path))


def test_tampered_runtime_file_is_refused(tmp_path, monkeypatch):
    _tampered_v1(tmp_path, monkeypatch)
    model = load_model("muzip-v1")  # each network is checked when first used, from the bytes it runs
    model.encode(np.zeros((1, 44100, 1), np.float32))
    with pytest.raises(ModelError, match="decoder.onnx"):
        model.decode(np.zeros((1, 10, 252), np.float32), 0)


def test_tampered_level_tables_are_refused(tmp_path, monkeypatch):
    import shutil
    from muzip.runtime import models_dir
    shutil.copytree(models_dir() / "muzip-v1", tmp_path / "muzip-v1")
    with open(tmp_path / "muzip-v1" / "tables.levels.npz", "r+b") as f:
        f.seek(5000)
        f.write(b"\x00\x01")
    monkeypatch.setenv("MUZIP_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="tables.levels.npz"):
        load_model("muzip-v1")


def test_level_tables_equal_the_codec_tables(model):
    from muzip.runtime import models_dir
    from muzip.codec.entropy.tables import LevelTables
    with np.load(models_dir() / "muzip-v1" / "tables.npz") as z:
        counts = z["counts"]
    assert isinstance(model.counts, LevelTables)
    assert model.counts.shape == counts.shape
    np.testing.assert_array_equal(np.asarray(model.counts), counts)


_PROBE = r"""
import json, sys
from muzip.cli import cli
args = sys.argv[1:]
try:
    cli(args, prog_name="muzip")
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "tf": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}),
      file=sys.stderr)
"""


def test_no_inference_command_imports_tensorflow_or_keras(model, tmp_path):
    import soundfile as sf
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(440, 2, 44100, 2), 44100)
    runs = [["compress", "-q", str(wav)], ["info", str(tmp_path / "a.mz")], ["test", str(tmp_path / "a.mz")],
            ["decompress", "-q", str(tmp_path / "a.mz"), "-o", str(tmp_path / "b.wav")],
            ["eval", "--no-visqol", str(wav), str(tmp_path / "a.mz")], ["models"], ["--help"]]
    if "restore-v1" in installed_models("restorer"):
        from muzip.restore.pairs import mp3_bytes
        (tmp_path / "a.mp3").write_bytes(mp3_bytes(sine(440, 2, 44100, 2), 44100, 24))
        runs.append(["restore", "-q", str(tmp_path / "a.mp3")])
    env = dict(os.environ)
    env.pop("MUZIP_BACKEND", None)
    for args in runs:
        p = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env,
                           timeout=120)
        res = json.loads(p.stderr.strip().splitlines()[-1])
        assert res["code"] in (0, None), (args, p.stderr)
        assert not res["tf"] and not res["keras"], args


def test_models_says_plainly_which_model_is_damaged(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from muzip.cli import cli
    _tampered_v1(tmp_path, monkeypatch)
    r = CliRunner().invoke(cli, ["models"])
    assert r.exit_code == 1 and "muzip-v1: " in r.output and "FILES DAMAGED (" in r.output, r.output
    assert "files model" not in r.output  # it read "files model 'muzip-v1': ..."


def test_models_says_when_a_damaged_file_is_one_the_runtime_never_reads(tmp_path, monkeypatch):
    """Session 56: a network-free model's Keras weights are read only by the Keras backend and training; with
    them damaged, `models` still says DAMAGED (exit 1), and that the model codes and decodes, as it does."""
    import shutil

    import soundfile as sf
    from click.testing import CliRunner

    from muzip.cli import cli
    from muzip.runtime import models_dir
    shutil.copytree(models_dir() / "muzip-v2.7", tmp_path / "models" / "muzip-v2.7")
    with open(tmp_path / "models" / "muzip-v2.7" / "encoder.weights.h5", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    monkeypatch.setenv("MUZIP_MODELS", str(tmp_path / "models"))
    runner = CliRunner()
    r = runner.invoke(cli, ["models"])
    assert r.exit_code == 1 and "FILES DAMAGED (model 'muzip-v2.7': encoder.weights.h5" in r.output, r.output
    assert "it still codes and decodes" in r.output
    sf.write(tmp_path / "a.wav", sine(440, 2, 44100, 2), 44100)
    r = runner.invoke(cli, ["compress", "-q", "--model", "muzip-v2.7", str(tmp_path / "a.wav")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "models" / "muzip-v2.7" / "tables.npz", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    r = runner.invoke(cli, ["models"])
    assert r.exit_code == 1 and "it still codes" not in r.output, r.output


def test_models_says_it_still_codes_only_where_it_does(tmp_path, monkeypatch):
    """The note is for a damaged weights file of an exported (or network-free) model; a Keras-only model needs
    that file to code at all, and a shipped model whose files differ from what shipped is refused whole."""
    import shutil

    from click.testing import CliRunner

    from muzip.cli import cli
    from muzip.runtime import models_dir
    user = tmp_path / "user"
    for name in ("exported", "konly"):
        shutil.copytree(models_dir() / "muzip-v1", user / name)
        with open(user / name / "encoder.weights.h5", "r+b") as f:
            f.seek(1000)
            f.write(b"\x00\x01")
    sums = user / "konly" / "SHA256SUMS"
    sums.write_text("".join(line + "\n" for line in sums.read_text().splitlines() if ".onnx" not in line))
    for f in ("encoder.onnx", "decoder.onnx"):
        (user / "konly" / f).unlink()
    monkeypatch.setenv("MUZIP_USER_MODELS", str(user))
    lines = {line.split(":")[0]: line for line in CliRunner().invoke(cli, ["models"]).stdout.splitlines()}
    assert "FILES DAMAGED" in lines["exported"] and "it still codes and decodes" in lines["exported"]
    assert "FILES DAMAGED" in lines["konly"] and "it still codes" not in lines["konly"]


def test_onnxruntime_keeps_no_device_id_or_telemetry_in_the_users_home(tmp_path):
    """onnxruntime 1.32 writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} (queued
    telemetry events: OS, CPU, memory, that id) as it is imported; muzip turns that off (a review, session 61)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "ORT_DISABLE_TELEMETRY")}
    code = ("import muzip.runtime.session as s, onnxruntime; "
            "s.open_session('muzip-v1', 'decoder.onnx')")
    subprocess.run([sys.executable, "-c", code], env={**env, "HOME": str(tmp_path)}, check=True, timeout=120)
    assert not (tmp_path / ".cache" / "Microsoft").exists(), sorted(str(p) for p in tmp_path.rglob("*"))
