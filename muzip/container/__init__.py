"""The ``.mz`` container: header, CRC-protected frame records, index and trailer.

Byte layout: docs/FORMAT.md.  Pure Python (struct + zlib): parsing never evaluates anything, and every
field read from a file is checked against limits derived from the header and the file size before it
sizes anything.
"""

from .format import (  # noqa: F401
    _FIXED, _FRAME_HEAD, _INDEX_HEAD, _PREFIX, _TRAILER, CHUNK, EXT_COVER, FRAME_OVERHEAD, FRAME_SYNC, INDEX_SYNC, MAGIC,
    MAX_COVER_BYTES, MAX_FRAME_SAMPLES, MAX_FRAMES, MAX_HEADER_BODY, MAX_PAYLOAD, MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE, TRAILER_SIZE, TRAILER_SYNC, UNKNOWN_LENGTH, VERSION, Frame, FrameEvent, Header,
    encode_header, index_size, max_frames, total_agrees,
)
from .reader import ContainerReader, joined_message, read_info  # noqa: F401
from .writer import ContainerWriter  # noqa: F401
