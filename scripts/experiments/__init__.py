"""Frozen experiments, kept runnable; their results and commands are in docs/EXPERIMENTS.md."""
