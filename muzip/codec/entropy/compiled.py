"""The class-banded coder's ANS loops, compiled: the same u32 words as constriction, ~10x less CPU.

Why: constriction is the format's reference coder, but it builds a 64-entry model for every latent
(entropy.banded codes each with its own table row) and holds the GIL while it does, ~150 ns a symbol; with
numpy's per-vector work around it, coding the latents was a quarter of compress and two thirds of decompress.
Here the rows are turned once per model into the integer CDFs constriction derives from them, and one
compiled loop per frame pushes or pops every symbol. Two builds of the same loops: C (ans_kernels.c, built
by pip install, loaded in ~1 ms through entropy.native_loops) and numba (compiled_loops.py: numba comes with
librosa, but its import costs ~0.45 s), for an install without a C compiler.

What makes the words identical, checked against constriction by tests/codec/test_entropy_compiled.py:
* constriction's `Categorical(perfect=False)` (its lazy, "fast" quantization) gives symbol i of a row with
  float probabilities p the left cumulative floor(sum_{j<i} p_j * (2**24 - K) / sum p) + i. Our rows are
  count / 2**24 with counts summing to 2**24, so every float step there is exact and the CDF is the integer
  (C_i * (2**24 - K)) >> 24 + i, C_i the running count (fast_cdf);
* `Uniform(n)`: n - 1 bins of 2**24 // n, the last one the rest (escapes);
* the stack coder (AnsCoder<u32, u64>, precision 24): encode flushes the low word when state >> 40 >= p,
  then state = (state // p) << 24 | (cdf + state % p); decode pops a word when state < 2**32; the words are
  the flushed ones then the state's (low, then high, leading zero words dropped), read from the end; an
  empty payload is state 0, one ending in a zero word is malformed (constriction refuses it).
The decoder's loop checks every index it reads (a payload from a file is untrusted); the loops release the
GIL. A third loop gathers the rate search's cost estimates (entropy.banded.estimate_bits).
"""

from __future__ import annotations

import contextlib

import numpy as np

from ...errors import CorruptFileError
from .ans import PRECISION, TOTAL, escape_symbols

# Where only numba's loops are there, a coder switches to them after it has coded this many frames itself:
# importing numba and its first call (~0.45 s, the cached machine code loaded) cost more than a short file
# saves. Measured on a 2-core VM: decoding saves ~7 ms of CPU per second of audio, encoding ~2.5 ms (and lets
# its threads overlap). The C build of the loops (entropy.native_loops) loads in ~1 ms: no wait for it.
DECODE_AFTER_FRAMES = 48
ENCODE_AFTER_FRAMES = 120

_kernels = None
_native = None  # entropy.native_loops once its library loaded; False where it is missing or does not load


def native():
    """The C build of the loops, or None (not built here)."""
    global _native
    if _native is None:
        from . import native_loops
        _native = native_loops.load() or False
    return _native or None


def kernels():
    """The loops, loaded on first use: the C build where it is there, else numba's (imported, their machine
    code loaded from its cache or, the first time on a machine, compiled); None where neither works (then
    constriction codes everything)."""
    global _kernels
    if _kernels is None:
        _kernels = native() or _numba_loops() or False
    return _kernels or None


def _numba_loops():
    try:
        from . import compiled_loops
        _first_calls(compiled_loops)
    except Exception:  # noqa: BLE001 - no numba, or no working LLVM: constriction's path is always there
        return None
    return compiled_loops


def _first_calls(k) -> None:
    """Call each loop once on empty input, with the argument types of real calls (one specialization each)."""
    i32, i64, u32 = (np.zeros((1, 0, 1), t) for t in (np.int32, np.int64, np.uint32))
    cdf, none64 = np.zeros((1, 1, 2), np.uint32), np.zeros(0, np.uint64)
    k.push_banded(i32, i32, np.zeros((1, 0, 1), bool), i64, i64, cdf, cdf, none64, none64)
    k.decode_banded(u32.reshape(0), cdf, cdf, np.zeros(1, np.int64), np.ones(1, np.int64),
                    np.zeros(1, np.int64), np.zeros(1, np.int64), 0, np.zeros((0, 0, 1), np.int32))
    costs = np.zeros(1, np.float32)
    k.estimate_costs(np.zeros((0, 1), np.int32), 0, costs, costs, np.zeros(1, np.int64), np.ones(1, np.int64),
                     np.zeros(1, np.int64), np.zeros(2, np.int64), 1, 1)


def preload() -> None:
    """Pay the loops' one-time cost now without switching any coder to them: for a harness that must not
    count it against one file. Nothing to pay for the C build (loaded() is then True); numba's loops are
    imported and their machine code loaded, and loaded() stays False."""
    if native() is not None:
        return
    try:
        from . import compiled_loops
        _first_calls(compiled_loops)
    except Exception:  # noqa: BLE001 - as kernels(): constriction's path is always there
        pass


def loaded() -> bool:
    """Whether using the loops costs nothing more now: the C build is there, or this process already paid
    for numba's (then every frame uses them)."""
    if _kernels is None and native() is not None:
        kernels()
    return bool(_kernels)


def warm() -> bool:
    """Load the loops now, e.g. before forking workers that then share them."""
    return kernels() is not None


def backends() -> dict:
    """The loops this process can use, by name ("c", "numba"): for tests and harnesses that compare them."""
    found = {"c": native(), "numba": _numba_loops()}
    return {name: loops for name, loops in found.items() if loops is not None}


@contextlib.contextmanager
def using(loops):
    """Every coder codes with `loops` (a backends() value; None: constriction alone) inside the block, from
    its first frame."""
    global _kernels
    saved, _kernels = _kernels, loops or False
    try:
        yield
    finally:
        _kernels = saved


def fast_cdf(counts: np.ndarray) -> np.ndarray:
    """Integer tables (..., K) summing to 2**24 -> the CDFs (..., K + 1) constriction's fast quantization
    derives from count / 2**24 (see the module doc), uint32, the last entry 2**24."""
    counts = np.asarray(counts)
    k = counts.shape[-1]
    cum = np.cumsum(counts, axis=-1, dtype=np.uint64)  # < 2**24 * 2**24: in place, no overflow
    if np.any(cum[..., -1] != TOTAL):
        raise ValueError(f"entropy table rows must sum to 2**{PRECISION}")
    cum *= np.uint64(TOTAL - k)
    cum >>= np.uint64(PRECISION)
    cum += np.arange(1, k + 1, dtype=np.uint64)
    cdf = np.empty(counts.shape[:-1] + (k + 1,), np.uint32)
    cdf[..., 0] = 0
    cdf[..., 1:] = cum
    return cdf


def uniform_bins(sizes: np.ndarray, symbols: np.ndarray):
    """(left cumulative, probability) of symbols under constriction's Uniform(size) at precision 24."""
    sizes, symbols = np.asarray(sizes, np.int64), np.asarray(symbols, np.int64)
    per_bin = TOTAL // sizes
    lo = symbols * per_bin
    return lo, np.where(symbols < sizes - 1, per_bin, TOTAL - lo)


def escape_bins(values: np.ndarray, radius: int):
    """The (left cumulative, probability) pairs of entropy.ans.encode_escapes's symbols, in its order."""
    return uniform_bins(*escape_symbols(values, radius)[::-1])


def raise_for(status: int) -> None:
    """The CorruptFileError a decode loop's status names (0: none)."""
    if status == 1:
        raise CorruptFileError("entropy-coded payload is damaged "  # constriction's words, as banded.decode shows them
                               "(Invalid compressed data: ANS compressed data never ends in a zero word.)")
    if status == 2:
        raise CorruptFileError("entropy-coded payload is damaged (a band's latents do not match its class)")
    if status:
        raise CorruptFileError("entropy-coded payload is damaged")
