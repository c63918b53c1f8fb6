"""The coder mutations of the .mz fuzzer, past the container into what each model's coders read: `payload`
(bits flipped in a frame's latent or band-gain bytes, CRC fixed: the levels coder of muzip-v1, the context
coder of muzip-v2 and -v2.1) and `gains` (band-gain symbols re-coded out of range or at the alphabet's
edges, a wrong stride, gains missing or extra: muzip-v2.1's band gains; the `payload` mutation for models
without them), `envelope` (muzip-v2.2's temporal envelope re-coded or replaced) and `fill` (muzip-v2.5's
fill-level bytes changed, cut or left out). Same signature as the container mutations; registered in
scripts/fuzz/fuzz_cases.py.
"""

from __future__ import annotations

import struct

import numpy as np

from muzip.container import _FRAME_HEAD
from scripts.fuzz.fuzz_container_cases import m_frame_fields
from scripts.fuzz.fuzz_seeds import frame_record


def _frame_with_payload(rng, s, pred=lambda payload: True):
    """(record number, its fields, its payload) of a random frame whose payload satisfies pred, or None."""
    picks = [i for i, r in enumerate(s.parsed.records) if pred(r[18:-4])]
    if not picks:
        return None
    i = picks[int(rng.integers(len(picks)))]
    _, idx, ns, lm, ls, _ = _FRAME_HEAD.unpack_from(s.parsed.records[i])
    return i, (idx, ns, (lm, ls)), s.parsed.records[i][18:-4]


def _decoded_frame(rng, s, min_rest: int):
    """A random frame whose bytes after the latent payload number more than min_rest, decoded:
    (record number, fields, latent payload, its fill-level bytes (b"" for models without), the bytes after
    them, q, gain codes, envelope codes), or None."""
    from muzip.codec.payload import decode_frame, split_payload

    def has_rest(payload):
        try:
            return len(split_payload(payload)[1]) > min_rest
        except Exception:  # noqa: BLE001 - a seed's payloads are valid; this is only a filter
            return False
    pick = _frame_with_payload(rng, s, has_rest)
    if pick is None:
        return None
    i, fields, payload = pick
    latent, rest = split_payload(payload)
    levels = list(fields[2][:s.header.channels])
    fill = s.model.fill_levels
    q, codes, env, _ = decode_frame(s.model.coder, s.model.band_gains, payload, s.model.config.latents_per_frame + 1,
                                    levels, s.model.envelope, fill)
    fill_bytes = rest[:q.shape[0]] if fill is not None and q.any() else b""
    return i, fields, latent, fill_bytes, rest[len(fill_bytes):], q, codes, env


def _with_payload(s, i, fields, payload) -> bytes:
    recs = list(s.parsed.records)
    recs[i] = frame_record(fields[0], fields[1], fields[2], payload)
    return s.parsed.assemble(records=recs)


def m_payload(rng, s, seeds):
    """Bits flipped inside one frame's payload, CRC fixed: the entropy decoder (levels or context coder)
    and, for band-gain models, the gain decoder read the damage."""
    pick = _frame_with_payload(rng, s, lambda payload: len(payload) > 2)
    if pick is None:
        return m_frame_fields(rng, s, seeds)
    i, fields, payload = pick
    b = bytearray(payload)
    regions = [(2, len(b))]  # the coder's words, after the u16 latent count
    if getattr(s.model, "band_gains", None) is not None:  # u32 length, count, latent words, then the gains
        n = struct.unpack_from("<I", b)[0] if len(b) >= 4 else len(b)
        regions = [(6, 4 + n), (4 + n, len(b))] if 4 + n <= len(b) else []
    regions = [(lo, hi) for lo, hi in regions if hi > lo]
    if not regions or rng.random() < 0.1:  # anywhere: the counts and lengths too
        regions = [(0, len(b))]
    lo, hi = regions[int(rng.integers(len(regions)))]
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(8))
    return _with_payload(s, i, fields, bytes(b))


def m_gains(rng, s, seeds):
    """A frame's band gains decoded and re-coded (constriction, CRC fixed) with symbols no encoder writes:
    a ratio past the encoder's cap, the alphabet's edges, a wrong stride, gains missing or appended."""
    gains = getattr(s.model, "band_gains", None)
    if gains is None:
        return m_payload(rng, s, seeds)
    from muzip.codec.band_gains import LEVEL, RATIO_MAX
    from muzip.codec.payload import join_payload
    pick = _decoded_frame(rng, s, 1)
    if pick is None:
        return m_payload(rng, s, seeds)
    i, fields, latent, fill_bytes, words, q, codes, _ = pick
    env_bytes = fill_bytes
    if s.model.envelope is not None:  # fill and envelope bytes come first and are kept as they are
        used = s.model.envelope.parse(words, q.shape[1])[1]
        env_bytes, words = fill_bytes + words[:used], words[used:]
    stride = words[0]
    nz = np.stack([gains.nonzero(qa, stride) for qa in q])
    sym = np.where(nz == 0, codes[:, ::stride] - LEVEL, codes[:, ::stride]).astype(np.int32)
    style = int(rng.integers(6))
    if style == 0:  # ratio symbols past the cap: up to the alphabet's +-radius (+-120 dB)
        where = np.argwhere(nz > 0)
        if len(where):
            for a, t, b in where[rng.integers(len(where), size=int(rng.integers(1, 4)))]:
                sym[a, t, b] = int(rng.choice([-1, 1])) * int(rng.integers(RATIO_MAX + 1, gains.radius + 1))
    elif style == 1:  # every symbol anywhere in the alphabet
        sym = rng.integers(-gains.radius, gains.radius + 1, sym.shape).astype(np.int32)
    elif style == 2:  # the alphabet's edges everywhere (legal for levels: the loudest a file can ask for)
        sym = np.where(nz == 0, int(rng.choice([-1, 1])) * gains.radius, int(rng.choice([-1, 1])) * RATIO_MAX)
        sym = sym.astype(np.int32)
    elif style == 3:  # a different stride byte before the same words
        words = bytes([int(rng.choice([k for k in (1, 2, 3, 4, 0, 255) if k != stride]))]) + words[1:]
        return _with_payload(s, i, fields, join_payload(latent, env_bytes + words))
    elif style == 4:  # gains missing, cut short, or junk after them
        cut = int(rng.integers(0, len(words)))
        tail = rng.integers(0, 256, int(rng.integers(0, 64)), np.uint8).tobytes() if rng.random() < 0.5 else b""
        return _with_payload(s, i, fields, join_payload(latent, env_bytes + words[:cut] + tail))
    else:  # symbols nudged by a few steps each
        sym = (sym + rng.integers(-3, 4, sym.shape)).clip(-gains.radius, gains.radius).astype(np.int32)
    return _with_payload(s, i, fields, join_payload(latent, env_bytes + gains.encode(sym, nz, stride)))


def m_envelope(rng, s, seeds):
    """A frame's temporal envelope replaced (CRC fixed) by codes and counts no encoder writes: every field
    at the extremes or beyond, region offsets out of order or past the frame, counts too large, bytes cut
    short or random (muzip-v2.2 and later; the `gains` mutation for models without one)."""
    env = getattr(s.model, "envelope", None)
    if env is None:
        return m_gains(rng, s, seeds)
    from muzip.codec.envelope import MUTE, NONE
    from muzip.codec.payload import join_payload
    pick = _decoded_frame(rng, s, 0)
    if pick is None:
        return m_payload(rng, s, seeds)
    i, fields, latent, fill_bytes, words, q, _, codes = pick
    n, used = q.shape[1], env.parse(words, q.shape[1])[1]
    gain_words = words[used:]
    style = int(rng.integers(5))
    if style == 0:  # every region coded, every field MUTE or the loudest gain
        codes = np.full((n, env.blocks), int(rng.choice([MUTE, env.hi, env.lo])), np.int32)
        codes[env.max_regions:] = NONE
        new = env.encode(codes)
    elif style == 1:  # random fields in random regions
        codes = rng.integers(env.lo, env.hi + 1, (n, env.blocks)).astype(np.int32)
        codes[rng.random(n) >= 0.3] = NONE
        codes[np.flatnonzero(codes[:, 0] != NONE)[env.max_regions:]] = NONE
        new = env.encode(codes)
    elif style == 2:  # count and offsets damaged
        b = bytearray(env.encode(codes))
        b[int(rng.integers(len(b)))] = int(rng.integers(256))
        new = bytes(b)
    elif style == 3:  # cut short
        new = words[:int(rng.integers(0, used + 1))]
        gain_words = b""
    else:  # random bytes in its place
        new = rng.integers(0, 256, int(rng.integers(1, 80)), np.uint8).tobytes()
    return _with_payload(s, i, fields, join_payload(latent, fill_bytes + new + gain_words))


def m_fill(rng, s, seeds):
    """A frame's fill-level bytes (muzip-v2.5) set to levels no encoder picks (0, the largest, random), cut
    short or left out, CRC fixed: every byte value is a legal level, so only the cut ones are damage (the
    `envelope` mutation for models without fill levels)."""
    if getattr(s.model, "fill_levels", None) is None:
        return m_envelope(rng, s, seeds)
    from muzip.codec.payload import join_payload
    pick = _decoded_frame(rng, s, 0)
    if pick is None:
        return m_payload(rng, s, seeds)
    i, fields, latent, fill_bytes, words, *_ = pick
    style, A = int(rng.integers(4)), len(fill_bytes)
    if style == 0:
        new = bytes([int(rng.choice([0, 255]))] * A)
    elif style == 1:
        new = rng.integers(0, 256, A, np.uint8).tobytes()
    elif style == 2:
        new = fill_bytes[:int(rng.integers(0, A))]
        words = b"" if rng.random() < 0.5 else words
    else:
        new = b""
    return _with_payload(s, i, fields, join_payload(latent, new + words))
