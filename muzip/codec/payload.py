"""The payload of one frame record (container.format holds the record around it).

    latent payload = count (u16: latent vectors per audio channel) + the latent coder's ANS words
    band-gain models: payload = latent payload length (u32) + latent payload + the band gains' bytes
    envelope models: ... + latent payload + the temporal envelope's bytes (self-delimiting) + band gains'
    fill-level models: ... + latent payload + one fill byte per audio channel + envelope + band gains'
    (fill bytes, envelope and gains only in frames with a non-zero latent)

Everything here is integers and bytes: decode_frame() is what decode, `muzip test` and the library's
read_latents share.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import CorruptFileError

_COUNT = struct.Struct("<H")  # frame payload = latent count (u16) + ANS words
_LEN = struct.Struct("<I")  # gain payload = latent payload length (u32) + latent payload + gain words
COUNT_BYTES, LENGTH_BYTES = _COUNT.size, _LEN.size


def encode_payload(coder, q: np.ndarray, levels) -> bytes:
    """A frame payload: the number of latent vectors per audio channel, then the coded symbols."""
    return _COUNT.pack(q.shape[1]) + coder.encode(q, levels)


def decode_payload(coder, payload: bytes, max_latents: int, levels) -> np.ndarray:
    """Inverse of encode_payload; CorruptFileError if the payload is malformed."""
    try:
        (n,) = _COUNT.unpack_from(payload)
    except struct.error:
        raise CorruptFileError("payload too short") from None
    if not 1 <= n <= max_latents:
        raise CorruptFileError("bad latent count")
    return coder.decode(payload[_COUNT.size:], n, levels)


def join_payload(latent_payload: bytes, gain_words: bytes) -> bytes:
    return _LEN.pack(len(latent_payload)) + latent_payload + gain_words


def split_payload(payload: bytes) -> tuple[bytes, bytes]:
    try:
        (n,) = _LEN.unpack_from(payload)
    except struct.error:
        raise CorruptFileError("payload too short") from None
    if n > len(payload) - _LEN.size:
        raise CorruptFileError("bad latent payload length")
    return payload[_LEN.size:_LEN.size + n], payload[_LEN.size + n:]


def latent_payload(config, payload: bytes) -> bytes:
    """The latent part of a frame payload (the whole payload for models without band gains)."""
    return split_payload(payload)[0] if config.get("band_gains") is not None else payload


def decode_frame(coder, gains, payload: bytes, max_latents: int, levels, envelope=None, fill=None):
    """A frame payload -> (latents q (A, n, C), gain symbols (A, n, bands) or None, envelope codes (n, blocks)
    or None, fill levels (A,) or None); envelope, fill: the model's codec.envelope and codec.fill_levels,
    for models that have them."""
    if gains is None:
        return decode_payload(coder, payload, max_latents, levels), None, None, None
    latents, words = split_payload(payload)
    q = decode_payload(coder, latents, max_latents, levels)
    codes = fill_levels = None
    if fill is not None and q.any():  # a frame of zero latents carries no fill, gains or envelope
        fill_levels, used = fill.parse(words, q.shape[0])
        words = words[used:]
    if envelope is not None and q.any():
        codes, used = envelope.parse(words, q.shape[1])
        words = words[used:]
    return q, gains.decode(words, q), codes, fill_levels
