"""Restorer inference on onnxruntime: chunked and overlapped, flat memory, no seams, seeded noise.

The network is fully convolutional over MDCT frames (hop H). A chunk of F frames is run with M frames
of real context each side (M > the receptive field), and only its middle is kept, so the output equals
a whole-file run and chunk edges are invisible. The noise z for absolute frame f is drawn from numpy's
PCG64 seeded by (seed, block of f, channel): any chunking sees the same z for the same frame, and the
same input and seed give the same output bit for bit on one machine.
"""

from __future__ import annotations

import numpy as np

from ..defaults import RESTORE_MODEL
from ..errors import ModelError
from .config import receptive_frames
from .detect import DIGITAL_SILENCE

NOISE_BLOCK = 256  # frames per seeded noise block


def frame_noise(seed: int, channel: int, first: int, count: int, k: int, deterministic=False) -> np.ndarray:
    out = np.zeros((count, k), np.float32)
    if deterministic or k == 0:
        return out
    for b in range(first // NOISE_BLOCK, (first + count - 1) // NOISE_BLOCK + 1):
        rng = np.random.default_rng([0x72657374, seed, b + 1024, channel])  # b >= -1 (context before 0)
        block = rng.uniform(-1, 1, (NOISE_BLOCK, k)).astype(np.float32)
        lo, hi = max(first, b * NOISE_BLOCK), min(first + count, (b + 1) * NOISE_BLOCK)
        out[lo - first:hi - first] = block[lo - b * NOISE_BLOCK:hi - b * NOISE_BLOCK]
    return out


class Restorer:
    """An installed restorer model (models/NAME/: config.json, restorer.onnx, SHA256SUMS)."""

    def __init__(self, name: str = RESTORE_MODEL, threads: int | None = None):
        from ..codec.config import read_model_json
        from ..runtime.session import cpu_threads, open_session
        from ..runtime.store import resolve_name
        self.name = resolve_name(name)
        self.config = read_model_json(self.name)
        if self.config.get("kind") != "restorer":
            raise ModelError(f"model '{name}' is not a restorer")
        self.rate, self.hop = int(self.config["sample_rate"]), int(self.config["hop"])
        self.margin = receptive_frames(self.config) + 4
        self.session = open_session(self.name, "restorer.onnx", threads or cpu_threads())
        self.inputs = [i.name for i in self.session.get_inputs()]

    def run_frames(self, audio: np.ndarray, cond: np.ndarray, first_frame: int, seed: int, deterministic: bool):
        """audio (A, T) at the model rate with T % hop == 0, starting at frame `first_frame` (frame f covers
        samples [(f-1)H, (f+1)H)) -> restored (A, T). cond: the 2 condition values."""
        A, T = audio.shape
        n = T // self.hop + 1
        k = int(self.config["noise_channels"])
        noise = np.stack([frame_noise(seed, a, first_frame, n, k, deterministic) for a in range(A)])
        feeds = dict(zip(self.inputs, (audio[:, :, None].astype(np.float32),
                                       np.broadcast_to(cond, (A, n, len(cond))).astype(np.float32), noise)))
        return self.session.run(None, feeds)[0][:, :, 0]


def restore_blocks(restorer: Restorer, blocks, channels: int, cond, seed=0, deterministic=False,
                   chunk_frames: int = 1024):
    """Model-rate blocks (n, channels) in -> restored blocks out, the same total length, in bounded memory."""
    H, M = restorer.hop, restorer.margin
    C = chunk_frames * H  # output samples per chunk
    buf = np.zeros((channels, M * H), np.float32)  # left context: silence before the start
    buf_start = -M * H  # absolute sample index of buf[:, 0]
    done = 0  # samples output so far
    total = 0
    pending = []
    for block in blocks:
        block = np.asarray(block, np.float32).T
        total += block.shape[1]
        pending.append(block)
        have = buf.shape[1] + sum(p.shape[1] for p in pending)
        if have >= (done - buf_start) + C + M * H:
            buf = np.concatenate([buf] + pending, axis=1)
            pending = []
            while buf.shape[1] - (done - buf_start) >= C + M * H:
                yield _run_chunk(restorer, buf, buf_start, done, C, cond, seed, deterministic)
                done += C
                cut = done - M * H - buf_start  # keep M frames of left context
                buf, buf_start = buf[:, cut:], buf_start + cut
    buf = np.concatenate([buf] + pending, axis=1)
    while done < total:
        n = min(C, total - done)
        need = (done - buf_start) + -(-n // H) * H + M * H
        if buf.shape[1] < need:
            buf = np.concatenate([buf, np.zeros((channels, need - buf.shape[1]), np.float32)], axis=1)
        yield _run_chunk(restorer, buf, buf_start, done, -(-n // H) * H, cond, seed, deterministic)[:n]
        done += n


def _run_chunk(restorer, buf, buf_start, start, length, cond, seed, deterministic):
    """Restore samples [start, start+length) using M frames of context each side from buf."""
    H, M = restorer.hop, restorer.margin
    a = start - M * H - buf_start
    seg = buf[:, a:a + length + 2 * M * H]
    out = restorer.run_frames(seg, cond, start // H - M, seed, deterministic)
    return (out[:, M * H:M * H + length] * _silence_gate(seg, H, M * H, length)).T


def _silence_gate(seg: np.ndarray, hop: int, lo: int, length: int) -> np.ndarray:
    """Gains (A, length) for the output of seg[:, lo:lo + length]: 0 where the input is digitally silent for a
    frame and the frames beside it, 1 elsewhere, ramped over a frame (no click). The generator's noise made a
    gap's zeros -80 dBFS of hiss (a review, session 61); frames are whole hops from the file's start, so any
    chunking gates alike."""
    A, L = seg.shape
    n = -(-L // hop)
    level = np.zeros((A, n * hop), np.float32)
    level[:, :L] = np.abs(seg)
    sound = level.reshape(A, n, hop).max(axis=2) > DIGITAL_SILENCE
    near = sound.copy()
    near[:, 1:] |= sound[:, :-1]
    near[:, :-1] |= sound[:, 1:]
    if near.all():
        return np.ones((A, length), np.float32)
    centres, at = np.arange(n) * hop + hop / 2, np.arange(lo, lo + length)
    return np.stack([np.interp(at, centres, near[k].astype(np.float32)) for k in range(A)]).astype(np.float32)
