"""Default model names: the one place they are set."""

# What compress uses unless --model says otherwise. muzip-v1, not the better-sounding muzip-v2.1: v2.1's
# whole commands run 3-4x slower (a 60-minute file at 57x real time, not v1's 270x; a 10-s clip at 13x,
# not 34x: docs/logs/bench_s12_v21_as_default.log), below the CLI's speed targets. Every model ever shipped
# stays installed and decodes its files (tests/codec/test_golden.py).
DEFAULT_MODEL = "muzip-v1"
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
