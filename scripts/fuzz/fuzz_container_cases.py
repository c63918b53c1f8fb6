"""The container mutations of the .mz fuzzer: each takes (rng, seed, seeds) and returns the bytes of one
damaged or forged file (bits flipped, bytes cut or inserted, header fields and records that lie, sync-word
spam, frames renumbered or spliced, files concatenated, garbage). Forged parts get their CRCs fixed up, so the
reader has to catch the lie from the content, not from a checksum. Registered in scripts/fuzz/fuzz_cases.py.
"""

from __future__ import annotations

import struct

import numpy as np

from muzip.container import _FRAME_HEAD, _INDEX_HEAD, MAGIC, UNKNOWN_LENGTH
from scripts.fuzz.fuzz_seeds import frame_record, header_bytes, index_record, set_header_fields, trailer


# -- mutations: each takes (rng, seed, seeds) and returns bytes --------------------------------------
def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _spam(rng, size: int) -> bytes:
    style = int(rng.integers(5))
    if style == 0:
        unit = _pick(rng, [b"MZFR", b"MZIX", b"MZFRMZIX", b"MZ"])
    elif style == 1:  # frame heads whose fields pass, claiming long payloads: resync must stay linear
        unit = _FRAME_HEAD.pack(b"MZFR", 0, int(rng.integers(1, 44101)), 3, 255, int(rng.integers(0, 16 << 20)))
    elif style == 2:
        unit = _INDEX_HEAD.pack(b"MZIX", int(rng.integers(0, 1 << 24)), int(rng.integers(0, 1 << 20)))
    elif style == 3:  # complete records with good CRCs but absurd numbers
        unit = frame_record(int(rng.integers(0, 1 << 32)), 44100, (0, 255), b"\0\0")
    else:
        unit = bytes(rng.integers(0, 256, 4, np.uint8)) + b"MZFR"
    return (unit * (size // len(unit) + 1))[:size]


def _spam_size(rng) -> int:
    return int(_pick(rng, [64, 1000, 4096, 20000, 65536, 200000, 1 << 20]))


def m_none(rng, s, seeds):
    return s.data


def m_bitflip(rng, s, seeds):
    b = bytearray(s.data)
    for _ in range(int(rng.integers(1, 9))):
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
    return bytes(b)


def m_truncate(rng, s, seeds):
    return s.data[:int(rng.integers(0, len(s.data)))]


def m_insert(rng, s, seeds):
    b = s.data
    for _ in range(int(rng.integers(1, 4))):
        p = int(rng.integers(len(b) + 1))
        b = b[:p] + rng.integers(0, 256, int(rng.integers(1, 400)), np.uint8).tobytes() + b[p:]
    return b


def m_delete(rng, s, seeds):
    p = int(rng.integers(len(s.data)))
    return s.data[:p] + s.data[p + int(rng.integers(1, 2000)):]


_EXTREME = {
    "sample_rate": [0, 1, 7999, 8000, 11025, 192000, 192001, 2**31, 2**32 - 1],
    "channels": [0, 1, 2, 3, 255],
    "num_samples": [0, 1, 44099, 10**6, 2**32, 2**40, 2**62, 2**64 - 2, UNKNOWN_LENGTH],
    "model_rate": [0, 1, 8000, 44099, 48000, 192000, 2**32 - 1],
    "frame_samples": [0, 1, 1000, 44099, 88200, 2**20, 2**20 + 1, 2**32 - 1],
    "bitrate_bps": [0, 2**32 - 1],
}


def m_header_field(rng, s, seeds):
    fields = {}
    for _ in range(int(rng.integers(1, 3))):
        k = _pick(rng, list(_EXTREME))
        fields[k] = _pick(rng, _EXTREME[k])
    if "num_samples" not in fields and rng.random() < 0.3:
        fields["num_samples"] = max(0, s.parsed.total + int(rng.integers(-3, 4)) * 1000)
    return set_header_fields(s.data, **fields)


def m_header_body(rng, s, seeds):
    body = bytearray(s.parsed.body)
    style = int(rng.integers(5))
    if style == 4:  # well-formed records of unknown extensions: skipped
        for _ in range(int(rng.integers(1, 4))):
            data = rng.integers(0, 256, int(rng.integers(0, 200)), np.uint8).tobytes()
            body += _pick(rng, [b"XTRA", b"LYRC", b"\0\0\0\0"]) + struct.pack("<I", len(data)) + data
    elif style == 0:  # an extension area of junk or lying records
        ext_len = int(_pick(rng, [0, 5, 100, 2**31, 2**32 - 1]))
        body += _pick(rng, [b"COVR", b"XTRA", b"\0\0\0\0"]) + struct.pack("<I", ext_len)
        body += rng.integers(0, 256, int(rng.integers(0, 300)), np.uint8).tobytes()
    elif style == 1:  # a cover record with odd contents
        data = bytes([int(rng.integers(0, 256))]) + rng.integers(0, 256, int(rng.integers(0, 600)), np.uint8).tobytes()
        body += b"COVR" + struct.pack("<I", len(data)) + data
    elif style == 2:  # lying tag count
        n_off = 25 + 1 + body[25] + 32
        struct.pack_into("<H", body, n_off, int(rng.integers(0, 65536)))
    else:
        body = body[:int(rng.integers(len(body)))]
    return s.parsed.assemble(body=bytes(body)) if rng.random() < 0.5 else header_bytes(bytes(body)) + \
        s.data[13 + len(s.parsed.body):]


def m_index_lie(rng, s, seeds):
    p, recs = s.parsed, list(s.parsed.records)
    style = int(rng.integers(5))
    if style == 0:
        total = _pick(rng, [0, 1, p.total - 1, p.total + 1, p.total + 50000, p.total * 2, p.total * 1000,
                            2**40, 2**64 - 1])
        return p.assemble(total=min(max(total, 0), 2**64 - 1))
    if style == 1:  # sizes that do not sit on the frames (sum kept)
        sizes = [len(r) for r in recs]
        if len(sizes) >= 2:
            d = int(rng.integers(1, 100))
            i = int(rng.integers(len(sizes) - 1))
            sizes[i] += d
            sizes[i + 1] -= d
        head = header_bytes(p.body)
        frames = b"".join(recs)
        return head + frames + index_record(sizes, p.total, len(head)) + trailer(len(head) + len(frames))
    if style == 2:  # n_frames claims more frames than the sizes list holds
        return p.assemble(n=int(_pick(rng, [len(recs) + 1, 1000, 2**24, 2**32 - 1])))
    if style == 3:
        return p.assemble(first=int(rng.integers(0, 1 << 20)))
    head = header_bytes(p.body)  # an index for many more (tiny) frames than exist, total to match
    n = int(_pick(rng, [100, 10000, 200000]))
    frames = b"".join(recs)
    return head + frames + index_record([22] * n, n * s.header.sample_rate, len(head)) + trailer(len(head) + len(frames))


def m_trailer_lie(rng, s, seeds):
    ioff = int(_pick(rng, [0, 13, 2**20, 2**40, 2**64 - 1, len(s.data) - 17, int(rng.integers(len(s.data)))]))
    return s.data[:-16] + trailer(ioff)


def m_sync_spam(rng, s, seeds):
    spam = _spam(rng, _spam_size(rng))
    hsize = 13 + len(s.parsed.body)
    where = int(rng.integers(4))
    if where == 0:
        return s.data[:hsize] + spam + s.data[hsize:]
    if where == 1:
        return s.data[:hsize] + spam
    if where == 2:
        p = int(rng.integers(hsize, len(s.data)))
        return s.data[:p] + spam + s.data[p:]
    return s.data[:-44 - 4 * len(s.parsed.records)] + spam + s.data[-44 - 4 * len(s.parsed.records):]


def m_frame_jump(rng, s, seeds):
    p = s.parsed
    if not p.records:
        return m_sync_spam(rng, s, seeds)
    i = int(rng.integers(len(p.records)))
    jump = int(_pick(rng, [1, 2, 10, 1000, 2**24 - 1 - i, 2**32 - 1 - i]))
    renumber_rest = rng.random() < 0.5
    recs = []
    for k, r in enumerate(p.records):
        _, idx, ns, lm, ls, plen = _FRAME_HEAD.unpack_from(r)
        if k == i or (renumber_rest and k > i):
            r = frame_record((idx + jump) & 0xFFFFFFFF, ns, (lm, ls), r[18:-4])
        recs.append(r)
    if rng.random() < 0.5:  # garbage before the jump: room for some lost frames
        recs.insert(i, rng.integers(0, 256, int(_pick(rng, [22, 500, 20000])), np.uint8).tobytes())
    return p.assemble(records=recs)


def m_frame_fields(rng, s, seeds):
    p = s.parsed
    if not p.records:
        return m_header_body(rng, s, seeds)
    i = int(rng.integers(len(p.records)))
    _, idx, ns, lm, ls, plen = _FRAME_HEAD.unpack_from(p.records[i])
    payload = p.records[i][18:-4]
    style = int(rng.integers(5))
    if style == 0:
        ns = int(_pick(rng, [0, 1, 44099, 44100, 44101, 2**32 - 1]))
    elif style == 1:
        lm, ls = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    elif style == 2:  # garbage payload with a good CRC: the entropy decoder sees it
        payload = rng.integers(0, 256, int(_pick(rng, [0, 1, 2, 6, len(payload), 5000])), np.uint8).tobytes()
    elif style == 3:  # a latent count out of range
        payload = struct.pack("<H", int(_pick(rng, [0, 1, 177, 65535]))) + payload[2:]
    else:  # a payload length that swallows the following bytes, CRC made to match
        tail = b"".join(p.records[i + 1:])
        extra = int(rng.integers(0, len(tail) + 1))
        rest = s.data[-(44 + 4 * len(p.records)):]  # the original index and trailer
        return header_bytes(p.body) + b"".join(p.records[:i]) + frame_record(idx, ns, (lm, ls), payload + tail[:extra]) \
            + tail[extra:] + rest
    recs = list(p.records)
    recs[i] = frame_record(idx, ns, (lm, ls), payload)
    return p.assemble(records=recs)


def m_splice(rng, s, seeds):
    recs = list(s.parsed.records)
    if not recs:
        return m_truncate(rng, s, seeds)
    i, j = int(rng.integers(len(recs))), int(rng.integers(len(recs)))
    style = int(rng.integers(3))
    if style == 0:
        del recs[i]
    elif style == 1:
        recs.insert(j, recs[i])
    else:
        recs[i], recs[j] = recs[j], recs[i]
    data = s.parsed.assemble(records=recs)
    return data if rng.random() < 0.5 else data[:13 + len(s.parsed.body)] + b"".join(recs) + s.data[-44:]


def m_concat(rng, s, seeds):
    other = _pick(rng, seeds)
    if rng.random() < 0.5:
        return s.data + other.data
    return s.data[:int(rng.integers(len(s.data)))] + other.data


def m_garbage(rng, s, seeds):
    n = int(_pick(rng, [0, 3, 100, 5000, 100000]))
    junk = rng.integers(0, 256, n, np.uint8).tobytes()
    style = int(rng.integers(4))
    hsize = 13 + len(s.parsed.body)
    if style == 0:
        return junk
    if style == 1:
        return MAGIC + junk
    if style == 2:
        return s.data[:hsize] + junk
    return s.data[:hsize] + junk + s.data[-44 - 4 * len(s.parsed.records):]
