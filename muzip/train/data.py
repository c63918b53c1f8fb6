"""Training data from the user's files: a held-out split, 2-s mid/side segments, random batches.

Files are streamed block by block and 2-s segments kept by reservoir sampling, so an hour-long file
costs no more memory than a short one. Segments are stored as int16 (mid and side are separate
examples: the codec codes them with the same transform).
"""

from __future__ import annotations

import hashlib

import numpy as np

SEGMENT_S = 2.0
HOLDOUT_SHARE = 0.1


def split_holdout(files: list[str]) -> tuple[list[str], list[str]]:
    """(training, held-out) files: a tenth (at least one) held out, chosen by a hash of the path so the
    split is the same on every run, whatever order the folders are walked in."""
    files = sorted(set(files))
    if len(files) < 2:
        return files, []
    ranked = sorted(files, key=lambda p: hashlib.sha256(p.encode("utf-8", "surrogateescape")).digest())
    n = max(1, int(round(len(files) * HOLDOUT_SHARE)))
    held = set(ranked[:n])
    return [f for f in files if f not in held], [f for f in files if f in held]


def _stereo_blocks(path: str, rate: int):
    from ..audio import AudioSource, StreamResampler
    with AudioSource(path, downmix=True) as src:
        info = src.info
        rs = StreamResampler(info.sample_rate, rate, info.channels)
        for block in src.blocks(1 << 16):
            y = rs.process(block)
            yield y if y.shape[1] == 2 else np.repeat(y[:, :1], 2, axis=1)


def file_segments(path: str, rate: int, per_file: int, seed: int = 0) -> np.ndarray:
    """Up to `per_file` 2-s segments of one file, as int16 (k, 2, n): mid and side; silent ones dropped."""
    n = int(SEGMENT_S * rate)
    rng = np.random.default_rng([seed, int.from_bytes(hashlib.sha256(path.encode("utf-8", "surrogateescape"))
                                                      .digest()[:4], "little")])
    keep: list[np.ndarray] = []
    seen, buf = 0, np.zeros((0, 2), np.float32)
    for block in _stereo_blocks(path, rate):
        buf = np.concatenate([buf, block])
        while len(buf) >= n:
            seg, buf = buf[:n], buf[n:]
            if np.abs(seg).max() < 1e-4:  # silence teaches nothing
                continue
            seen += 1
            j = seen - 1 if len(keep) < per_file else int(rng.integers(0, seen))
            if j < per_file:  # reservoir sampling: every segment equally likely to be kept
                ms = np.stack([(seg[:, 0] + seg[:, 1]) / 2, (seg[:, 0] - seg[:, 1]) / 2])
                q = np.round(np.clip(ms, -1, 1) * 32767).astype(np.int16)
                if len(keep) < per_file:
                    keep.append(q)
                else:
                    keep[j] = q
    return np.stack(keep) if keep else np.zeros((0, 2, n), np.int16)


def excerpt(path: str, rate: int, seconds: float) -> np.ndarray:
    """A stereo float excerpt (n, 2) from the middle of a file, for before/after measurements."""
    parts, total = [], 0
    for block in _stereo_blocks(path, rate):
        parts.append(block)
        total += len(block)
    x = np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
    n = int(seconds * rate)
    start = max(0, (len(x) - n) // 2)
    return x[start:start + n]


class SegmentBatches:
    """Random 1-frame crops of int16 segment rows (N, n), with random gain and a random quantizer step."""

    def __init__(self, rows: np.ndarray, cfg: dict, batch: int, seed: int):
        self.rows, self.cfg, self.batch = rows, cfg, batch
        self.rng = np.random.default_rng(seed)
        self.log_step_range = (np.log(cfg["min_step"])
                               + np.log(2.0) * np.array(cfg["train_levels"]) / cfg["levels_per_octave"])

    def forever(self):
        while True:
            yield self.sample()

    def sample(self):
        n = self.cfg["frame_samples"]
        r = self.rng.integers(0, len(self.rows), self.batch)
        s = self.rng.integers(0, self.rows.shape[1] - n + 1, self.batch)
        x = np.stack([self.rows[i, j:j + n] for i, j in zip(r, s)]).astype(np.float32) / 32767
        x *= 10 ** (self.rng.uniform(-12, 6, (self.batch, 1)) / 20)
        x = np.clip(x, -1, 1)[:, :, None]
        log_step = self.rng.uniform(*self.log_step_range, (self.batch, 1, 1)).astype(np.float32)
        return (x, log_step), np.zeros((self.batch,), np.float32)
