"""Default model names: the one place they are set."""

# What compress uses unless --model says otherwise: muzip-v2.6, the model ahead of Opus on most measures
# (docs/RD.md, docs/RD-band.md). Until session 35 this was muzip-v1, whose whole commands ran 3-4x faster;
# with the banded coder's compiled loops v2.6 codes a 60-minute file at LAME's speed (docs/logs/
# cli_bench_s35_v26.log), while v1 needs ~2.5x Opus's bits for Opus's mel distance. Every model ever
# shipped stays installed and decodes its files (tests/codec/test_golden.py).
DEFAULT_MODEL = "muzip-v2.6"
# The codec whose latents the library's embedders read (not the compress default).
EMBED_MODEL = "muzip-v1"
# The embedder `muzip index` uses.
DEFAULT_EMBEDDER = "embed-v2"
# `muzip train --from`'s default: the fastest codec that muzip train can fine-tune.
TRAIN_FROM = "muzip-v1"
# The restorer `muzip restore` uses unless --model says otherwise.
RESTORE_MODEL = "restore-v1"
# The model scripts/bench/rd_bench.py measures and publishes (docs/RD.md).
RD_MODEL = "muzip-v2.6"
