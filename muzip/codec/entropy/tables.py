"""Entropy tables read block by block: each (role, level) table is decompressed the first time it is used.

tables.npz holds the whole (roles, levels, channels, K) array in one compressed member: 8 MB to inflate,
about 35 ms, on every call, while a file touches a few of the 128 blocks. The runtime file
tables.levels.npz holds the same integers with one member per (role, level), so a short file pays
for what it uses. It is derived from tables.npz at export time (scripts/models/export_onnx.py), listed in
SHA256SUMS, and compared block for block with tables.npz by tests/runtime/test_runtime.py.
"""

from __future__ import annotations

import io

import numpy as np

from ...errors import ModelError
from ...runtime.store import LEVEL_TABLES

def _key(role: int, level: int) -> str:
    return f"r{role}_l{level}"

def write_level_tables(counts: np.ndarray, path) -> None:
    counts = np.asarray(counts)
    np.savez_compressed(path, shape=np.array(counts.shape, np.int64),
                        **{_key(r, lv): counts[r, lv] for r in range(counts.shape[0]) for lv in range(counts.shape[1])})

class LevelTables:
    """Indexes like the counts array for [role, level] and [role, level, channel]; blocks load lazily.

    Built from the file's bytes, already checked against SHA256SUMS, so what is verified is what is used."""

    ndim = 4

    def __init__(self, data: bytes, name: str):
        self.name = name
        try:
            self._npz = np.load(io.BytesIO(data), allow_pickle=False)
            self.shape = tuple(int(v) for v in self._npz["shape"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"model '{name}': cannot read {LEVEL_TABLES} ({exc})") from None
        if len(self.shape) != 4:
            raise ModelError(f"model '{name}': {LEVEL_TABLES} has a bad shape")
        self._blocks = {}

    def block(self, role: int, level: int) -> np.ndarray:
        key = (int(role), int(level))
        out = self._blocks.get(key)
        if out is None:
            if not (0 <= key[0] < self.shape[0] and 0 <= key[1] < self.shape[1]):
                raise IndexError(f"table ({role}, {level}) out of range")
            try:
                out = self._npz[_key(*key)]
            except (OSError, ValueError, KeyError) as exc:
                raise ModelError(f"model '{self.name}': cannot read table {key} ({exc})") from None
            if out.shape != self.shape[2:]:
                raise ModelError(f"model '{self.name}': table {key} has shape {out.shape}, not {self.shape[2:]}")
            self._blocks[key] = out
        return out

    def __getitem__(self, index):
        role, level, *rest = index
        block = self.block(role, level)
        return block[tuple(rest)] if rest else block

    def __array__(self, dtype=None, copy=None):
        """The whole array (every block), for code that wants it all."""
        out = np.stack([np.stack([self.block(r, lv) for lv in range(self.shape[1])]) for r in range(self.shape[0])])
        return out if dtype is None else out.astype(dtype)
