"""The Keras reference model (MUZIP_BACKEND=keras): the definition the ONNX files are exported from."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from ..errors import ModelError
from .base import CodecModelBase


@contextlib.contextmanager
def quiet_native_stderr():
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
        with quiet_native_stderr():
            import tensorflow as tf  # backend set-up only; the network itself is backend-agnostic
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(int(threads))
        except RuntimeError:
            pass  # already initialised in this process


class KerasCodecModel(CodecModelBase):
    backend = "keras"

    def __init__(self, name, config, digest, counts, encoder, decoder):
        super().__init__(name, config, digest, counts)
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def load(cls, name: str, folder: Path, config: dict, digest: bytes, counts):
        configure_backend()
        try:
            with quiet_native_stderr():
                from ..model import build_decoder, build_encoder
        except ImportError as exc:
            raise ModelError(f"MUZIP_BACKEND=keras needs Keras and a backend (pip install 'muzip[train]'): {exc}") from None
        encoder, decoder = build_encoder(config), build_decoder(config)
        try:
            encoder.load_weights(folder / "encoder.weights.h5")
            decoder.load_weights(folder / "decoder.weights.h5")
        except Exception as exc:  # noqa: BLE001 - h5py/keras raise assorted types
            raise ModelError(f"model '{name}': cannot load weights ({exc})") from None
        return cls(name, config, digest, counts, encoder, decoder)

    def _run_encoder(self, audio):
        return self.encoder(audio, training=False)

    def _run_decoder(self, latents, noise):
        return self.decoder([latents, noise], training=False)
