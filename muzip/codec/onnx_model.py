"""The codec model on onnxruntime (CPU): the default, lean inference path (no TensorFlow, no Keras)."""

from __future__ import annotations

from ..runtime.session import open_session
from .model import CodecModel


class OnnxCodecModel(CodecModel):
    backend = "onnx"
    # onnxruntime releases the GIL while it runs: with one call per core in flight the cores stay busy
    # through each call's serial stretches and the caller's entropy decoding (CodecModel.submit_decode).
    threaded = True

    def __init__(self, name: str, config, digest: bytes, counts, gain_counts=None):
        super().__init__(name, config, digest, counts, gain_counts)
        self._sessions = {}

    def _prepare(self, part: str) -> None:
        self._session(part)

    def _session(self, part: str):
        # Sessions are made on first use: compress never pays for the decoder, nor decompress for the encoder.
        if part not in self._sessions:
            # One thread per call: the decoder runs one call per core at once (submit_decode), the encoder
            # one call beside the entropy coder (submit_encode). 25% faster on 2 cores than one call on two
            # threads, whose serial stretches leave a core idle.
            sess = open_session(self.name, f"{part}.onnx", threads=1)
            self._sessions[part] = (sess, [i.name for i in sess.get_inputs()], sess.get_outputs()[0].name)
        return self._sessions[part]

    def _run_encoder(self, audio):
        sess, (inp,), out = self._session("encoder")
        return sess.run([out], {inp: audio})[0]

    def _run_decoder(self, latents, noise):
        sess, (lat_name, noise_name), out = self._session("decoder")
        return sess.run([out], {lat_name: latents, noise_name: noise})[0]
