"""The fingerprint comparison made fast (session 53) gives what the shift-by-shift one gave."""

import numpy as np

from muzip.library import fingerprint as F


def _curve_by_shift(a, b):
    """fingerprint._curve as first written: the runs compared again at each shift."""
    bits = float(F._bits_per_frame())
    out = np.ones(2 * F.MAX_SHIFT + 1)
    for i, s in enumerate(range(-F.MAX_SHIFT, F.MAX_SHIFT + 1)):
        x, y = (a[s:], b) if s >= 0 else (a, b[-s:])
        n = min(len(x), len(y))
        if n >= F.SECOND:
            out[i] = float(F._POP[np.bitwise_xor(x[:n], y[:n])].sum()) / (n * bits)
    return out


def test_the_curve_from_one_comparison_of_all_frames_is_the_curve_shift_by_shift():
    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 5):  # bytes a frame: odd counts are padded to 16-bit words
        for t in range(60):
            na, nb = rng.integers(0, F.CHUNK + 1, 2)  # an empty run too
            a = rng.integers(0, 256, (na, k), dtype=np.uint8)
            b = rng.integers(0, 256, (nb, k), dtype=np.uint8)
            m = min(na, nb)
            if t % 3 == 0 and m > 3:  # aligned, somewhere: low error rates at a shift
                b[:m - 3] = a[3:m]
            assert np.array_equal(F._curve(a, b), _curve_by_shift(a, b)), (k, na, nb)
