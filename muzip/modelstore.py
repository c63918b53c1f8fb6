"""Installed models: find, verify (sha256) and load them. The only module that imports Keras at load time.

A model is a folder models/NAME/ holding config.json, encoder.weights.h5, decoder.weights.h5
(Keras weights, HDF5: no pickle), tables.npz (integer entropy tables, loaded with allow_pickle=False),
SHA256SUMS (one line per file) and MODEL.md. The model's identity in .mz headers is its name plus the
sha256 of its SHA256SUMS file, so a file is never decoded with different weights than it was made with.
"""

import contextlib
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelError

DEFAULT_MODEL = "muzip-v1"
MODEL_FILES = ("config.json", "encoder.weights.h5", "decoder.weights.h5", "tables.npz")


def models_dir() -> Path:
    """$MUZIP_MODELS, else the models/ folder shipped beside the package."""
    env = os.environ.get("MUZIP_MODELS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models"


def installed_models() -> list[str]:
    root = models_dir()
    return sorted(p.name for p in root.iterdir() if (p / "SHA256SUMS").is_file()) if root.is_dir() else []


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_digest(name: str) -> bytes:
    """The 32-byte identity of an installed model (sha256 of its SHA256SUMS)."""
    sums = models_dir() / name / "SHA256SUMS"
    if not sums.is_file():
        raise ModelError(f"model '{name}' is not installed (looked in {models_dir()}; installed: {', '.join(installed_models()) or 'none'})")
    return hashlib.sha256(sums.read_bytes()).digest()


def verify(name: str) -> None:
    """Check every file against SHA256SUMS; ModelError on any mismatch."""
    folder = models_dir() / name
    model_digest(name)
    listed = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, _, fname = line.strip().partition("  ")
        listed[fname] = digest
    for fname in MODEL_FILES:
        if fname not in listed:
            raise ModelError(f"model '{name}': {fname} is not listed in SHA256SUMS")
        path = folder / fname
        if not path.is_file() or _sha256(path) != listed[fname]:
            raise ModelError(f"model '{name}': {fname} is missing or does not match its sha256")


def write_sha256sums(folder: Path) -> None:
    lines = [f"{_sha256(folder / f)}  {f}" for f in MODEL_FILES]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


@dataclass
class CodecModel:
    name: str
    config: dict
    digest: bytes
    counts: np.ndarray
    encoder: object = field(repr=False)
    decoder: object = field(repr=False)

    @property
    def sha256(self) -> str:
        return self.digest.hex()

    @property
    def coder(self):
        """The entropy coder for this model's tables, built once (its constriction models are cached)."""
        if "_coder" not in self.__dict__:
            from .entropy import LatentCoder
            self.__dict__["_coder"] = LatentCoder(self.counts, self.config["alphabet_radius"])
        return self.__dict__["_coder"]

    def steps(self) -> np.ndarray:
        from .model import level_steps
        return level_steps(self.config)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """(A, T, 1) float32 -> latents (A, T/hop + 1, C) float32."""
        return np.asarray(self.encoder(audio, training=False))

    def decode(self, latents: np.ndarray, first_latent: int) -> np.ndarray:
        """(A, N, C) float32 whose first latent has absolute index first_latent -> audio (A, (N-1)*hop).

        Zero latents (silence, concealed frames) decode to exact zeros."""
        from .model import decoder_noise
        noise = np.stack([decoder_noise(self.config, first_latent, latents.shape[1], a) for a in range(latents.shape[0])])
        return np.asarray(self.decoder([latents, noise], training=False))[:, :, 0]


@contextlib.contextmanager
def _quiet_native_stderr():
    """TensorFlow's C++ start-up chatter goes to fd 2 before any setting can stop it; mute it briefly."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    sys.stderr.flush()
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure_backend() -> None:
    """CPU unless the user opts in (MUZIP_DEVICE=gpu); quiet TensorFlow; optional MUZIP_THREADS."""
    if os.environ.get("MUZIP_DEVICE", "cpu").lower() != "gpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    threads = os.environ.get("MUZIP_THREADS")
    if threads and os.environ["KERAS_BACKEND"] == "tensorflow":
        with _quiet_native_stderr():
            import tensorflow as tf  # backend set-up only; the network itself is backend-agnostic
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError:
            pass  # already initialised in this process


def load_model(name: str | None = None) -> CodecModel:
    name = name or DEFAULT_MODEL
    config, counts, digest = load_tables(name)
    folder = models_dir() / name
    configure_backend()
    with _quiet_native_stderr():
        from .model import build_decoder, build_encoder

    encoder, decoder = build_encoder(config), build_decoder(config)
    try:
        encoder.load_weights(folder / "encoder.weights.h5")
        decoder.load_weights(folder / "decoder.weights.h5")
    except Exception as exc:
        raise ModelError(f"model '{name}': cannot load weights ({exc})") from None
    return CodecModel(name, config, digest, counts, encoder, decoder)


def load_tables(name: str):
    """(config, counts, digest) of an installed model without loading Keras (for `muzip test`)."""
    verify(name)
    folder = models_dir() / name
    config = json.loads((folder / "config.json").read_text())
    with np.load(folder / "tables.npz", allow_pickle=False) as tables:
        counts = tables["counts"]
    return config, counts, model_digest(name)
