"""The codec's run-time transforms, DCT-IV (the MDCT) and the real FFT (fill levels), from scipy's pocketfft
extension loaded on its own.

`import scipy.fft` costs 0.25-0.4 s on this machine (it pulls in scipy.special and scipy's array-API layer),
a third of a 10-s clip's whole `muzip compress`; the compiled extension alone loads in ~2 ms. The calls
are the ones scipy.fft.dct(x, type=4) and scipy.fft.rfft make, so the results are bit-identical
(tests/codec/test_fft.py). numpy.fft is no substitute: 5-10x slower at these sizes (441-point complex
transforms, one row at a time). If scipy's layout ever changes, this falls back to scipy.fft.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
from pathlib import Path

import numpy as np


@functools.lru_cache(maxsize=1)
def _pocketfft():
    """scipy's pypocketfft extension module, or None where it cannot be loaded on its own."""
    try:
        spec = importlib.util.find_spec("scipy")
        folder = Path(spec.origin).parent / "fft" / "_pocketfft"
        path = next(p for p in (folder / ("pypocketfft" + s) for s in importlib.machinery.EXTENSION_SUFFIXES)
                    if p.is_file())
        loader = importlib.machinery.ExtensionFileLoader("pypocketfft", str(path))
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location("pypocketfft", path,
                                                                                        loader=loader))
        loader.exec_module(module)
        return module if hasattr(module, "dct") and hasattr(module, "r2c") else None
    except Exception:  # noqa: BLE001 - any surprise: scipy.fft does the same work, only slower to import
        return None


def _real(x) -> np.ndarray:
    """As scipy.fft's input check: float32 and float64 kept, other real types as float64."""
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def dct4(x, axis: int = -1) -> np.ndarray:
    """scipy.fft.dct(x, type=4, axis=axis): unnormalised DCT-IV (2 sum x_n cos(pi/N (n + 1/2)(k + 1/2)))."""
    module = _pocketfft()
    if module is None:
        import scipy.fft
        return scipy.fft.dct(x, type=4, axis=axis)
    x = _real(x)
    return module.dct(x, 4, (axis % x.ndim,), 0, None, 1, None)


def rfft(x, axis: int = -1) -> np.ndarray:
    """scipy.fft.rfft(x, axis=axis)."""
    module = _pocketfft()
    if module is None:
        import scipy.fft
        return scipy.fft.rfft(x, axis=axis)
    x = _real(x)
    return module.r2c(x, (axis % x.ndim,), True, 0, None, 1)
