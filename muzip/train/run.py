"""A resumable fine-tuning run of the codec on the user's music (what `muzip train` drives).

A run lives in a folder (runs_dir()/NAME, by default ~/.local/state/muzip/runs/NAME): run.json (settings, files, held-out
split, steps done, held-out measurements), segments.npy (int16 2-s mid/side segments of the training
files, prepared once), and after each checkpoint the whole training model's weights
(checkpoint.weights.h5) and the optimizer's state (optimizer.npz, plain arrays: no pickle). Running
the same command again continues from the last checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import MuzipError

FINE_TUNE = {"batch": 8, "lr": 5e-5, "rate_lambda": 0.02, "train_levels": [14, 40]}
HOLDOUT_FILES = 4
HOLDOUT_SECONDS = 20.0


class TrainError(MuzipError):
    """A run that cannot start or continue (bad settings, no usable audio)."""


class TrainUsageError(TrainError):
    """A bad setting (model name, --from, --init-config): the command line is wrong, nothing was trained."""


def runs_dir() -> Path:
    """$MUZIP_TRAIN_RUNS, else $XDG_STATE_HOME/muzip/runs (default ~/.local/state/muzip/runs)."""
    env = os.environ.get("MUZIP_TRAIN_RUNS")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "muzip" / "runs"


def write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


def _segments_of(args):
    from .data import file_segments
    path, rate, per_file = args
    from .data import SEGMENT_S
    try:
        seg = file_segments(path, rate, per_file)
    except (MuzipError, OSError, ValueError, RuntimeError) as exc:
        return path, None, str(exc)
    if seg is None or not len(seg):  # said, as an unreadable file is: it was left out without a word
        return path, None, f"shorter than a {SEGMENT_S:g}-s training segment"
    return path, seg, None


def prepare(folder: Path, files: list[str], rate: int, per_file: int, jobs: int, on_file) -> dict:
    """Read the training files into folder/segments.npy (rows of mid or side); returns what was used.

    on_file(path, error or None) is called once per file as it is done."""
    rows, used = [], []
    work = [(p, rate, per_file) for p in files]
    if jobs > 1 and len(files) > 1:
        from ..workers import submitting, worker_pool
        with worker_pool(jobs, "spawn") as pool:  # spawn: this process may run TensorFlow's threads
            for path, seg, err in submitting(pool, _segments_of, work):
                on_file(path, err)
                if seg is not None and len(seg):
                    rows.append(seg.reshape(-1, seg.shape[-1]))
                    used.append(path)
    else:
        for item in work:
            path, seg, err = _segments_of(item)
            on_file(path, err)
            if seg is not None and len(seg):
                rows.append(seg.reshape(-1, seg.shape[-1]))
                used.append(path)
    if not rows:
        raise TrainError("no usable audio in the training files")
    data = np.concatenate(rows)
    tmp = folder / "segments.tmp.npy"
    np.save(tmp, data)
    os.replace(tmp, folder / "segments.npy")
    return {"files": used, "segments": int(len(data)), "hours": float(data.size / rate / 3600)}


class Trainer:
    """The training model, its optimizer and the run's checkpoint files."""

    def __init__(self, folder: Path, cfg: dict, base_folder: Path | None, seed: int):
        import keras

        from .data import SegmentBatches
        from .objective import build_training_model
        self.folder, self.cfg = folder, cfg
        self.rows = np.load(folder / "segments.npy", mmap_mode="r")
        self.batches = SegmentBatches(self.rows, cfg, cfg["batch"], seed)
        self.model = build_training_model(cfg, cfg["rate_lambda"])
        self.model.compile(optimizer=keras.optimizers.Adam(cfg["lr"], clipnorm=1.0))
        self.model(self.batches.sample()[0])
        self.model.optimizer.build(self.model.trainable_variables)
        ckpt = folder / "checkpoint.weights.h5"
        if ckpt.is_file():
            self.model.load_weights(ckpt)
            with np.load(folder / "optimizer.npz", allow_pickle=False) as z:
                arrays = [z[f"arr_{i}"] for i in range(len(z.files))]
            variables = self.model.optimizer.variables
            if len(arrays) != len(variables):
                raise TrainError(f"{folder}: the checkpoint does not match this model (use --restart)")
            for v, a in zip(variables, arrays):
                v.assign(a)
        elif base_folder is not None:
            self.model.encoder.load_weights(base_folder / "encoder.weights.h5")
            self.model.decoder.load_weights(base_folder / "decoder.weights.h5")

    def step(self) -> float:
        x, y = self.batches.sample()
        out = self.model.train_on_batch(x, y, return_dict=True)
        return float(out["loss"])

    def checkpoint(self) -> None:
        tmp = self.folder / "checkpoint.tmp.weights.h5"
        self.model.save_weights(tmp)
        np.savez(self.folder / "optimizer.tmp.npz", *[np.asarray(v) for v in self.model.optimizer.variables])
        os.replace(tmp, self.folder / "checkpoint.weights.h5")
        os.replace(self.folder / "optimizer.tmp.npz", self.folder / "optimizer.npz")

    def held_out_rd(self, audio: np.ndarray) -> list:
        from .objective import rd_measure
        return [list(p) for p in rd_measure(self.model, self.cfg, audio)]

    def table_counts(self, max_rows: int = 600) -> np.ndarray:
        """Entropy tables counted on the training segments (never the held-out files)."""
        from .tables import count_tables
        rng = np.random.default_rng(0)
        n = len(self.rows) // 2 * 2
        pick = np.sort(rng.permutation(n // 2)[:max_rows // 2]) * 2  # (mid, side) pairs stay together
        mids = [self.rows[i].astype(np.float32) / 32767 for i in pick]
        sides = [self.rows[i + 1].astype(np.float32) / 32767 for i in pick]
        if self.cfg.get("entropy") == "context":  # muzip.entropy_context: level-free tables
            from .tables import CONTEXT_LEVELS, context_tables
            encode = lambda a: self.model.encoder(a, training=False)  # noqa: E731
            return context_tables(encode, self.cfg, [np.stack(p) for p in zip(mids, sides)], CONTEXT_LEVELS)[0]
        return count_tables(self.model.encoder, self.cfg, [mids, sides])


def held_out_audio(files: list[str], rate: int) -> np.ndarray:
    """(2 x files, T, 1) mid and side of a fixed excerpt of each held-out file, for checkpoint RD."""
    from .data import excerpt
    xs = [excerpt(p, rate, HOLDOUT_SECONDS) for p in files[:HOLDOUT_FILES]]
    n = min((len(x) for x in xs), default=0)
    if n < rate:
        return np.zeros((0, 0, 1), np.float32)
    ms = [np.stack([(x[:n, 0] + x[:n, 1]) / 2, (x[:n, 0] - x[:n, 1]) / 2]) for x in xs]
    return np.concatenate(ms)[:, :, None].astype(np.float32)


def quality_runs(files: list[str], bitrates=(24, 64)) -> int:
    """How many codings codec_quality makes of these files (a progress bar's length)."""
    return len(files[:HOLDOUT_FILES]) * len(bitrates)


def codec_quality(model, files: list[str], rate: int, bitrates=(24, 64), bar=None) -> dict:
    """Through the real codec (integer tables, container): actual kbps and mel distance per bitrate,
    averaged over the held-out excerpts; bar.update(1) after each coding (seconds each, silent before)."""
    from ..codec import compress_array, decompress_bytes
    from ..metrics import mel_distance
    from .data import excerpt
    out = {}
    xs = [excerpt(p, rate, HOLDOUT_SECONDS) for p in files[:HOLDOUT_FILES]]
    xs = [x for x in xs if len(x) >= rate]
    for kbps in bitrates:
        got, mel = [], []
        for x in xs:
            data = compress_array(x, rate, kbps, model)
            y, _ = decompress_bytes(data, model)
            got.append(len(data) * 8 / (len(x) / rate) / 1000)
            mel.append(mel_distance(x, y[:len(x)], rate))
            if bar is not None:
                bar.update(1)
        out[str(kbps)] = {"kbps": float(np.mean(got)) if got else None, "mel": float(np.mean(mel)) if mel else None}
    return out
