"""The sampled seconds of a track that every embedder reads: runs of frames spread over it (embed.frame_runs),
as audio streamed from a file, or decoded from a `.mz` run by run (decoding seeks: the rest is never decoded)."""

from __future__ import annotations

import math
import os

import numpy as np

from ..errors import AudioReadError, MuzipError
from .embed import MAX_FRAMES, frame_runs


def is_mz(path: str) -> bool:
    from ..container import MAGIC
    if not os.path.isfile(path):  # a pipe's first bytes, read here, would be gone for its reader
        return False
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def stream_kbps(path: str, info, duration: float | None) -> float | None:
    """The bitrate of a lossy file's audio: its bytes less its cover picture's over its duration (a 1.5-MB cover
    made a 4-minute 128-kbps MP3 read as 178 kbps); None for a lossless one or where it cannot be told."""
    from ..audio.probe import LOSSLESS_CODECS
    if not info.codec or info.codec in LOSSLESS_CODECS or not duration or duration <= 0:
        return None
    if info.format in ("wav", "wavex", "rf64", "w64", "aiff", "caf"):  # u-law, ADPCM: not "restored" (copy_label)
        return None
    try:
        size = os.path.getsize(path)
    except OSError:
        return None
    cover = len(info.cover[1]) if info.cover else 0
    if info.format == "ogg":
        cover = cover * 4 // 3  # a Vorbis comment holds the picture in base64
    return max(size - cover, 0) * 8 / duration / 1000


def sampled_audio(path: str, rate: int, frame_samples: int, max_frames: int = MAX_FRAMES):
    """(list of (n, ch) float32 pieces at `rate`, one per sampled run of frames (frame_runs), track info) of an
    audio file, streamed: reading stops after the last run."""
    from ..audio import AudioSource, StreamResampler
    from ..audio.tags import read_decoded_mark
    F = frame_samples
    with AudioSource(path, downmix=True) as src:
        info = src.info
        length = info.num_samples if info.num_samples is not None else info.about_samples
        n_frames = -(-length * rate // info.sample_rate // F) if length else max_frames
        runs = frame_runs(int(n_frames), max_frames)
        spans = [(int(r[0]) * F, (int(r[-1]) + 1) * F) for r in runs]
        rs = StreamResampler(info.sample_rate, rate, info.channels)
        pos, pieces = 0, [[] for _ in spans]
        last_end = spans[-1][1] if spans else 0

        def take(y):  # the parts of y (from pos on) that fall in the sampled spans
            for k, (a, b) in enumerate(spans):
                lo, hi = max(a, pos), min(b, pos + len(y))
                if hi > lo:
                    pieces[k].append(y[lo - pos:hi - pos])
            return pos + len(y)
        read_all = True
        for block in src.blocks(1 << 16):
            pos = take(rs.process(block))
            if pos >= last_end:
                read_all = False
                break
        if read_all:  # what the resampler still holds: the track's end (all of a very short one)
            pos = take(rs.process(np.zeros((0, rs.channels), np.float32), last=True))
        # a file cut short, or one that states no exact length, read to its end: the length it holds; else the
        # one it states (a decoder's output may hold an MP3's padding)
        held = read_all and (src.cut_notes or info.num_samples is None)
        duration = src.samples_read / info.sample_rate if held else length / info.sample_rate if length else None
        notes = _cut_notes(src, read_all)
    decoded = read_decoded_mark(info.software)  # a WAV or FLAC muzip decoded: the model's, at its file's bitrate
    meta = {"duration": duration, "rate": info.sample_rate, "channels": info.channels, "tags": dict(info.tags),
            "source": "audio", "codec": decoded[0] if decoded else info.codec,
            "kbps": decoded[1] if decoded else stream_kbps(path, info, duration),
            **({"warning": "; ".join(notes)} if notes else {})}
    return [np.concatenate(parts) for parts in pieces if parts], meta


def _cut_notes(src, read_all: bool) -> list[str]:
    """What the reader says of a file cut short or damaged, as `index` says it: after a read to the end its cut
    notes (a header's length not there, a damaged end or middle), else what is known at open (an Ogg stream
    without its end page, whose length reads as the cut's) and a FLAC's damage read past on the way."""
    if read_all:  # not the other notes (a cover art left out, clipping): an embedding does not mind them
        return [w.replace("; read ", "; described ") for w in src.cut_notes]
    return [f"{src.cut_short}; described what is there"] * bool(src.cut_short) + src.damage_seen


def mz_seconds(path: str, reader) -> float | None:
    """The .mz `path`'s (open in `reader`) length as a catalog stores it: its index's, else (cut short, index
    damaged) the seconds its frames hold as `muzip info` reads them, not the length its header promised."""
    from ..container import read_info
    h = reader.header
    if reader.load_index():
        return reader.total_num_samples / h.sample_rate
    try:
        with open(path, "rb") as f:
            return read_info(f)["held_s"] or None
    except (OSError, MuzipError):
        return h.num_samples / h.sample_rate if h.num_samples else None


def decoded_runs(path: str, reader, model, rate: int, max_frames: int = MAX_FRAMES):
    """(list of (n, ch) float32 pieces at `rate`, one per sampled run of frames, track info) of an open .mz:
    each run decoded on its own (decoding seeks), a run that is all concealment left out."""
    import soxr

    from ..codec import ArraySink, decompress_to
    h = reader.header
    indexed = reader.load_index()
    total = reader.total_num_samples if indexed else h.num_samples
    if not total:
        raise AudioReadError("no audio to embed (empty, or its length is unknown)")
    frame_s = model.config.frame_samples / model.config.model_rate
    out, damaged = [], 0
    for run in frame_runs(math.ceil(total / h.sample_rate / frame_s), max_frames):
        sink = ArraySink()
        report = decompress_to(reader, model, lambda sr, ch, n: sink, float(run[0]) * frame_s, len(run) * frame_s)
        damaged += len(report.damaged)
        if not sink.parts or len(report.damaged) >= len(run):  # nothing but concealment: leave the run out
            continue
        out.append(soxr.resample(np.concatenate(sink.parts), h.sample_rate, rate).astype(np.float32))
    info = {"duration": mz_seconds(path, reader), "rate": h.sample_rate, "channels": h.channels,
            "tags": dict(h.tags or {}), "model": model.name, "source": "mz",
            "codec": model.name, "damaged_frames": damaged}
    return out, info
