"""What AudioSource says of a file as it opens it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AudioInfo:
    sample_rate: int
    channels: int  # output channels (after any downmix)
    # Frames per channel as the header says; None when unknown (streamed stdin WAV).  A cut
    # FLAC/MP3 over-states it (AudioSource.samples_read is the truth, with a warning).
    num_samples: int | None
    format: str  # "wav", "flac", "ogg", "mp3", "m4a", ...
    tags: dict[str, str] = field(default_factory=dict)
    cover: tuple[str, bytes] | None = None  # (mime, image bytes), front cover preferred
    codec: str | None = None  # "pcm", "flac", "alac", "mp3", "vorbis", "opus", "aac", ... (probe: None unknown)
    bits: int | None = None  # bits per sample of a lossless codec (16, 24, ...), else None
    software: str = ""  # what made it, as the file says (WAV's ISFT, a Vorbis comment): tags.read_decoded_mark
    # where num_samples is None, a length the file states but not exactly, for what needs only about it (a catalog's
    # duration): an Ogg Opus whose page positions are off (its last page's), MPEG in a WAV (its fact chunk's)
    about_samples: int | None = None
