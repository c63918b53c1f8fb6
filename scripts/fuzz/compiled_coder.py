"""Damaged banded payloads through every decoder: each build of the compiled loops (codec.entropy.compiled:
C, numba) and constriction must give the same latents or the same error, for every payload.

    .venv/bin/python -m scripts.fuzz.compiled_coder SEED CASES [MODEL]
"""
import sys
import time

import numpy as np

from muzip.codec import load_model
from muzip.codec.entropy import compiled
from muzip.errors import CorruptFileError


def latents(rng, channels, n, width=882):
    """Laplacian latents (channels, n, width), larger at low channels, zero above a random cut-off, now and
    then an escape (also tests/codec/test_entropy_compiled.py's)."""
    scale = np.exp(-np.arange(width) / rng.uniform(50, 400)) * rng.uniform(0.2, 20)
    q = np.round(rng.laplace(0, 1, (channels, n, width)) * scale).astype(np.int32)
    q[:, :, rng.integers(0, width):] = 0
    if rng.random() < 0.5:
        q[rng.integers(0, channels), rng.integers(0, n), rng.integers(0, width)] = rng.integers(-70000, 70000)
    return q


def main():
    c = load_model(sys.argv[3] if len(sys.argv) > 3 else "muzip-v2.6").coder
    rng = np.random.default_rng(int(sys.argv[1]))
    N = int(sys.argv[2])
    backends = [None, *compiled.backends().values()]  # constriction first: the reference
    same = refused = 0
    t = time.time()
    for trial in range(N):
        ch, n = int(rng.integers(1, 3)), int(rng.integers(1, 51))
        with compiled.using(None):
            data = bytearray(c.encode(latents(rng, ch, n), [9] * ch))
        k = trial % 4
        if k == 0 and data:
            for _ in range(int(rng.integers(1, 4))):
                data[rng.integers(0, len(data))] ^= 1 << int(rng.integers(0, 8))
        elif k == 1:
            del data[len(data) - 4 * int(rng.integers(0, 1 + len(data) // 4)):]
        elif k == 2:
            data = bytearray(rng.integers(0, 256, 4 * int(rng.integers(0, 200)), dtype=np.uint8).tobytes())
        else:
            i = int(rng.integers(0, len(data) + 1))
            data[i:i] = rng.integers(0, 256, 4 * int(rng.integers(1, 8)), dtype=np.uint8).tobytes()
        n2 = n if rng.random() < 0.8 else int(rng.integers(1, 51))
        out = []
        for loops in backends:
            with compiled.using(loops):
                try:
                    out.append(c.decode(bytes(data), n2, [9] * ch))
                except CorruptFileError as e:
                    out.append(str(e))
        if any(isinstance(o, str) for o in out):
            assert all(o == out[0] for o in out), (trial, out)
            refused += 1
        else:
            assert all(np.array_equal(out[0], o) for o in out[1:]), trial
        same += 1
    print(f"seed {sys.argv[1]}: {same} damaged payloads, all {len(backends)} decoders agree ({refused} refused by both, {same - refused} decoded to the same latents), {time.time() - t:.0f} s")


if __name__ == "__main__":
    main()
