"""The C build of entropy.compiled_loops (ans_kernels.c), through ctypes: the same three functions, the same
arguments and results, so entropy.compiled hands out either. Loading it costs ~1 ms where numba's import
costs ~0.45 s, so with it every file is coded by the loops from its first frame.

The library is built by `pip install` (setup.py) beside this file; load() is None where it is missing or
does not load (then numba's loops, then constriction)."""

from __future__ import annotations

import ctypes
import importlib.machinery
import sys
from pathlib import Path

import numpy as np

LIBRARY = "_ans_kernels"  # the extension's name in setup.py
ABI = 1  # ans_kernels.c's ABI_VERSION that these wrappers call: another one is not used (a stale build)
_P = ctypes.c_void_p
_I = ctypes.c_int64

_lib = None


def library_path() -> Path | None:
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if (here / (LIBRARY + suffix)).is_file():
            return here / (LIBRARY + suffix)
    return None


def load():
    """This module once its library is loaded, else None."""
    global _lib
    if _lib is None:
        path = library_path()
        try:
            lib = ctypes.CDLL(str(path)) if path is not None else False
        except OSError:  # built for another machine, or damaged: the other loops are there
            lib = False
        if lib and _version(lib) != ABI:
            lib = False
        if lib:
            lib.muzip_push_banded.argtypes = [_I] * 4 + [_P] * 6 + [_I, _I, _P, _I, _I, _P, _P, _I, _P]
            lib.muzip_decode_banded.argtypes = ([_P, _I, _P, _I, _I, _I, _P, _I, _I, _P, _P, _I, _P, _I, _P, _I,
                                                 _I, _P, _I, _I, _I])
            lib.muzip_estimate_costs.argtypes = ([_P, _I, _I, _I, _P, _I, _P, _I, _P, _P, _I, _P, _I, _P, _I,
                                                  _I, _I, _P, _P, _P])
            for fn in (lib.muzip_push_banded, lib.muzip_decode_banded, lib.muzip_estimate_costs):
                fn.restype = _I
        _lib = lib
    return sys.modules[__name__] if _lib else None


def _version(lib) -> int | None:
    try:
        fn = lib.muzip_ans_abi
    except AttributeError:  # built before the library had a version
        return None
    fn.argtypes, fn.restype = [], _I
    return fn()


def _c(a, dtype):
    """a as a C-contiguous array of dtype (a copy only where it is not one already)."""
    return np.ascontiguousarray(a, dtype)


def push_banded(idx, rows, coded, cls, crows, lat_cdf, cls_cdf, esc_lo, esc_prob):
    """As compiled_loops.push_banded: the words (uint32) of entropy.banded.BandedCoder.encode."""
    A, n, C = idx.shape
    bands = cls.shape[2]
    idx, rows, coded = _c(idx, np.int32), _c(rows, np.int32), _c(coded, np.bool_)
    cls, crows = _c(cls, np.int64), _c(crows, np.int64)
    lat_cdf, cls_cdf = _c(lat_cdf, np.uint32), _c(cls_cdf, np.uint32)
    esc_lo, esc_prob = _c(esc_lo, np.uint64), _c(esc_prob, np.uint64)
    words = np.empty(int(np.count_nonzero(coded)) + A * n * bands + len(esc_lo) + 2, np.uint32)
    count = _lib.muzip_push_banded(A, n, C, bands, idx.ctypes.data, rows.ctypes.data, coded.ctypes.data,
                                   cls.ctypes.data, crows.ctypes.data, lat_cdf.ctypes.data, lat_cdf.shape[1],
                                   lat_cdf.shape[2], cls_cdf.ctypes.data, cls_cdf.shape[1], cls_cdf.shape[2],
                                   esc_lo.ctypes.data, esc_prob.ctypes.data, len(esc_lo), words.ctypes.data)
    if count < 0:
        raise ValueError("a symbol outside its entropy table")
    return words[:count]


def decode_banded(words, lat_cdf, cls_cdf, starts, widths, ctx_of_sum, class_of_peak, radius, out) -> int:
    """As compiled_loops.decode_banded: fills out (A, n, C) int32; 0 or a damage status
    (entropy.compiled.raise_for)."""
    if not (out.dtype == np.int32 and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("out must be a writeable C-contiguous int32 array")
    words = _c(words, np.uint32)
    lat_cdf, cls_cdf = _c(lat_cdf, np.uint32), _c(cls_cdf, np.uint32)
    starts, widths = _c(starts, np.int64), _c(widths, np.int64)
    ctx_of_sum, class_of_peak = _c(ctx_of_sum, np.int64), _c(class_of_peak, np.int64)
    A, n, C = out.shape
    return int(_lib.muzip_decode_banded(
        words.ctypes.data, len(words), lat_cdf.ctypes.data, lat_cdf.shape[0], lat_cdf.shape[1], lat_cdf.shape[2],
        cls_cdf.ctypes.data, cls_cdf.shape[1], cls_cdf.shape[2], starts.ctypes.data, widths.ctypes.data,
        len(starts), ctx_of_sum.ctypes.data, len(ctx_of_sum), class_of_peak.ctypes.data, len(class_of_peak),
        int(radius), out.ctypes.data, A, n, C))


def estimate_costs(q, radius, class_costs, costs, starts, widths, ctx_of_sum, class_of_peak, ncls, nctx):
    """As compiled_loops.estimate_costs: (class costs (n, bands), coded latents' costs, escaped)."""
    n, C = q.shape
    q = _c(q, np.int32)
    class_costs, costs = _c(class_costs, np.float32), _c(costs, np.float32)
    starts, widths = _c(starts, np.int64), _c(widths, np.int64)
    ctx_of_sum, class_of_peak = _c(ctx_of_sum, np.int64), _c(class_of_peak, np.int64)
    class_vals = np.empty((n, len(starts)), np.float32)
    latent_vals = np.empty(n * C, np.float32)
    escaped = ctypes.c_int64(0)
    k = _lib.muzip_estimate_costs(
        q.ctypes.data, n, C, int(radius), class_costs.ctypes.data, class_costs.size, costs.ctypes.data, costs.size,
        starts.ctypes.data, widths.ctypes.data, len(starts), ctx_of_sum.ctypes.data, len(ctx_of_sum),
        class_of_peak.ctypes.data, len(class_of_peak), int(ncls), int(nctx), class_vals.ctypes.data,
        latent_vals.ctypes.data, ctypes.addressof(escaped))
    if k < 0:
        raise (MemoryError() if k == -1 else ValueError("a latent outside the entropy tables"))
    return class_vals, latent_vals[:k], bool(escaped.value)
