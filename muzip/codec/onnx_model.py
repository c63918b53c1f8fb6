"""The codec model on onnxruntime (CPU): the default, lean inference path (no TensorFlow, no Keras)."""

from __future__ import annotations

from ..runtime.session import cpu_threads
from ..runtime.session import open_session
from .model import CodecModel


class OnnxCodecModel(CodecModel):
    backend = "onnx"

    def __init__(self, name: str, config, digest: bytes, counts, gain_counts=None):
        super().__init__(name, config, digest, counts, gain_counts)
        self._sessions = {}
        self._pool = None
        self._encode_pool = None

    def decode_concurrency(self) -> int:
        return cpu_threads()

    def submit_decode(self, latents, first_latent, gains=None, envelope=None):
        # onnxruntime releases the GIL while it runs: with one call per core in flight the cores stay busy
        # through each call's serial stretches and the caller's entropy decoding (measured: 10 minutes
        # decode in ~25% less time on 2 cores than with calls one after another; docs/EXPERIMENTS.md).
        if cpu_threads() < 2:
            return super().submit_decode(latents, first_latent, gains, envelope)
        self._session("decoder")  # made here, once, not raced by the pool's threads
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(cpu_threads(), thread_name_prefix="muzip-decode")
        return self._pool.submit(self.decode, latents, first_latent, gains, envelope)

    def submit_encode(self, audio):
        # One call in flight while the caller entropy-codes the group before it (see _encode_groups).
        if cpu_threads() < 2:
            return super().submit_encode(audio)
        self._session("encoder")
        if self._encode_pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._encode_pool = ThreadPoolExecutor(1, thread_name_prefix="muzip-encode")
        return self._encode_pool.submit(self.encode, audio)

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
