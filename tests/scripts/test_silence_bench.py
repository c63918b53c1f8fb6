"""scripts/bench/silence_bench.py: the gapped signal and the per-rate measurement, with stand-in codecs."""

import numpy as np

from scripts.bench.silence_bench import GAP_S, PIECE_S, PIECES, SR, gapped, measure


def _music(seconds, rng):
    return (0.2 * rng.standard_normal((int(seconds * SR), 2))).astype(np.float32)


def test_gapped_puts_digital_silence_between_the_pieces():
    rng = np.random.default_rng(0)
    x = gapped(_music(PIECES * PIECE_S, rng))
    n, g = int(PIECE_S * SR), int(GAP_S * SR)
    assert len(x) == PIECES * n + (PIECES - 1) * g
    for k in range(1, PIECES):
        assert not x[k * n + (k - 1) * g:k * (n + g)].any()  # a gap
        assert np.abs(x[k * (n + g)]).max() > 0               # the music back at once


def test_measure_tells_a_clean_codec_from_one_that_leaks_into_the_gaps():
    rng = np.random.default_rng(1)
    signals = [gapped(_music(PIECES * PIECE_S, rng))]
    clean = measure(lambda x, kbps: x, lambda y: (y, SR), signals, (64,), lambda s: None)
    kbps, worst, mean, gaps = clean[64]
    assert gaps == PIECES - 1 and worst == 0.0 and mean == 0.0

    def smear(x, kbps):  # each gap's last 10 ms filled with noise at -40 dBFS: heard before the music
        y = x.copy()
        n, g = int(PIECE_S * SR), int(GAP_S * SR)
        for k in range(1, PIECES):
            y[k * (n + g) - int(0.01 * SR):k * (n + g)] = 0.01 * rng.standard_normal((int(0.01 * SR), 2))
        return y
    leaky = measure(smear, lambda y: (y, SR), signals, (64,), lambda s: None)
    assert 8.0 <= leaky[64][1] <= 11.5 and leaky[64][3] == PIECES - 1
