"""Entropy coding of a frame's integer symbols: one interface, four coders.

* levels.LatentCoder  -- muzip-v1: a static table per (role, quantizer level, latent channel);
* context.ContextCoder -- muzip-v2 to v2.3: a table per (role, channel band, context of the previous vectors);
* banded.BandedCoder -- muzip-v2.4: a class per band and vector first, then only non-empty bands' latents
  (on long files through compiled loops that give the same words: compiled, compiled_loops);
* codec.band_gains.BandGains -- the band-energy symbols of muzip-v2.1, coded after a frame's latents.

Each turns symbols into little-endian u32 ANS words (constriction) with integer tables summing to
2**PRECISION, decodes them back given only integers the decoder already has (exact on any machine), and
raises CorruptFileError, never anything else, on malformed words.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .ans import PRECISION, counts_from_histogram  # noqa: F401 - the tables' shared form
from .banded import BandedCoder, BandedTables, count_banded_tables
from .context import ContextCoder, count_context_tables
from .levels import LatentCoder


class Coder(Protocol):
    """What every coder of a frame's symbols provides. `known` is what the decoder holds before it reads the
    words: the latent coders take the count of vectors and one quantizer level per audio channel; band gains
    take the frame's decoded latents."""

    def encode(self, symbols: np.ndarray, *known) -> bytes: ...

    def decode(self, data: bytes, *known) -> np.ndarray: ...


def coder_for(config, counts) -> LatentCoder | ContextCoder | BandedCoder:
    """The latent coder a model's config (a ModelConfig, or a dict while tables are being made) names:
    per-level static tables (muzip-v1), context tables, or banded tables (counts: a BandedTables)."""
    entropy = config.get("entropy", "levels")
    if entropy == "banded":
        return BandedCoder(counts, config)
    if entropy == "context":
        return ContextCoder(np.asarray(counts), config)
    return LatentCoder(counts, config["alphabet_radius"])


def count_latent_tables(symbol_blocks, config):
    """Tables for a context or banded model from (role, q (n, C)) blocks, each one frame's latents."""
    if config.get("entropy") == "banded":
        return count_banded_tables(symbol_blocks, config)
    return count_context_tables(symbol_blocks, config)
