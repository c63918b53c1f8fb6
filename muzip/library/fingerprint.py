"""Duplicate detection: is this file the same recording, from the same master, as that one?

A fingerprint holds, for each sampled run of a track (the runs every embedder reads), the signs of the
band-energy differences across bands and frames (Haitsma & Kalker's 32-bit sub-fingerprints, here
BANDS - 1 bits per 40-ms frame of the MDCT mel bands): codecs at any usual bitrate keep them, another take
(other timing) does not. Beside them, the track's mean band levels in dB: codecs keep those within a
fraction of a dB below their lowpass, a remaster (other EQ, other loudness) moves them.

same_recording(a, b): the pairs of runs align at one shift (at least STEADY_SHARE of them, within a frame; two decoders may place a
track's first sample a little apart, and a length a few ms longer can move the sampled runs by a second) at
a median bit error rate below MAX_BER; level_gap(a, b): the mean band levels below LEVEL_HZ (and below a
low-pass that one file has, never under MIN_LEVEL_HZ), within MAX_LEVEL_DB on average for the same master.
A duplicate is both; the levels, cheap, are compared first.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

from . import descriptors as D

SECOND = 25             # frames of 40 ms per second: the sampled runs start at whole seconds
MAX_SHIFT = SECOND + 3  # a second (the runs of a file a few ms longer) and a decoder's delay, either way
CHUNK = 100             # frames (4 s): the pieces whose alignments are compared
STEADY_SHARE = 0.5      # of the runs whose best shift must be the common one (repeating music offers others)
BIT_HZ = (300.0, 3000.0)  # the bands the bits are read from: where every codec keeps the band energies
SMOOTH = 5              # frames of 40 ms averaged before differencing (200 ms: the bits follow the music, not noise)
MAX_BER = 0.42
LEVEL_HZ = 12000.0      # MP3 at 128 kbps and the codec at low rates cut above ~16 kHz: levels are compared below
MAX_LEVEL_DB = 1.5
MAX_DURATION_GAP_S = 1.5  # encoder delay and padding (MP3: ~50 ms) are well inside
CUT_DB = 10.0           # a top band this much weaker in one file is past that file's low-pass
SILENT_DB = 50.0        # a band this far under the loudest in both files (above both Nyquists) says nothing
DEEP_DB = 20.0          # a low-pass's stop band reaches this far under the other file somewhere (resampled
                        # copies: 25-40 dB); a treble shelf of 10-20 dB is another master, compared in full
MIN_LEVEL_HZ = 4000.0   # below a low-pass, levels compared up to here at least: a treble-boosted remaster
                        # of a copy cut at 5.5 kHz (11-kHz sampling) differs by under 1.5 dB below 2.75 kHz
_MAGIC = b"MZF1"


def _band_levels(coeffs: np.ndarray, rate: int) -> np.ndarray:
    mid = np.asarray(coeffs[0], np.float64) ** 2
    n = len(mid) // 2 * 2
    return (mid[:n:2] + mid[1:n:2]) @ D.band_matrix(coeffs.shape[2], rate)


def fingerprint(runs, rate: int) -> bytes:
    """The fingerprint of a track's coefficient runs (list of (A, n, C)) as bytes."""
    bits, energy, frames = [], np.zeros(D.BANDS), 0
    lo, hi = _bit_bands()
    for r in runs:
        B = _band_levels(r, rate)
        if len(B) < SMOOTH + 1:
            continue
        energy += B.sum(axis=0)
        frames += len(B)
        S = np.cumsum(np.vstack([np.zeros((1, D.BANDS)), B]), axis=0)
        S = (S[SMOOTH:] - S[:-SMOOTH]) / SMOOTH  # moving average over SMOOTH frames
        d = np.diff(np.log10(S[:, lo:hi] + D.EPS), axis=1)   # across bands
        bits.append(np.packbits(np.diff(d, axis=0) > 0, axis=1))  # across frames
    levels = 10 * np.log10(energy / max(frames, 1) + D.EPS)
    out = [_MAGIC, struct.pack("<H", len(bits)), levels.astype("<f4").tobytes()]
    for b in bits:
        out += [struct.pack("<H", len(b)), b.tobytes()]
    return b"".join(out)


@functools.lru_cache(maxsize=1)
def band_edges() -> np.ndarray:
    """The BANDS + 1 edges (Hz) of the mel bands the levels are read in (read-only: one array shared)."""
    e = 700.0 * (10 ** (np.linspace(D._mel(D.LOW_HZ), D._mel(D.HIGH_HZ), D.BANDS + 1) / 2595.0) - 1)
    e.flags.writeable = False
    return e


@functools.lru_cache(maxsize=1)
def _bit_bands() -> tuple[int, int]:
    """[lo, hi) of the mel bands inside BIT_HZ."""
    e = band_edges()
    inside = np.flatnonzero((e[:-1] >= BIT_HZ[0]) & (e[1:] <= BIT_HZ[1]))
    return int(inside[0]), int(inside[-1]) + 1


def _bits_per_frame() -> int:
    lo, hi = _bit_bands()
    return hi - lo - 1


@functools.lru_cache(maxsize=1 << 14)
def parse(blob: bytes):
    """(levels (BANDS,), [bits (n, k) uint8 per run]), read-only; ValueError if the bytes are not a fingerprint.
    Cached: `dupes`, `cluster` and `map` judge each track against a score of candidates (a third of their
    time went to parsing the same fingerprints again)."""
    k = (_bits_per_frame() - 1) // 8 + 1
    if not isinstance(blob, bytes) or blob[:4] != _MAGIC or len(blob) < 6 + 4 * D.BANDS:
        raise ValueError("not a fingerprint")
    (count,) = struct.unpack_from("<H", blob, 4)
    levels = np.frombuffer(blob, "<f4", D.BANDS, 6).astype(np.float64)
    pos, runs = 6 + 4 * D.BANDS, []
    for _ in range(count):
        if pos + 2 > len(blob):
            raise ValueError("truncated fingerprint")
        (n,) = struct.unpack_from("<H", blob, pos)
        pos += 2
        if pos + n * k > len(blob):
            raise ValueError("truncated fingerprint")
        runs.append(np.frombuffer(blob, np.uint8, n * k, pos).reshape(n, k))
        pos += n * k
    if pos != len(blob) or not np.all(np.isfinite(levels)):
        raise ValueError("damaged fingerprint")
    levels.flags.writeable = False
    return levels, runs


_POP = np.array([bin(i).count("1") for i in range(256)], np.uint8)


_POP16 = (_POP[np.arange(1 << 16) & 255] + _POP[np.arange(1 << 16) >> 8]).astype(np.uint8)  # bits set in a uint16


def _words(bits: np.ndarray) -> np.ndarray:
    """(frames, bytes) packed bits as (frames, words) uint16 (a zero byte added to an odd count)."""
    if bits.shape[1] % 2:
        bits = np.concatenate([bits, np.zeros((len(bits), 1), np.uint8)], axis=1)
    return np.ascontiguousarray(bits).view(np.uint16)


@functools.lru_cache(maxsize=64)
def _diagonals(na: int, nb: int) -> np.ndarray:
    """(na * nb,) each pair's diagonal of an (na, nb) matrix: j - i + na - 1 (read-only: one array shared)."""
    d = (np.arange(nb)[None, :] - np.arange(na)[:, None] + na - 1).ravel()
    d.flags.writeable = False
    return d


def _curve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit error rate of two runs' bits at each shift -MAX_SHIFT..MAX_SHIFT (1.0 where under a second overlaps).
    Every frame of `a` is compared with every frame of `b` once (a chunk is at most CHUNK frames), 16 bits a
    lookup, and each shift sums a diagonal of those counts: a third of the time of comparing at each shift."""
    bits = float(_bits_per_frame())  # the bits that carry information (packbits pads the last byte)
    out = np.ones(2 * MAX_SHIFT + 1)
    if min(len(a), len(b)) < SECOND:  # no shift overlaps a second
        return out
    wa, wb = _words(a), _words(b)
    errors = _POP16[wa[:, None, :] ^ wb[None, :, :]].sum(axis=2, dtype=np.int64)  # (frames of a, frames of b)
    # diagonal j - i = -s holds the pairs (a[i + s], b[i]) of shift s
    sums = np.bincount(_diagonals(len(a), len(b)), errors.ravel(), len(a) + len(b) - 1)
    for i, s in enumerate(range(-MAX_SHIFT, MAX_SHIFT + 1)):
        n = min(len(a) - s, len(b)) if s >= 0 else min(len(a), len(b) + s)
        if n >= SECOND:
            out[i] = float(sums[len(a) - 1 - s]) / (n * bits)
    return out


def _chunks(runs: list) -> list:
    """The runs cut into pieces of at most CHUNK frames: a short track is one long run, and a take's drift
    shows only between pieces."""
    return [r[i:i + CHUNK] for r in runs for i in range(0, max(len(r) - CHUNK // 2, 1), CHUNK)]


def _residue(shift):
    return (np.asarray(shift) + SECOND // 2) % SECOND - SECOND // 2


def same_recording(fa: bytes, fb: bytes) -> tuple[bool, float]:
    """(one performance, the median bit error rate of the paired runs at the common alignment).

    Each pair of runs has its best shift; one performance puts most of them (STEADY_SHARE) at one shift
    modulo a second, give or take a frame (two decoders' lengths can differ by a few ms and move the sampled
    runs by a second). Music that repeats can offer a run a near-equal alignment a beat away, so every run's
    error rate is then read at that common shift, and their median must be under MAX_BER. Another take
    drifts: its runs' best shifts wander, and no common one fits."""
    _, ra = parse(fa)
    _, rb = parse(fb)
    curves = [_curve(x, y) for x, y in zip(_chunks(ra), _chunks(rb))]
    if not curves:
        return False, 1.0
    shifts = np.arange(-MAX_SHIFT, MAX_SHIFT + 1)
    residues = _residue(shifts[[int(np.argmin(c)) for c in curves]])
    values, counts = np.unique(residues, return_counts=True)
    centre = int(values[np.argmax(counts)])
    share = float(np.mean(np.abs(_residue(residues - centre)) <= 1))
    near = np.abs(_residue(shifts - centre)) <= 1
    rate = _median([float(c[near].min()) for c in curves])
    return share >= STEADY_SHARE and rate < MAX_BER, rate


def _median(values: list[float]) -> float:
    """np.median of a short list, without the numpy.ma import np.median makes (11 ms of a `similar`)."""
    s, m = sorted(values), len(values) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def level_gap(fa: bytes, fb: bytes, rate: int = 44100) -> float:
    """Mean absolute difference of the mean band levels in dB, below LEVEL_HZ and below a low-pass that one
    file has and the other has not (a copy at 22 or 16 kHz, an old MP3): the bands from the top down that are
    CUT_DB or more weaker in one file (DEEP_DB somewhere) are that filter's stop band, and half an octave
    under them its slope. A cut too low to leave MIN_LEVEL_HZ compared is infinitely far: there a
    remaster cannot be told."""
    la, _ = parse(fa)
    lb, _ = parse(fb)
    d, edges = la - lb, band_edges()
    loud = np.maximum(la, lb)
    heard = loud > loud.max() - SILENT_DB
    bands = np.flatnonzero(heard)
    if not len(bands):
        return float("inf")
    top = bands[-1]
    cut = len(bands)
    while cut > 0 and abs(d[bands[cut - 1]]) >= CUT_DB and np.sign(d[bands[cut - 1]]) == np.sign(d[top]):
        cut -= 1
    if cut < len(bands) and np.abs(d[bands[cut:]]).max() < DEEP_DB:
        cut = len(bands)  # never DEEP_DB apart: a shelf, not a low-pass
    limit = LEVEL_HZ
    if cut < len(bands):
        limit = min(LEVEL_HZ, edges[bands[cut]] / np.sqrt(2.0))
        if limit < MIN_LEVEL_HZ:
            return float("inf")
    keep = heard & (edges[1:] <= limit)
    return float(np.mean(np.abs(d)[keep])) if keep.any() else float("inf")


def levels(fp: bytes) -> np.ndarray:
    """A fingerprint's mean band levels (dB); a damaged fingerprint's are far from everything."""
    try:
        return parse(fp)[0]
    except (ValueError, TypeError):  # TypeError: not bytes (parse is cached by its argument)
        return np.full(D.BANDS, 1e9)


def low_band_excess(many: np.ndarray, one: np.ndarray) -> np.ndarray:
    """For level rows `many` (P, BANDS) against `one` (BANDS,): the summed |difference| over the bands below
    MIN_LEVEL_HZ that level_gap would compare, less what it allows at most. Positive: level_gap is at least
    MAX_LEVEL_DB (it compares those bands and at most the bands below LEVEL_HZ), so never the same master --
    told without aligning bits, for every candidate pair at once."""
    edges = band_edges()[1:]
    loud = np.maximum(many, one)
    heard = loud > loud.max(axis=1, keepdims=True) - SILENT_DB
    low = heard & (edges <= MIN_LEVEL_HZ)
    return np.sum(np.abs(many - one) * low, axis=1) - MAX_LEVEL_DB * np.count_nonzero(edges <= LEVEL_HZ)


def duplicate(fa: bytes, fb: bytes, align: bool = False) -> tuple[bool, float, float]:
    """(same recording from the same master, bit error rate, level gap in dB). The levels are compared
    first: two masters are told apart without aligning their bits (the error rate is then NaN, unless
    `align`), which is most of the time `dupes` spends otherwise."""
    gap = level_gap(fa, fb)
    if gap >= MAX_LEVEL_DB and not align:
        return False, float("nan"), gap
    one, rate = same_recording(fa, fb)
    return one and gap < MAX_LEVEL_DB, rate, gap
