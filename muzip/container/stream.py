"""Forward-only buffered reading with a resync whose work per byte of file is bounded.

Damaged or crafted files may hold a sync word at every byte, each claiming a long record. The search
for the next sync is one regex pass that never copies the buffer, and records that fail their CRC may
cost at most CRC_WORK_PER_BYTE bytes of checksum work per byte the scan has advanced (plus a grace
allowance), so no file makes the scan quadratic. Honest damage costs about one pass over the file and
never comes near the limit; a file crafted to exhaust it loses frames, not time.
"""

from __future__ import annotations

import re
import zlib

from .format import CHUNK, MAX_FRAME_SAMPLES, MAX_FRAMES, MAX_PAYLOAD, TRAILER_SIZE

# Resync candidates: a sync word followed by bytes that can be in range (frame: index < 2^24, num_samples
# <= 2^20, payload_len < 2^25; index: n_frames < 2^24). Sync spam with impossible fields is skipped at
# regex speed; the reader checks the fields exactly.
_SYNC = re.compile(rb"MZFR[\s\S]{3}\x00[\s\S]{2}[\x00-\x10]\x00[\s\S]{5}[\x00\x01]|MZIX[\s\S]{3}\x00")
_SYNC_SPAN = 18  # bytes a candidate match needs
assert MAX_FRAMES <= 1 << 24 and MAX_FRAME_SAMPLES <= 1 << 20 and MAX_PAYLOAD < 1 << 25
CRC_WORK_PER_BYTE = 8
TAIL_BYTES = TRAILER_SIZE
CRC_WORK_GRACE = 64 << 20  # bytes: more than any single record (16 MiB payload)


class Stream:
    """A file seen from `base` on; positions are relative to the container start. `size` (the container's
    size, when the file is seekable) lets records that run past the end be rejected without reading."""

    def __init__(self, f, base: int = 0, size: int | None = None):
        self.f, self.base, self.buf, self.eof = f, base, bytearray(), False
        self.size, self.start, self.crc_spent = size, base, 0
        self.tail = b""  # the last TAIL_BYTES bytes read so far (the trailer, once at EOF), kept when dropped

    def _more(self, want: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.f.read(max(want, CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        self.tail = (self.tail + chunk[-TAIL_BYTES:])[-TAIL_BYTES:]
        return True

    def fill(self, pos: int, n: int) -> int:
        """Buffer bytes [pos, pos+n) as far as the file has them; returns how many are buffered."""
        while self.base + len(self.buf) < pos + n and self._more(pos + n - self.base - len(self.buf)):
            pass
        return max(0, min(n, self.base + len(self.buf) - pos))

    def get(self, pos: int, n: int) -> bytes:
        """Up to n bytes at pos (fewer only at EOF)."""
        if self.base + len(self.buf) < pos + n:
            self.fill(pos, n)
        a = pos - self.base
        if n <= 64:  # record heads: the resync loop's hot path
            return bytes(self.buf[a:a + n])
        with memoryview(self.buf) as mv:  # one copy, not two (slice, then bytes)
            return bytes(mv[a:a + n])

    def drop_before(self, pos: int) -> None:
        if pos > self.base:
            del self.buf[:pos - self.base]  # O(1): bytearray advances its start
            self.base = pos

    def find_sync(self, pos: int) -> int | None:
        """Offset of the next FRAME_SYNC or INDEX_SYNC at or after pos whose fields can be in range, or
        None at EOF (a record too short to hold its head is never reported)."""
        while True:
            self.drop_before(pos)
            m = _SYNC.search(self.buf, pos - self.base)
            if m:
                return self.base + m.start()
            pos = max(pos, self.base + len(self.buf) - _SYNC_SPAN + 1)
            if not self._more():
                return None

    def affordable(self, pos: int, n: int) -> bool:
        """Whether checking an n-byte record at pos stays within the work allowance; if not, the caller
        treats the record as damaged without reading it."""
        return self.crc_spent + n <= CRC_WORK_GRACE + CRC_WORK_PER_BYTE * (pos - self.start)

    def crc_ok(self, pos: int, n: int) -> bool:
        """Whether CRC-32 of the n buffered bytes at pos equals the u32 after them (failures are charged
        to the work allowance)."""
        a = pos - self.base
        with memoryview(self.buf) as mv:
            ok = zlib.crc32(mv[a:a + n]) == int.from_bytes(mv[a + n:a + n + 4], "little")
        if not ok:
            self.crc_spent += n
        return ok
