"""Default model names, and MUZIP_THREADS's bounds: the one place they are set."""

# What compress uses unless --model says otherwise: muzip-v2.7, v2.6 with its band-gain levels coded as their
# change (session 36: lower mel distance and LSD than v2.6 at every rate on both validation sets, the same
# ViSQOL within 0.005 or better; docs/logs/v27_vs_v26_s36.log). muzip-v1 compresses 1.5-3.7x faster as a whole
# command (docs/logs/cli_bench_s35_v1.log) but needs ~2.5x Opus's bits for Opus's mel distance. Every model
# ever shipped stays installed and decodes its files (tests/codec/test_golden.py).
DEFAULT_MODEL = "muzip-v2.7"
# The codec whose latents embed-v0, v1 and v2 read (not the compress default); embed-v3 reads MDCT coefficients
# of the audio or of any model's .mz (muzip.library.coefficients).
EMBED_MODEL = "muzip-v1"
# The embedder `muzip index` uses: embed-v3, descriptors projected with the collection's own statistics (session
# 38: leave-one-corpus-out, ahead of Musly and the classical statistics on every mean measure, where embed-v2 had
# learned the very corpora it was scored on; docs/EXPERIMENTS.md, models/embed-v3/MODEL.md). embed-v3.1 (session
# 43) is the same recipe fitted with sped-up and slowed-down copies in each track's class, so a track played 4 %
# off speed still finds its original; a catalog of embed-v3 is re-projected from its descriptors, not read again.
# embed-v4 (session 46) is embed-v3.1's recipe on the descriptors with onset patterns after them (where in the
# spectrum which periodicities sit): held out, segment P@1 +0.05 and 1-NN +0.02 on the means, the styles fold's
# retrieval ahead of Musly and level with the classical statistics; its catalogs are described anew.
# embed-v5 (session 47) reads each band's onsets over a floor 10 dB under its mean (onset patterns v2): a
# default-model .mz at 24 kbps then scores within 0.02 of its audio on every held-out mean (segment P@1 was
# 0.026 behind), and 17 of 18 fold cells are ahead of both baselines (16); audio P@1 0.681 against 0.701.
DEFAULT_EMBEDDER = "embed-v5"
# `muzip train --from`'s default: the compress default, whose tables muzip train counts on the user's music
# (muzip.train.adapt); muzip-v1 and muzip-v2 are still fine-tuned by gradient steps when named.
TRAIN_FROM = DEFAULT_MODEL
# The restorer `muzip restore` uses unless --model says otherwise.
RESTORE_MODEL = "restore-v1"
# The model scripts/bench/rd_bench.py measures and publishes (docs/RD.md).
RD_MODEL = "muzip-v2.7"
# MUZIP_THREADS's most (the CLI refuses more, and anything but a whole number from 1: it was ignored unsaid;
# 3,000,000,000 reached onnxruntime as an internal error).
MAX_THREADS = 1024
