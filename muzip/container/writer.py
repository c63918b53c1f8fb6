"""Writing ``.mz`` files front to back in one pass (a pipe will do)."""

from __future__ import annotations

import struct
import zlib

from .format import (
    _FRAME_HEAD, _INDEX_HEAD, FRAME_SYNC, INDEX_SYNC, MAX_PAYLOAD, TRAILER_SYNC, Frame, Header, encode_header,
    max_frames, total_agrees,
)


class ContainerWriter:
    """Streams a .mz file to ``fileobj`` (only ``write`` is needed; seeking never happens)."""

    def __init__(self, fileobj, header: Header):
        self._f = fileobj
        self.header = header
        data = encode_header(header)
        self._f.write(data)
        self._header_size = len(data)
        self.bytes_written = len(data)
        self._sizes: list[int] = []
        self._samples = 0
        self._finished = False
        self._max_frames = max_frames(header)

    def write_frame(self, frame: Frame) -> int:
        if self._finished:
            raise ValueError("write_frame after finish")
        if frame.index != len(self._sizes) or frame.index >= self._max_frames:
            raise ValueError(f"frame index {frame.index}, expected {len(self._sizes)}")
        if not 1 <= frame.num_samples <= self.header.frame_samples:
            raise ValueError(f"frame num_samples {frame.num_samples} not in 1..{self.header.frame_samples}")
        mid, side = frame.levels
        if not (0 <= mid <= 255 and 0 <= side <= 255) or (self.header.channels == 1 and side != 255):
            raise ValueError(f"bad levels {frame.levels} (u8 each; side must be 255 for mono)")
        payload = bytes(frame.payload)
        if len(payload) > MAX_PAYLOAD:
            raise ValueError("frame payload larger than 16 MiB")
        rec = _FRAME_HEAD.pack(FRAME_SYNC, frame.index, frame.num_samples, mid, side, len(payload)) + payload
        rec += struct.pack("<I", zlib.crc32(rec))
        self._f.write(rec)
        self._sizes.append(len(rec))
        self._samples += frame.num_samples
        self.bytes_written += len(rec)
        return len(rec)

    def finish(self, total_num_samples: int) -> None:
        """Write index and trailer. total_num_samples (original rate) must match the frames' samples
        within resampler rounding: readers reject an index that disagrees with its frames."""
        if self._finished:
            raise ValueError("finish called twice")
        if not total_agrees(self.header, total_num_samples, self._samples, self._samples):
            raise ValueError(f"total_num_samples {total_num_samples} does not match the frames "
                             f"({self._samples} samples at {self.header.model_rate} Hz)")
        index_offset = self.bytes_written
        rec = _INDEX_HEAD.pack(INDEX_SYNC, len(self._sizes), self._header_size if self._sizes else index_offset)
        rec += struct.pack(f"<{len(self._sizes)}I", *self._sizes) + struct.pack("<Q", total_num_samples)
        rec += struct.pack("<I", zlib.crc32(rec))
        tr = TRAILER_SYNC + struct.pack("<Q", index_offset)
        tr += struct.pack("<I", zlib.crc32(tr))
        self._f.write(rec + tr)
        self.bytes_written += len(rec) + len(tr)
        self._finished = True
        if hasattr(self._f, "flush"):
            self._f.flush()
