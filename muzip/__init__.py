"""muzip: a neural music codec (Keras Conv1D transform, integer-table entropy coding, .mz container)."""

__version__ = "1.2.0"
