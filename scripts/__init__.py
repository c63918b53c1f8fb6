"""The repository's scripts (not part of the installed package). Run them as modules from the repository root,
e.g. `python -m scripts.bench.rd_bench --quick`; they import muzip and each other absolutely (scripts.data.corpus).

bench/: benchmarks behind docs/*.md; models/: training and model making; fuzz/: the decoder fuzzer;
data/: the corpus; experiments/: frozen experiments (results in docs/EXPERIMENTS.md); demo.py: `make demo`.
"""
