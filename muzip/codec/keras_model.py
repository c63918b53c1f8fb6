"""The Keras reference model (MUZIP_BACKEND=keras): the definition the ONNX files are exported from."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from ..nn.backend import configure_backend, quiet_native_stderr
from .model import CodecModel


class KerasCodecModel(CodecModel):
    backend = "keras"

    def __init__(self, name, config, digest, counts, encoder, decoder, gain_counts=None):
        super().__init__(name, config, digest, counts, gain_counts)
        self.encoder, self.decoder = encoder, decoder

    @classmethod
    def load(cls, name: str, folder: Path, config, digest: bytes, counts, gain_counts=None):
        configure_backend()
        try:
            with quiet_native_stderr():
                from ..nn.codec_net import build_decoder, build_encoder
        except ImportError as exc:
            raise ModelError(f"MUZIP_BACKEND=keras needs Keras and a backend (pip install 'muzip[train]'): {exc}") from None
        encoder, decoder = build_encoder(config), build_decoder(config)
        try:
            encoder.load_weights(folder / "encoder.weights.h5")
            decoder.load_weights(folder / "decoder.weights.h5")
        except Exception as exc:  # noqa: BLE001 - h5py/keras raise assorted types
            raise ModelError(f"model '{name}': cannot load weights ({exc})") from None
        return cls(name, config, digest, counts, encoder, decoder, gain_counts)

    def _run_encoder(self, audio):
        return self.encoder(audio, training=False)

    def _run_decoder(self, latents, noise):
        return self.decoder([latents, noise], training=False)
