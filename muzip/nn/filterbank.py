"""The codec networks' filterbank: an MDCT with a sine window (numpy only; importing it loads no Keras).

The untrained codec network starts from this basis, so it is a perfect-reconstruction transform before
any training; `"filterbank": "mdct"` models keep it frozen as a constant (fixed_basis)."""

import functools

import numpy as np


def mdct_basis(hop: int) -> np.ndarray:
    """Orthonormal MDCT basis with a sine window, shape (2*hop, hop)."""
    n = np.arange(2 * hop)[:, None]
    k = np.arange(hop)[None, :]
    window = np.sin(np.pi * (n + 0.5) / (2 * hop))
    return (window * np.sqrt(2.0 / hop) * np.cos(np.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5))).astype(np.float32)


@functools.lru_cache(maxsize=4)
def fixed_basis(hop: int) -> np.ndarray:
    """The constant filterbank of `"filterbank": "mdct"` models: the MDCT rounded to float16, the precision
    their ONNX files store it in (muzip.nn.half), so Keras and onnxruntime compute the same transform."""
    return mdct_basis(hop).astype(np.float16).astype(np.float32)
