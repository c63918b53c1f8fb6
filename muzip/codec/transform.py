"""The codec's signal maths outside the networks: mid/side, and the MDCT analysis and synthesis of
"filterbank": "mdct" models (numpy twins of the networks' fixed filterbank, muzip.nn.filterbank)."""

import functools

import numpy as np

from .fft import dct4


def to_mid_side(x: np.ndarray) -> np.ndarray:
    """(n, ch) -> (A, n): mono stays one channel; stereo becomes mid=(L+R)/2, side=(L-R)/2."""
    if x.shape[1] == 1:
        return x.T.copy()
    return np.stack([(x[:, 0] + x[:, 1]) * 0.5, (x[:, 0] - x[:, 1]) * 0.5])


def from_mid_side(a: np.ndarray) -> np.ndarray:
    """(A, n) -> (n, ch)."""
    if a.shape[0] == 1:
        return a.T.copy()
    return np.stack([a[0] + a[1], a[0] - a[1]], axis=1)


def analyze(audio: np.ndarray, hop: int) -> np.ndarray:
    """The MDCT analysis of "filterbank": "mdct" models: (A, (n+1)*hop) samples, the first starting one hop
    before latent 0's centre -> (A, n, hop) float32 coefficients (numpy twin of nn.codec_net.Analysis, fixed=True).

    As a folded DCT-IV (scipy's pocketfft, codec.fft) rather than a product with the basis: 4x faster,
    single-threaded (a BLAS product spawns threads that spin beside the codec's own: 60% more CPU per
    encode), and with the exact basis, where the network's is rounded to float16 (a -70 dB difference).
    hop must be even."""
    n = audio.shape[1] // hop - 1
    z = np.lib.stride_tricks.sliding_window_view(audio, 2 * hop, axis=1)[:, ::hop][:, :n] * _window(hop)
    h = hop // 2
    a, b, c, d = z[..., :h], z[..., h:hop], z[..., hop:hop + h], z[..., hop + h:]
    folded = np.concatenate([-c[..., ::-1] - d, a - b[..., ::-1]], axis=-1)
    return (dct4(folded) * 0.5).astype(np.float32)


def synthesize(coeffs: np.ndarray, hop: int) -> np.ndarray:
    """The inverse of analyze() (nn.codec_net.Synthesis, fixed=True), overlap-added:
    (A, N, hop) coefficients -> audio (A, (N-1)*hop), starting at latent 0's centre."""
    A, N, _ = coeffs.shape
    u = dct4(np.asarray(coeffs, np.float32)) * 0.5
    h, w = hop // 2, _window(hop)
    u1, u2 = u[..., :h], u[..., h:]
    out = np.zeros((A, (N + 1) * hop), np.float32)
    out[:, :N * hop] += (np.concatenate([u2, -u2[..., ::-1]], axis=-1) * w[:hop]).reshape(A, -1)
    out[:, hop:] += (np.concatenate([-u1[..., ::-1], -u1], axis=-1) * w[hop:]).reshape(A, -1)
    return out[:, hop:-hop]


@functools.lru_cache(maxsize=4)
def _window(hop: int) -> np.ndarray:
    n = np.arange(2 * hop)
    return (np.sin(np.pi * (n + 0.5) / (2 * hop)) * np.sqrt(2.0 / hop)).astype(np.float32)
