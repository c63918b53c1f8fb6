"""Encoder side of band gains (codec.band_gains), run beside the rate controller rather than inside it.

A frame's gain symbols compare the original with what the decoder will output for that frame, and the
decoder's output depends on the quantized latents either side of it: the previous frame's tail and the
next frame's head. So frame k is analysed once frame k+1's level is chosen, in a worker thread, while
this thread chooses frame k+2's; frames are written in order as their gains arrive. The decoder network
then runs beside the entropy coder instead of between its frames (encode ~25x -> ~50x real time on two
cores), and the analysis sees exactly the latents the decoder will see.

The rate controller books each frame when its level is chosen, at its latent bytes plus the running mean
of gain bytes, and is corrected by the difference when the frame is written (two frames later at most).
"""

from __future__ import annotations

import collections
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .analysis_process import AnalysisProcess
from .model import DoneFuture, receptive_latents
from .payload import join_payload
from .transform import analyze, synthesize


# The share of a frame's bytes the temporal envelope may take (codec.envelope). Uncapped, a frame with many
# attacks took 25 % of the bytes at 6 kbps, and the rate control starved the next frames. With class-banded
# latent coding, 0.10 since session 34 (at 6 kbps ~7 regions a frame: ViSQOL +0.03, the level before attacks
# 1.3 dB lower; neutral from 16 kbps: docs/EXPERIMENTS.md, lever 6). Models with the context coder keep
# 0.05: it spends ~2 kbps on zero latents, and at 6 kbps a frame full of attacks then had no bytes left.
ENVELOPE_SHARE = 0.10
CONTEXT_CODER_ENVELOPE_SHARE = 0.05


def envelope_share(config) -> float:
    """The share of a frame's bytes a model's temporal envelope may take (an encoder choice)."""
    return ENVELOPE_SHARE if config.get("entropy") == "banded" else min(ENVELOPE_SHARE, CONTEXT_CODER_ENVELOPE_SHARE)


@dataclass
class PendingFrame:
    index: int
    num_samples: int
    levels: tuple          # as written in the frame record
    q: np.ndarray          # integer latents (A, n, C); in an analysis job, whether each is non-zero (bool)
    deq: np.ndarray        # dequantized latents (A, n, C), what the decoder will see
    latent_payload: bytes
    audio: np.ndarray      # model-rate (A, (n + 4) * hop) samples, starting two hops before latent 0
    booked: float          # bytes the rate controller was told at choice time
    fill: bytes = b""      # the frame's fill-level bytes (codec.fill_levels), ahead of envelope and gains
    words: object = None   # future of the gain bytes (None: a frame of zero latents has none)


class GainEncoder:
    """push() frames in order as their levels are chosen; write(frame, payload) gets them back in order
    with their gains joined to the payload; finish() flushes; close() drops work not yet started."""

    def __init__(self, model, stride: int, channels: int, write, kbps: float = 64.0, process: bool = False,
                 thread: bool = True):
        """process: analyse in a forked process (codec.analysis_process) rather than a thread: the same
        bytes, on a second core; for one long file compressed alone. thread=False: analyse in the caller's
        thread as frames are pushed, the same bytes: for a process with one core (-j 1, a batch's worker),
        where a second thread's hand-offs of the GIL cost ~10 % more CPU per file."""
        cfg = model.config
        self.model, self.gains, self.stride, self.write = model, model.band_gains, stride, write
        self.R, self.hop, self.per_frame = receptive_latents(cfg), cfg.hop, cfg.latents_per_frame
        self.tail = np.zeros((channels, self.R, cfg.latent_channels), np.float32)
        self.waiting: PendingFrame | None = None  # pushed, analysed once its right neighbour is pushed
        self.in_flight: collections.deque[PendingFrame] = collections.deque()
        # One worker, fed in frame order: the envelope's self.last relies on frames analysed one after another.
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="muzip-gains")
        # Until the first frame's gains are known, a frame's symbols at the mean entropy of the gain tables'
        # contexts: booked at 0, the first frames went ~1 kB a frame over at 16 kbps, and a 10-s file 5-8 %.
        symbols = self.gains.bands * channels * -(-cfg.latents_per_frame // stride)
        self.mean_bytes = symbols * self.gains.mean_bits / 8
        self.measured = False
        self.envelope = model.envelope
        if self.envelope is not None:  # its bytes may take envelope_share() of a frame's, at any bitrate
            frame_bytes = kbps * 1000 / 8 * cfg.frame_samples / cfg.model_rate
            self.env_regions = int((envelope_share(cfg) * frame_bytes - 1) // self.envelope.region_bytes())
        self.last = None  # (frame index, its last vector's coefficients after band gains (A, C)), for envelopes
        if process:  # forked now, with this object complete: the child analyses its own copy of it
            self.pool.shutdown()
            self.pool = AnalysisProcess(self._analyse)
        elif not thread:
            self.pool.shutdown()
            self.pool = _InCallerThread()

    def expected_bytes(self) -> float:
        """What the next frame's gains will probably cost (a running mean: no oscillation)."""
        return self.mean_bytes

    def push(self, frame: PendingFrame) -> None:
        if self.waiting is not None:
            self._submit(self.waiting, frame.deq[:, :self.R])
        self.waiting = frame
        while len(self.in_flight) > 1:  # one analysis runs while the caller chooses the next level
            self._write_oldest()

    def finish(self) -> None:
        if self.waiting is not None:  # the last frame: the decoder sees zeros after it
            self._submit(self.waiting, None)
            self.waiting = None
        while self.in_flight:
            self._write_oldest()
        self.pool.shutdown()

    def close(self) -> None:
        for frame in self.in_flight:
            if frame.words is not None:
                frame.words.cancel()
        self.pool.shutdown(cancel_futures=True)

    def _submit(self, frame: PendingFrame, head) -> None:
        A, R = frame.deq.shape[0], self.R
        right = np.zeros((A, R, frame.deq.shape[2]), np.float32)
        if head is not None:
            right[:, :head.shape[1]] = head
        latents = np.concatenate([self.tail, frame.deq, right], axis=1)
        self.tail = np.concatenate([self.tail, frame.deq], axis=1)[:, -R:]
        if frame.q.any():
            # what _analyse reads (a child process gets only these: no payload, no future); of the latents
            # only which are non-zero (a quarter of the bytes through a process's pipe)
            job = PendingFrame(frame.index, frame.num_samples, frame.levels, frame.q != 0, None, b"", frame.audio, 0.0)
            frame.words = self.pool.submit(self._analyse, job, latents)
        self.in_flight.append(frame)

    def _analyse(self, frame: PendingFrame, latents: np.ndarray) -> bytes:
        R, n, gains, H = self.R, frame.q.shape[1], self.gains, self.hop
        first = self.per_frame * frame.index - R
        coeffs = self.model.decode_coefficients(latents, first)
        decoded = coeffs[:, R:R + n]
        # The source's MDCT from latent -1 (frame.audio starts two hops before latent 0): the envelope's
        # look-ahead, and the band gains' n vectors, bit for bit what analysing just theirs gives.
        spectrum = analyze(frame.audio, H)
        original = spectrum[:, 1:n + 1]
        nz = np.stack([gains.nonzero(q, self.stride) for q in frame.q])
        s = np.stack([gains.indices(original[a], decoded[a], nz[a], self.stride) for a in range(len(nz))])
        words = gains.encode(s, nz, self.stride)
        if self.envelope is None:
            return words
        return self._envelope_bytes(frame, spectrum, coeffs[:, R - 1], decoded, s, nz) + words

    def _envelope_bytes(self, frame: PendingFrame, spectrum, before, decoded, s, nz) -> bytes:
        """The frame's temporal-envelope bytes, from what the decoder will output (band gains applied).

        The decoder's output is computed only for the regions the source makes candidates (near its attacks,
        or digitally silent): region j is the overlap of vectors j-1 and j, so only those vectors get their
        band gains, and each region is synthesised from its two. Vectors and regions are row-independent,
        so the bytes are those of the whole frame's synthesis (tests/codec/test_envelope.py)."""
        gains, env, H, n = self.gains, self.envelope, self.hop, decoded.shape[1]
        first, A = self.per_frame * frame.index, len(decoded)
        original = frame.audio[:, H:(n + 1) * H]
        original_high = env.high_band(spectrum)  # from latent first-1: n + 2 regions
        wanted, attacks = env.candidates(original, original_high)
        regions = np.flatnonzero(wanted)
        vectors = np.union1d(np.union1d(regions - 1, regions), [n - 1])
        vectors = vectors[vectors >= 0]
        out = np.zeros_like(decoded)
        for a in range(A):
            noise = gains.noise_for(first, a)
            codes = gains.expand(s[a], nz[a], self.stride, n)[vectors]
            out[a, vectors] = gains.apply(decoded[a, vectors], codes, lambda t, _n=noise: _n(int(vectors[t])),
                                          frame.q[a, vectors])
        if self.last is not None and self.last[0] == frame.index - 1:
            before = self.last[1]  # the previous frame's last vector as the decoder outputs it, gains and all
        self.last = (frame.index, out[:, -1])
        coeffs = np.concatenate([before[:, None], out], axis=1)  # latents first-1 .. first+n-1: n regions
        full, high = np.zeros_like(original), np.zeros_like(original)
        if len(regions):
            pairs = np.stack([coeffs[:, regions], coeffs[:, regions + 1]], axis=2).reshape(-1, 2, coeffs.shape[2])
            at = (regions[:, None] * H + np.arange(H)).ravel()
            full[:, at] = synthesize(pairs, H).reshape(A, -1)
            high[:, at] = env.high_band(pairs).reshape(A, -1)
        codes = env.analyse(original, full, high, original_high, self.env_regions, attacks)
        return env.encode(codes)

    def _write_oldest(self) -> None:
        frame = self.in_flight.popleft()
        words = frame.words.result() if frame.words is not None else b""
        if words:
            size = len(words)
            self.mean_bytes = 0.8 * self.mean_bytes + 0.2 * size if self.measured else size
            self.measured = True
        self.write(frame, join_payload(frame.latent_payload, frame.fill + words))


class _InCallerThread:
    """The executor interface of GainEncoder.pool, running each job at submit() (an error raises there)."""

    def submit(self, fn, *args) -> DoneFuture:
        return DoneFuture(fn(*args))

    def shutdown(self, cancel_futures: bool = False) -> None:
        pass
