"""Training data of the embed-v3 projection: descriptors of augmented 15-s segments of every training file.

Used by scripts/models/make_embed_v3.py (the shipped model) and scripts/experiments/exp_embed_v3.py (the
leave-one-corpus-out measurement). Each segment gets a random gain (+-6 dB) and spectral tilt (+-3
dB/octave) on its MDCT coefficients, and one in five is folded to mono; the generator is seeded by the
file's path, so a file's segments are the same in every run. Descriptors are cached in CACHE by version.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from muzip.library.descriptors import VERSION, descriptor
from scripts.bench import loco_sets as L

CACHE = Path("/tmp/embed_v3_cache")
HOP = 882


def _coeffs(x):
    from muzip.codec.transform import analyze, to_mid_side
    ms = np.pad(to_mid_side(np.asarray(x, np.float32)), ((0, 0), (HOP, HOP)))
    return analyze(ms, HOP)


# Session 45's experiment (exp_embed_v3 --floor): white noise this many dB under each run's mid-channel level
# added to every coefficient run before it is described (0: none; the shipped embedders use none).
FLOOR_DB = 0.0
# Session 50 (exp_embed_v3 --floor-above): that noise only in the bins above this frequency (0: every bin).
FLOOR_ABOVE_HZ = 0.0


# exp_embed_v3 --patterns and embed-v4 (session 46): onset patterns (muzip/library/onset_patterns.py) appended
# to every descriptor.
PATTERNS = False
# exp_embed_v3 --pattern-floor and embed-v5 (session 47): the patterns' floor (onset_patterns.FLOOR_DB; None:
# version 1's, embed-v4's).
PATTERN_FLOOR_DB = None


def floor_key() -> str:
    """The cache-key prefix of descriptors made with FLOOR_DB and PATTERNS."""
    floor = PATTERN_FLOOR_DB
    above = f"above{FLOOR_ABOVE_HZ:g}:" if FLOOR_DB and FLOOR_ABOVE_HZ else ""
    return (f"floor{FLOOR_DB:g}:{above}" if FLOOR_DB else "") + ("patterns3:" if PATTERNS else "") + (
        f"bandfloor{floor:g}:" if PATTERNS and floor is not None else "")


def describe(c, rate: int) -> np.ndarray:
    """The descriptor of c (one run or a list of runs) as the experiment is set: FLOOR_DB's noise, PATTERNS."""
    c = floored(c)
    if not PATTERNS:
        return descriptor(c, rate)
    from muzip.library.onset_patterns import onset_patterns
    return np.concatenate([descriptor(c, rate), onset_patterns(c, rate, PATTERN_FLOOR_DB)])


def floored(c):
    """c (one (A, n, C) run or a list of them) with FLOOR_DB's noise added, seeded by the run's content."""
    if not FLOOR_DB:
        return c
    if isinstance(c, list):
        return [floored(r) for r in c]
    seed = int(hashlib.sha1(np.ascontiguousarray(c[0, :4]).tobytes()).hexdigest()[:8], 16)
    level = float(np.sqrt(np.mean(np.asarray(c[0], np.float64) ** 2))) * 10 ** (-FLOOR_DB / 20)
    noise = level * np.random.default_rng(seed).standard_normal(c.shape)
    if FLOOR_ABOVE_HZ:
        noise[..., (np.arange(c.shape[-1]) + 0.5) * L.RATE / 2 / c.shape[-1] < FLOOR_ABOVE_HZ] = 0.0
    return c + noise.astype(np.float32)


def _augment(c, rng):
    f = (np.arange(HOP) + 0.5) * L.RATE / 2 / HOP
    tilt = rng.uniform(-3, 3) / 6.02 * np.log2(np.maximum(f, 50.0) / 1000.0)
    c = c * np.float32(10 ** (rng.uniform(-6, 6) / 20)) * (2.0 ** tilt).astype(np.float32)
    if rng.random() < 0.2 and c.shape[0] > 1:
        c = c.copy()
        c[1] = 0.0
    return c


# The codec versions a coded training segment is drawn from: (model, bitrates, probability). The default
# model's .mz is read as the decoder's coefficients, muzip-v1's decoded (muzip.library.coefficients).
CODECS = (("muzip-v2.7", (12, 16, 24, 32, 48, 64), 0.75), ("muzip-v1", (24, 32, 48, 64), 0.25))


# The bitrates of the extra coded versions of `segment_descriptors(also=...)`.
ALSO_RATES = (16, 24, 32, 48, 64)


def mz_runs(x, kbps: float, model: str, noise: float = 1.0) -> tuple[list, int]:
    """(coefficient runs, rate) of audio x at L.RATE coded by `model` at kbps, read as `muzip index` reads a .mz.

    noise: the scale of a decoder network's seeded noise input when the .mz is decoded (1: as decoding does)."""
    import os
    import tempfile

    from muzip.codec import compress_array, load_model
    from muzip.library.coefficients import coefficient_runs

    def reading(key):
        m = load_model(key)
        if noise != 1.0:
            scaled = m._noise
            m._noise = lambda shape, first: np.float32(noise) * scaled(shape, first)
        return m
    mz = compress_array(x, L.RATE, kbps, load_model(model))
    fd, tmp = tempfile.mkstemp(suffix=".mz")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(mz)
        runs, rate, _ = coefficient_runs(tmp, reading, max_frames=1 << 20)
    finally:
        os.unlink(tmp)
    return runs, rate


def coded_coefficients(x, rng, model=None) -> list:
    """The coefficient runs of a segment coded by a codec drawn from CODECS (or by `model` at one of
    ALSO_RATES), as `muzip index` reads a .mz."""
    if model is None:
        name, rates, _ = CODECS[0 if rng.random() < CODECS[0][2] else 1]
    else:
        name, rates = model, ALSO_RATES
    return mz_runs(x, float(rng.choice(rates)), name)[0]


def _varispeed(x, rng, change):
    """x played back faster or slower (tape, turntable or resampling differences: tempo and pitch together)
    by a random factor 1 +- [change / 4, change], so that every variant differs."""
    import soxr
    r = 1 + rng.choice((-1, 1)) * rng.uniform(change / 4, change)
    return soxr.resample(x, L.RATE * r, L.RATE).astype(np.float32)


# The anchors of `_equalize`'s random EQ curve: one an octave and a bit apart, 50 Hz to 16 kHz.
EQ_ANCHORS_HZ = np.geomspace(50.0, 16000.0, 8)


def _equalize(c, rng, depth):
    """c through a random smooth EQ, as mastering and playback chains differ: gains of up to +-depth dB at
    EQ_ANCHORS_HZ, interpolated over log frequency, on the MDCT coefficients."""
    f = (np.arange(c.shape[-1]) + 0.5) * L.RATE / 2 / c.shape[-1]
    db = np.interp(np.log(np.maximum(f, 1.0)), np.log(EQ_ANCHORS_HZ), rng.uniform(-depth, depth, len(EQ_ANCHORS_HZ)))
    return c * (10 ** (db / 20)).astype(np.float32)


def lowpass_band(text: str | None) -> tuple[float, float] | None:
    """'LO,HI' (kHz, a --lowpass option) -> (lo, hi); None or '' -> None."""
    return tuple(float(v) for v in text.split(",")) if text else None


def _lowpass(c, rng, band_khz):
    """c with nothing above a random cutoff in band_khz (lo, hi): an old rip at a lower sample rate, or an MP3
    low-passed by its encoder (session 49)."""
    f = (np.arange(c.shape[-1]) + 0.5) * L.RATE / 2 / c.shape[-1]
    return np.where(f < 1000 * rng.uniform(*band_khz), c, 0).astype(c.dtype)


def _low_rate(x, rng, band_khz):
    """x as a copy at a random sample rate of twice a cutoff in band_khz, read back at L.RATE (soxr both ways,
    as `muzip index` reads a low-rate file; session 50)."""
    import soxr
    rate = 2000 * rng.uniform(*band_khz)
    return soxr.resample(soxr.resample(x, L.RATE, rate), rate, L.RATE).astype(np.float32)


def file_segments(path, count, rng, coded=False, varied=0.0, model=None, eq=0.0, lowpass=None):
    """Descriptors of `count` augmented 15-s segments spread over the file (fewer if it is short); coded:
    each segment followed by one coded version of it (coded_coefficients), augmented alike. Instead of the
    segments, varied: the segments played at another speed, up to this change (_varispeed); model: coded by
    that model; eq: the segments through a random EQ of up to this many dB (_equalize); lowpass: the segments
    low-passed at a random cutoff in this band of kHz (_lowpass; with coded, as low-rate copies in the time
    domain (_low_rate), each followed by its coded version)."""
    import soundfile as sf
    import soxr
    info = sf.info(path)
    seg = L.SEGMENT_S
    if info.duration < seg + 1:
        return []
    starts = np.linspace(0, info.duration - seg, count + 2)[1:-1] if info.duration > 2 * seg else [0.0]
    out = []
    with sf.SoundFile(path) as f:
        for s in starts:
            f.seek(int(s * f.samplerate))
            x = f.read(int(seg * f.samplerate), dtype="float32", always_2d=True)
            x = x[:, :2] if x.shape[1] >= 2 else np.repeat(x, 2, axis=1)
            if info.samplerate != L.RATE:
                x = soxr.resample(x, info.samplerate, L.RATE).astype(np.float32)
            if varied:
                x = _varispeed(x, rng, varied)
            if model:
                out.append(describe([_augment(c, rng) for c in coded_coefficients(x, rng, model)], L.RATE))
                continue
            if eq:
                out.append(describe(_equalize(_augment(_coeffs(x), rng), rng, eq), L.RATE))
                continue
            if lowpass and coded:
                x = _low_rate(x, rng, lowpass)
            elif lowpass:
                out.append(describe(_lowpass(_augment(_coeffs(x), rng), rng, lowpass), L.RATE))
                continue
            out.append(describe(_augment(_coeffs(x), rng), L.RATE))
            if coded:
                out.append(describe([_augment(c, rng) for c in coded_coefficients(x, rng)], L.RATE))
    return out


def cached(key, fn):
    CACHE.mkdir(exist_ok=True)
    path = CACHE / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".npy")
    if path.exists():
        return np.load(path)
    v = np.asarray(fn(), np.float64)
    np.save(path, v)
    return v


def corpus_of(path: str) -> str:
    """The corpus a training file belongs to: its Debian package, or its music21 rendering folder."""
    parts = Path(path).relative_to(L.ROOT / "data").parts
    return parts[1] if parts[0] == "raw" else parts[0]


def segment_descriptors(files, segments: int = 6, log=None, coded=False, varied=0.0, also=(), eq=0.0,
                        lowpass=None, lowpass_coded=False):
    """(X (M, DIM), track index (M,), corpus (M,)) of the files' segments (and their coded versions; varied:
    and each segment once more at another speed, up to this relative change; also: once more coded by each of
    these models; eq: once more through a random EQ of up to this many dB; lowpass: once more low-passed at a
    random cutoff in this band of kHz; lowpass_coded: as low-rate copies, each with its coded version too);
    files under two segments left out."""
    feats, tracks, corpora = [], [], []
    for i, p in enumerate(files):
        rng = np.random.default_rng(int(hashlib.sha1(p.encode()).hexdigest()[:8], 16))
        key = f"{floor_key()}train{VERSION}{'c' if coded else ''}:{segments}:{p}"
        segs = cached(key, lambda p=p, rng=rng: np.array(file_segments(p, segments, rng, coded)))
        if varied and len(segs):
            rng = np.random.default_rng(int(hashlib.sha1(("speed:" + p).encode()).hexdigest()[:8], 16))
            more = cached(f"{floor_key()}speed{VERSION}:{varied}:{segments}:{p}",
                          lambda p=p, rng=rng: np.array(file_segments(p, segments, rng, varied=varied)))
            segs = np.concatenate([segs, more])
        if eq and len(segs):
            rng = np.random.default_rng(int(hashlib.sha1(("eq:" + p).encode()).hexdigest()[:8], 16))
            segs = np.concatenate([segs, cached(f"{floor_key()}eq{VERSION}:{eq}:{segments}:{p}",
                                                lambda p=p, rng=rng: np.array(file_segments(p, segments, rng, eq=eq)))])
        if lowpass and len(segs):
            rng = np.random.default_rng(int(hashlib.sha1(("lowpass:" + p).encode()).hexdigest()[:8], 16))
            kind = "lowrate+coded" if lowpass_coded else "lowpass"
            segs = np.concatenate([segs, cached(f"{floor_key()}{kind}{VERSION}:{lowpass}:{segments}:{p}",
                                                lambda p=p, rng=rng: np.array(file_segments(
                                                    p, segments, rng, coded=lowpass_coded, lowpass=lowpass)))])
        for model in also if len(segs) else ():
            rng = np.random.default_rng(int(hashlib.sha1((model + p).encode()).hexdigest()[:8], 16))
            segs = np.concatenate([segs, cached(f"{floor_key()}also{VERSION}:{model}:{ALSO_RATES}:{segments}:{p}",
                                                lambda p=p, rng=rng, m=model: np.array(
                                                    file_segments(p, segments, rng, model=m)))])
        if len(segs) >= 2:
            feats.append(segs)
            tracks += [i] * len(segs)
            corpora += [corpus_of(p)] * len(segs)
        if log and (i + 1) % 50 == 0:
            log(f"  {i + 1}/{len(files)} files")
    return np.concatenate(feats), np.array(tracks), np.array(corpora)
