"""Compatibility shim: tags now live in ``muzip.audio.tags``."""

from .audio.tags import (MAX_COVER_BYTES, SOUNDFILE_KEYS, TAG_KEYS, add_flac_tags, clean_cover, clean_tags,
                         read_metadata, read_mutagen_tags, read_soundfile_tags, read_tags,
                         set_soundfile_tags, write_tags)

__all__ = [
    "MAX_COVER_BYTES", "SOUNDFILE_KEYS", "TAG_KEYS", "add_flac_tags", "clean_cover", "clean_tags",
    "read_metadata", "read_mutagen_tags", "read_soundfile_tags", "read_tags", "set_soundfile_tags",
    "write_tags",
]
