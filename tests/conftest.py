"""Shared fixtures: the shipped model (loaded once), the real test clip, seeded RNG, signal makers."""

import atexit
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
# Models `muzip train` installs go to a folder of this test session, never the user's own (subprocesses
# inherit it); both go when the session ends (each run left ~13 MB in /tmp before session 54).
for _name, _prefix in (("MUZIP_USER_MODELS", "muzip-user-models-"), ("MUZIP_TRAIN_RUNS", "muzip-train-runs-")):
    os.environ[_name] = tempfile.mkdtemp(prefix=_prefix)
    atexit.register(shutil.rmtree, os.environ[_name], ignore_errors=True)
CLIP = DATA / "knolls_excerpt.ogg"


def shipped_codecs() -> list:
    """The codec models in muzip's own folder, not ones `muzip train` installed for the user (other tests')."""
    from muzip.codec import installed_models
    from muzip.runtime import model_roots
    from muzip.runtime.store import model_folder
    return [n for n in installed_models("codec") if model_folder(n).parent == model_roots()[0]]


@pytest.fixture(scope="session")
def model():
    """muzip-v1 on the default (onnxruntime) backend: the codec tests' model (named: the default could change)."""
    from muzip.codec import load_model
    return load_model("muzip-v1")


@pytest.fixture(scope="session")
def keras_model():
    """The Keras reference of the same model (skipped where muzip[train] is not installed)."""
    pytest.importorskip("keras")
    from muzip.codec import load_model
    return load_model("muzip-v1", backend_name="keras")


@pytest.fixture
def runner():
    from click.testing import CliRunner
    return CliRunner()


@pytest.fixture(scope="session")
def default_model():
    """The model compress uses without --model, on onnxruntime."""
    from muzip.codec import load_model
    return load_model()


@pytest.fixture
def fast_model(monkeypatch, default_model):
    """The CLI's model cache starts with the already loaded default model (workers inherit it by fork)."""
    import muzip.cli.codec_jobs as jobs
    monkeypatch.setattr(jobs, "_MODELS", {default_model.name: default_model})
    return default_model


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def clip():
    import soundfile as sf
    audio, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    return audio, sr


def sine(freq, seconds, rate, channels=1, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    x = amp * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def music_folder(folder, n=3, seconds=4.0, rate=44100, base_hz=220.0, noise=0.02, seed=7, prefix="t"):
    """n stereo WAVs (prefix0.wav ...): a tone of base_hz x (i + 1) under white noise; the folder."""
    import soundfile as sf
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        x = sine(base_hz * (i + 1), seconds, rate, 2) + noise * rng.standard_normal((int(seconds * rate), 2))
        sf.write(folder / f"{prefix}{i}.wav", x.astype(np.float32), rate)
    return folder


@pytest.fixture
def write_wav(tmp_path):
    import soundfile as sf

    def write(name, audio, rate, subtype="PCM_16"):
        path = tmp_path / name
        sf.write(path, audio, rate, subtype=subtype)
        return str(path)
    return write


class NonSeekable(io.RawIOBase):
    """A write-only stream that cannot seek: stands for a pipe."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        self.buf += bytes(b)
        return len(b)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
