"""A read-only file object over bytes put together from an open file (pread) and others, for libsndfile's virtual
I/O: flac_resync's spliced FLAC and mp3_repair's repaired MP3."""

from __future__ import annotations

import io


class ByteView(io.RawIOBase):
    """Seeking and telling over `size` bytes; a subclass reads them (readinto) from `pos` on."""

    def __init__(self, size: int):
        super().__init__()
        self.size, self.pos = size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.pos = max(0, offset + (0, self.pos, self.size)[whence])
        return self.pos

    def tell(self):
        return self.pos
