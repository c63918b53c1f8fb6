"""The WAV writer's own bytes: a 44-byte PCM header (16- or 24-bit) and the chunks after the data (LIST/INFO,
which libsndfile reads, and id3 for what INFO cannot hold). See write.py for why WAV is written by hand."""

from __future__ import annotations

import struct

from ..errors import AudioFormatError
from .tags import id3_bytes
from .wavstream import INFO_IDS, WAVE_FORMAT_PCM

_MAX_INFO_VALUE = 8192  # each LIST/INFO value capped (a tag, not a document)
U32 = 0xFFFFFFFF
FMT_AND_DATA = 4 + 24 + 8  # "WAVE" + fmt chunk + data chunk header, counted in the RIFF size


def describe(channels: int, rate: int) -> str:
    return f"{channels} channel{'s' if channels != 1 else ''} at {rate} Hz"


def check_wav_params(rate: int, channels: int, width: int = 2) -> None:
    # Every header field must fit: rate u32, channels u16, byte rate u32, block align u16.
    if not (1 <= channels and channels * width <= 0xFFFF and 1 <= rate and rate * channels * width <= U32):
        raise AudioFormatError(f"cannot write a WAV of {describe(channels, rate)}")


def wav_header(sample_rate: int, channels: int, data_bytes: int | None, extra: int = 0, bits: int = 16) -> bytes:
    """44-byte PCM header (16- or 24-bit); ``extra`` = bytes of chunks after the data (counted in RIFF)."""
    width = bits // 8
    check_wav_params(sample_rate, channels, width)
    if data_bytes is None or data_bytes + extra > U32 - FMT_AND_DATA:
        riff = data = U32
    else:
        riff, data = FMT_AND_DATA + data_bytes + extra, data_bytes
    return (
        b"RIFF" + struct.pack("<I", riff) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, WAVE_FORMAT_PCM, channels, sample_rate,
                                sample_rate * channels * width, channels * width, bits)
        + b"data" + struct.pack("<I", data)
    )


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def wav_trailer(tags: dict[str, str], cover: tuple[str, bytes] | None, software: str | None = None) -> bytes:
    """The chunks that follow the data: LIST/INFO (with ISFT, the software), plus id3 for what INFO cannot hold."""
    out = info_chunk({**tags, "software": software} if software else tags)
    # a value over INFO's cap goes whole into id3 too, which readers prefer
    if cover is not None or any(k not in dict(INFO_IDS) or len(v.encode("utf-8")) > _MAX_INFO_VALUE
                                for k, v in tags.items()):
        id3 = id3_bytes(tags, cover)
        out += _chunk(b"id3 ", id3) if id3 else b""
    return out


def info_chunk(tags: dict[str, str]) -> bytes:
    """The LIST/INFO chunk for ``tags`` (UTF-8, NUL-terminated, padded), or b"" if none."""
    body = b"INFO"
    for key, cid in INFO_IDS:
        value = tags.get(key, "").replace("\0", "")
        if not value:
            continue
        raw = value.encode("utf-8")[:_MAX_INFO_VALUE].decode("utf-8", "ignore").encode("utf-8") + b"\0"
        body += _chunk(cid, raw)
    return b"" if body == b"INFO" else _chunk(b"LIST", body)
