"""The level coder (muzip-v1): a static integer table per (role, quantizer level, latent channel).

Tables have shape (roles, levels, channels, 2R+2) -- role 0 codes mid (or mono), role 1 codes side.
Symbol index v+R codes a value v in [-R, R]; index 2R+1 is an escape for |v| > R (entropy.ans).
"""

import constriction
import numpy as np

from ...errors import CorruptFileError
from .ans import PRECISION, TOTAL, ans_reader, check_frame, decode_escapes, encode_escapes, escape_bits


class LatentCoder:
    """Codes integer latents (A, n, C) for A audio channels (mid[, side]) given one level per channel."""

    def __init__(self, counts: np.ndarray, radius: int):
        if not hasattr(counts, "shape"):  # an array, or entropy.tables.LevelTables (blocks loaded as used)
            counts = np.asarray(counts)
        if counts.ndim != 4 or counts.shape[-1] != 2 * radius + 2:
            raise ValueError("entropy table shape does not match the alphabet radius")
        self.counts = counts
        self.radius = radius
        self.escape = 2 * radius + 1
        self.roles, self.num_levels, self.channels, _ = counts.shape
        self._row_offsets = (np.arange(self.channels, dtype=np.int32) * counts.shape[-1])[None, :]
        self._model_lists = {}
        # Checked and converted per (role, level) on first use: a call touches a few of the 128 tables,
        # and doing all of them up front was a tenth of a short file's run time.
        self._costs = {}

    def _rows(self, role: int, level: int) -> np.ndarray:
        rows = self.counts[role, level].astype(np.int64)
        if np.any(rows.sum(axis=-1) != TOTAL) or rows.min() < 1:
            raise ValueError(f"entropy table rows must sum to 2**{PRECISION}")
        return rows

    def bit_cost(self, role: int, level: int) -> np.ndarray:
        """Flat (C*K,) float32 bit cost of each symbol: for rate *estimation* only (coding uses the integers)."""
        costs = self._costs.get((role, level))
        if costs is None:
            costs = (PRECISION - np.log2(self._rows(role, level).astype(np.float64))).astype(np.float32).ravel()
            self._costs[(role, level)] = costs
        return costs

    def _models_for(self, role: int, level: int) -> list:
        """The constriction models of every channel at (role, level), built once (rows checked first)."""
        key = (role, level)
        models = self._model_lists.get(key)
        if models is None:
            probs = self._rows(role, level).astype(np.float64) / TOTAL
            Categorical = constriction.stream.model.Categorical
            models = self._model_lists[key] = [Categorical(row, perfect=False) for row in probs]
        return models

    def _indices(self, q: np.ndarray) -> np.ndarray:
        r = self.radius
        return np.where(np.abs(q) > r, self.escape, q + r).astype(np.int32)

    def estimate_bits(self, q: np.ndarray, role: int, level: int) -> float:
        """Estimated coded size in bits of q (n, C) for one audio channel at one level (no coder run)."""
        idx = self._indices(q)
        # Flat gather (row c of the table starts at c*K): several times faster than take_along_axis here.
        bits = float(self.bit_cost(role, level)[idx + self._row_offsets].sum())
        return bits + escape_bits(q, self.radius)

    def encode(self, q: np.ndarray, levels) -> bytes:
        """q: int array (A, n, C) for A audio channels (mid[, side]); levels: one per audio channel."""
        if q.shape[-1] != self.channels or len(levels) != q.shape[0]:
            raise ValueError("latent shape does not match the entropy model")
        coder = constriction.stream.stack.AnsCoder()
        idx = self._indices(q)
        escaped = q[idx == self.escape].astype(np.int64)  # C-order: decoder recovers the same order
        self._encode_escapes(coder, escaped)
        by_channel = np.ascontiguousarray(idx.transpose(0, 2, 1))  # (A, C, n): each row contiguous
        for a in reversed(range(q.shape[0])):
            models = self._models_for(a, levels[a])
            for c in reversed(range(self.channels)):
                coder.encode_reverse(by_channel[a, c], models[c])
        return coder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, n: int, levels) -> np.ndarray:
        """Inverse of encode for A=len(levels) audio channels of n latents; CorruptFileError if malformed."""
        check_frame(data, levels, self.roles, self.num_levels)
        try:
            coder = ans_reader(data)
            by_channel = np.empty((len(levels), self.channels, n), dtype=np.int32)
            for a, level in enumerate(levels):
                models, rows = self._models_for(a, level), by_channel[a]
                for c in range(self.channels):
                    rows[c] = coder.decode(models[c], n)
            idx = np.ascontiguousarray(by_channel.transpose(0, 2, 1))  # (A, n, C): escapes follow in C order
            q = idx - self.radius
            n_esc = int(np.count_nonzero(idx == self.escape))
            if n_esc:
                q[idx == self.escape] = self._decode_escapes(coder, n_esc)
        except CorruptFileError:
            raise
        except Exception as exc:  # constriction raises plain exceptions on inconsistent data
            raise CorruptFileError(f"entropy-coded payload is damaged ({exc})") from None
        return q

    def _encode_escapes(self, coder, values: np.ndarray) -> None:
        encode_escapes(coder, values, self.radius)

    def _decode_escapes(self, coder, count: int) -> np.ndarray:
        return decode_escapes(coder, count, self.radius)


