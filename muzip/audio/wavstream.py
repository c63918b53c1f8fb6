"""WAV from a non-seekable stream (``muzip compress -``): a minimal RIFF/RF64 parser.

libsndfile cannot read a pipe, so this reads PCM 8/16/24/32-bit and float 32/64-bit
WAVE itself.  Every size field is checked before it is used, and reads are capped so
a hostile header (65535 channels, say) cannot make one read allocate gigabytes.
"""

from __future__ import annotations

import os
import stat
import struct
from typing import BinaryIO, Iterator

import numpy as np

from ..errors import AudioReadError
from .layouts import from_mask

WAVE_FORMAT_PCM, WAVE_FORMAT_FLOAT, WAVE_FORMAT_EXTENSIBLE = 1, 3, 0xFFFE
_MAX_READ_BYTES = 1 << 22  # per read(); blocks get shorter for very wide frames


def int24_to_float(buf: bytes) -> np.ndarray:
    b = np.frombuffer(buf[: len(buf) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = np.where(v >= 1 << 23, v - (1 << 24), v)
    return v.astype(np.float32) / float(1 << 23)


# LIST/INFO ids libsndfile maps to its strings (wav_header writes them, the stream reader reads them)
INFO_IDS = (("title", b"INAM"), ("artist", b"IART"), ("album", b"IPRD"), ("date", b"ICRD"),
            ("genre", b"IGNR"), ("tracknumber", b"ITRK"), ("comment", b"ICMT"), ("software", b"ISFT"))

def open_unsized(path: str):
    """(file, WavStreamReader) of a WAV file whose data chunk states 0 bytes (probe.riff_data_unsized), read to
    its end as a stream is. AudioReadError where this reader cannot (not PCM or float: it was read as empty,
    exit 0)."""
    f = open(path, "rb")
    try:
        return f, WavStreamReader(f, path)
    except AudioReadError as exc:
        f.close()
        raise AudioReadError(f"{path}: its data chunk states 0 bytes and audio follows, in an encoding muzip reads "
                             f"only with its size ({str(exc).split(': ', 1)[-1]})") from None


class WavStreamReader:
    """Parse the header on construction; ``blocks()`` then yields (n, channels) float32.

    ``frames`` is what the header promises (None for the streaming 0 / 0xFFFFFFFF sizes);
    an early EOF just ends the stream, and the caller compares ``frames`` with what it got.
    """

    def __init__(self, stream: BinaryIO, name: str):
        self.stream, self.name = stream, name
        self.tags: dict[str, str] = {}  # from a LIST/INFO chunk before the data, as a WAV file's are read
        self.software = ""
        head = self._read(12)
        if len(head) == 0:
            raise AudioReadError(f"{name}: empty input")
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            raise AudioReadError(f"{name}: not a WAV stream (a pipe must carry RIFF/WAVE: give a file for other "
                                 "formats)")
        ds64_data = None
        fmt = None
        while True:
            ch = self._read(8)
            if len(ch) < 8:
                raise AudioReadError(f"{name}: truncated WAV header (no data chunk)")
            cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
            if cid == b"data":
                break
            if size == 0xFFFFFFFF or size > 1 << 26:  # no sane header chunk is this big
                raise AudioReadError(f"{name}: malformed WAV header")
            body = self._read(size + (size & 1))
            if len(body) < size:
                raise AudioReadError(f"{name}: truncated WAV header")
            if cid == b"fmt ":
                fmt = body[:size]
            elif cid == b"LIST" and body[:4] == b"INFO":  # ffmpeg's `-f wav -` puts the tags here
                self.tags, self.software = _info_tags(body[4:size])
            elif cid == b"ds64" and size >= 16:
                ds64_data = struct.unpack("<Q", body[8:16])[0]
        if fmt is None or len(fmt) < 16:
            raise AudioReadError(f"{name}: WAV stream has no fmt chunk before data")
        tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
        if tag == WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
            tag = struct.unpack("<H", fmt[24:26])[0]
        width = bits // 8
        ok = (tag == WAVE_FORMAT_PCM and bits in (8, 16, 24, 32)) or (
            tag == WAVE_FORMAT_FLOAT and bits in (32, 64))
        if not ok:
            raise AudioReadError(f"{name}: unsupported WAV encoding (format {tag:#x}, {bits}-bit)")
        if channels < 1:
            raise AudioReadError(f"{name}: WAV stream has 0 channels")
        self.tag, self.width, self.rate, self.channels = tag, width, rate, channels
        extensible = len(fmt) >= 24 and struct.unpack("<H", fmt[:2])[0] == WAVE_FORMAT_EXTENSIBLE
        mask = struct.unpack("<I", fmt[20:24])[0] if extensible else 0
        self.layout = from_mask(mask, channels) if channels > 2 else None  # for the downmix, as a file's
        self.frame_bytes = width * channels
        if head[:4] == b"RF64" and size == 0xFFFFFFFF and ds64_data is not None:
            size = ds64_data
        if size in (0, 0xFFFFFFFF):
            self.frames = None  # streaming convention: read to EOF
        else:
            self.frames = size // self.frame_bytes
        self._remaining = self.frames

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            b = self.stream.read(n - got)
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)

    def _decode(self, buf: bytes) -> np.ndarray:
        if self.tag == WAVE_FORMAT_FLOAT:
            x = np.frombuffer(buf, dtype="<f4" if self.width == 4 else "<f8")
            if self.width == 8:  # beyond float32's range the cast would warn (overflow): anything past
                x = np.clip(x, -2.0, 2.0)  # full scale is clipped later anyway (NaN stays NaN, counted there)
            x = x.astype(np.float32)
        elif self.width == 1:
            x = (np.frombuffer(buf, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        elif self.width == 2:
            x = np.frombuffer(buf, dtype="<i2").astype(np.float32) / 32768.0
        elif self.width == 3:
            x = int24_to_float(buf)
        else:
            x = (np.frombuffer(buf, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
        return x.reshape(-1, self.channels)

    def blocks(self, n: int) -> Iterator[np.ndarray]:
        n = max(1, min(n, _MAX_READ_BYTES // self.frame_bytes))
        while self._remaining is None or self._remaining > 0:
            want = n if self._remaining is None else min(n, self._remaining)
            buf = self._read(want * self.frame_bytes)
            whole = len(buf) // self.frame_bytes
            if whole == 0:
                return
            if self._remaining is not None:
                self._remaining -= whole
            yield self._decode(buf[: whole * self.frame_bytes])
            if whole < want:
                return


def _info_tags(body: bytes) -> tuple[dict[str, str], str]:
    """(tags, software) of a LIST/INFO chunk's sub-chunks (INAM, IART, ... ISFT). Never raises."""
    keys = {cid: key for key, cid in INFO_IDS}
    tags, software, pos = {}, "", 0
    while pos + 8 <= len(body):
        cid, size = body[pos:pos + 4], struct.unpack("<I", body[pos + 4:pos + 8])[0]
        raw = body[pos + 8:pos + 8 + size].split(b"\0", 1)[0]
        try:
            value = raw.decode("utf-8").strip()
        except UnicodeDecodeError:  # INFO predates UTF-8: Windows tools wrote their code page (cp1252 here)
            value = raw.decode("cp1252", "replace").strip()
        if cid in keys and value:
            if keys[cid] == "software":
                software = value
            else:
                tags.setdefault(keys[cid], value)
        pos += 8 + size + (size & 1)
    return tags, software


def wav_info_tags(path: str, max_chunks: int = 4096) -> dict[str, str]:
    """The tags of a RIFF/WAVE file's LIST/INFO chunk, before or after its data (of two, the later's values
    first, as libsndfile reads them), read here: libsndfile leaves out a value of about 4 KB or more (a long
    comment), where muzip writes up to 8 KB. Never raises."""
    tags = {}
    try:
        with open(path, "rb") as f:
            head, end, pos = f.read(12), f.seek(0, os.SEEK_END), 12
            for _ in range(max_chunks if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE" else 0):
                f.seek(pos)
                ch = f.read(8)
                if len(ch) < 8:
                    break
                cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
                if cid == b"LIST" and size <= 1 << 24 and f.read(4) == b"INFO":
                    tags.update(_info_tags(f.read(size - 4))[0])
                if cid == b"data" and size == 0xFFFFFFFF:  # streamed: the data runs to the end
                    break
                pos += 8 + size + (size & 1)
                if pos >= end:
                    break
    except (OSError, ValueError, struct.error):
        pass
    return tags


def is_pipe(path: str) -> bool:
    """A FIFO or character device named as a file (a shell's <(...), /dev/stdin): read as a stream, as `-` is."""
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode) or stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False
