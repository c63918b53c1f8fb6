"""codec.fft: scipy's pocketfft extension loaded on its own (no `import scipy.fft` at start-up), giving
exactly scipy.fft's results, and the fallback to scipy.fft."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.fft

from muzip.codec import fft


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_transforms_are_bit_identical_to_scipy_fft(rng, dtype):
    x = rng.standard_normal((2, 51, 882)).astype(dtype)
    np.testing.assert_array_equal(fft.dct4(x), scipy.fft.dct(x, type=4, axis=-1))
    strided = x[:, ::2, :]  # a non-contiguous view, as the codec's window views are
    np.testing.assert_array_equal(fft.dct4(strided), scipy.fft.dct(strided, type=4, axis=-1))
    np.testing.assert_array_equal(fft.dct4(x, axis=1), scipy.fft.dct(x, type=4, axis=1))
    np.testing.assert_array_equal(fft.rfft(x), scipy.fft.rfft(x, axis=-1))
    assert fft.dct4(x).dtype == dtype and fft.rfft(x).dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    ints = np.arange(16).reshape(2, 8)
    np.testing.assert_array_equal(fft.dct4(ints), scipy.fft.dct(ints, type=4, axis=-1))


def test_it_falls_back_to_scipy_fft_when_the_extension_cannot_be_loaded(rng, monkeypatch):
    monkeypatch.setattr(fft, "_pocketfft", lambda: None)
    x = rng.standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_array_equal(fft.dct4(x), scipy.fft.dct(x, type=4, axis=-1))
    np.testing.assert_array_equal(fft.rfft(x), scipy.fft.rfft(x, axis=-1))


def test_coding_a_clip_with_a_network_free_model_does_not_import_scipy():
    """scipy.fft's import took 0.25-0.4 s of every command's start-up."""
    code = ("import sys, numpy as np\n"
            "from muzip.codec import compress_array, decompress_bytes, load_model\n"
            "m = load_model('muzip-v2.5')\n"
            "x = (np.random.default_rng(0).standard_normal((3 * 44100, 2)) * 0.1).astype(np.float32)\n"
            "y, sr = decompress_bytes(compress_array(x, 44100, 24, model=m), model=m)\n"
            "assert y.shape == x.shape\n"
            "print(sorted(k for k in sys.modules if k == 'scipy' or k.startswith('scipy.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
