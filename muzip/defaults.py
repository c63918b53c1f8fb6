"""Default model names: the one place they are set."""

# What compress uses unless --model says otherwise: muzip-v2.6, the model ahead of Opus on most measures
# (docs/RD.md, docs/RD-band.md). Until session 35 this was muzip-v1, which compresses 1.5-3.7x faster as a
# whole command (docs/logs/cli_bench_s35_v1.log); with the banded coder's compiled loops v2.6 compresses a
# 60-minute file at LAME's speed and decompresses it faster than v1 (docs/BENCHMARKS.md), while v1 needs
# ~2.5x Opus's bits for Opus's mel distance. Every model ever shipped stays installed and decodes its files
# (tests/codec/test_golden.py).
DEFAULT_MODEL = "muzip-v2.6"
# The codec whose latents the library's embedders read (not the compress default).
EMBED_MODEL = "muzip-v1"
# The embedder `muzip index` uses.
DEFAULT_EMBEDDER = "embed-v2"
# `muzip train --from`'s default: the compress default, whose tables muzip train counts on the user's music
# (muzip.train.adapt); muzip-v1 and muzip-v2 are still fine-tuned by gradient steps when named.
TRAIN_FROM = DEFAULT_MODEL
# The restorer `muzip restore` uses unless --model says otherwise.
RESTORE_MODEL = "restore-v1"
# The model scripts/bench/rd_bench.py measures and publishes (docs/RD.md).
RD_MODEL = "muzip-v2.6"
