"""Does the entropy coder run in parallel in two threads? Wall time of two constriction encodes, one after the
other and in two threads at once (the codec's worker threads overlap only work that releases the GIL).

    .venv/bin/python -m scripts.bench.entropy_threads      # prints both walls and their ratio
"""

import threading
import time

import constriction
import numpy as np


def main(symbols: int = 400_000, alphabet: int = 64) -> float:
    rng = np.random.default_rng(0)
    probs = rng.random((symbols, alphabet)) + 0.01
    probs /= probs.sum(axis=1, keepdims=True)
    data = rng.integers(0, alphabet, symbols).astype(np.int32)
    family = constriction.stream.model.Categorical(perfect=False)  # per-symbol rows, as codec.entropy.banded

    def encode():
        constriction.stream.stack.AnsCoder().encode_reverse(data, family, probs)

    encode()  # warm-up
    t = time.perf_counter()
    encode()
    encode()
    serial = time.perf_counter() - t
    threads = [threading.Thread(target=encode) for _ in range(2)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    parallel = time.perf_counter() - t
    print(f"two encodes of {symbols} symbols: one after the other {serial:.3f} s, in two threads {parallel:.3f} s "
          f"(speed-up {serial / parallel:.2f}; 2.0 would mean the GIL is released)")
    return serial / parallel


if __name__ == "__main__":
    main()
