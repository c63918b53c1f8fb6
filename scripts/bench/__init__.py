"""Benchmarks: make bench (docs/BENCHMARKS.md, RD.md, RESTORE.md, LIBRARY.md, LIBRARY-SEEN.md) and their parts."""
