"""Benchmarks: make bench (docs/BENCHMARKS.md, RD.md, RESTORE.md, LIBRARY.md) and their parts."""
