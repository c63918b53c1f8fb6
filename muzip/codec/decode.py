"""Decompress: .mz frames -> audio, in bounded memory.

container frames -> read_latents (model checked, entropy decoding) -> groups of frames with context latents
each side -> decoder network (+ band gains, MDCT synthesis) -> left/right -> resample to the original rate
-> exact length. Decoding any subrange gives the same samples as decoding the whole file.
"""

from __future__ import annotations

import collections
import io

import numpy as np

from ..audio import StreamResampler
from ..container import ContainerReader
from ..errors import CorruptFileError
from .band_gains import UNCHANGED
from .envelope import NONE
from .latents import read_latents
from .layout import GROUP, FrameLayout
from .quantizer import dequantize
from .split_decode import split_decode_frames, split_workers
from .transform import from_mid_side


class DecodeReport:
    def __init__(self):
        self.damaged: list[str] = []
        self.damaged_at: list[tuple[int, str]] = []  # (frame index, message), as damaged
        self.truncated = False
        self.index_damaged = False  # all frames there, but the index or trailer is damaged (reader.index_damaged)
        self.joined_at = None  # where a second .mz starts after the file's end (reader.joined_at)
        self.samples_written = 0
        self.samples_padded = 0  # of those, silence in place of what a truncated file promised (pad_truncated)


def decode_frames(reader, model, first: int, stop: int | None, report: DecodeReport, strict=False):
    """Yield (frame_index, model-rate audio (A, n)) for frames first..stop-1 that exist, in order."""
    latents = read_latents(reader, model, range(max(0, first - 1), 2 ** 62 if stop is None else stop + 1))
    return _decoded_frames(latents, reader, model, first, stop, report, strict)


def _decoded_frames(latents, reader, model, first, stop, report, strict):
    layout, header = FrameLayout(model), reader.header
    steps, A, P, C = model.steps(), header.channels, layout.per_frame, model.config.latent_channels
    frames = {}  # index -> (latents (A, n, C) or None, num_samples, band-gain symbols or None, envelope or None)
    gains, envelope = model.band_gains, model.envelope
    last_index = [None]

    def accept(frame):
        if frame.error is None:
            deq = dequantize(frame.q, steps[frame.levels], frame.index, model.config, frame.fill)
            frames[frame.index] = (deq, frame.num_samples, frame.gains, frame.envelope)
            return
        if strict:
            raise CorruptFileError(frame.error)
        report.damaged.append(frame.error)
        report.damaged_at.append((frame.index, frame.error))
        frames[frame.index] = (None, layout.F, None, None)  # concealed: silence, cross-faded by the decoder's overlap

    M = layout.margin
    pending = collections.deque()  # (g0, g1, decoded audio or a future of it), oldest first

    def start_group(g0, g1):
        base, end = P * g0 - M, P * g1 + M + 1  # latents [base, end): the group and M of context each side
        lat = None
        g = None if gains is None else np.full((A, end - base, gains.bands), UNCHANGED, np.int32)
        env = None if envelope is None else np.full((end - base, envelope.blocks), NONE, np.int32)
        for f in range(g0 - 1, g1 + 1):
            y, _, s, e = frames.get(f, (None, 0, None, None))
            a, b = max(P * f, base), min(P * f + (0 if y is None else y.shape[1]), end)
            if b > a:
                if lat is None:
                    lat = np.zeros((A, end - base, C), np.float32)
                lat[:, a - base:b - base] = y[:, a - P * f:b - P * f]
                if s is not None:
                    g[:, a - base:b - base] = s[:, a - P * f:b - P * f]
                if e is not None:
                    env[a - base:b - base] = e[a - P * f:b - P * f]
        sizes = [frames[f][1] for f in range(g0, g1)]
        if lat is None:  # all concealed (a long gap): zero latents decode to exact zeros, skip the network
            audio = np.zeros((A, layout.H * (end - base - 1)), np.float32)
        else:
            audio = model.submit_decode(lat, base, g, env) if g is not None else model.submit_decode(lat, base)
        pending.append((g0, sizes, audio))

    def finish_groups(keep: int):
        """Yield the frames of finished groups, in order, until at most `keep` groups are in flight."""
        while len(pending) > keep:
            g0, sizes, audio = pending.popleft()
            if not isinstance(audio, np.ndarray):
                audio = audio.result()
            for i, ns in enumerate(sizes):
                s = layout.F * i + M * layout.H
                yield g0 + i, audio[:, s:s + ns]

    in_flight = max(1, model.decode_concurrency())
    g0 = first
    # A short file is split evenly over the decoder's parallel calls (a 10-s clip: two calls of 5 frames),
    # and the first call starts while the entropy decoder works on the second's frames.
    known = [n for n in (stop, reader.n_frames if reader.load_index() else None) if n is not None]
    group = max(1, min(GROUP, -(-(min(known) - first) // in_flight))) if known else GROUP
    try:
        for event in latents:
            accept(event)
            last_index[0] = event.index
            while event.index >= g0 + group:  # the group's right-hand context has arrived
                start_group(g0, g0 + group)
                for f in [k for k in frames if k < g0 + group - 1]:
                    del frames[f]
                g0 += group
                yield from finish_groups(in_flight - 1)
        report.truncated = bool(getattr(reader, "truncated", False))
        report.index_damaged = bool(getattr(reader, "index_damaged", False))
        report.joined_at = getattr(reader, "joined_at", None)
        end = last_index[0] + 1 if last_index[0] is not None else g0
        if stop is not None:
            end = min(end, stop)
        while g0 < end:
            g1 = min(g0 + group, end)
            start_group(g0, g1)
            g0 = g1
            yield from finish_groups(in_flight - 1)
        yield from finish_groups(0)
    finally:
        for _, _, audio in pending:  # an error or a closed generator: drop work not yet started
            if not isinstance(audio, np.ndarray):
                audio.cancel()


def decompress_to(reader: ContainerReader, model, sink_factory, start: float = 0.0, duration=None,
                  strict=False, progress=None, pad_truncated=False, workers: int = 1,
                  report: DecodeReport | None = None) -> DecodeReport:
    """Decode [start, start+duration) seconds into sink_factory(sample_rate, channels, num_samples).

    A truncated file yields what is complete (report.truncated); pad_truncated fills the promised
    length with silence instead, for sinks that cannot shrink (a WAV stream on stdout). workers > 1: a
    long file's frames are decoded by that many processes where it can be split (codec.split_decode),
    with the same samples. `report`: filled as the frames are decoded (a caller that may stop early reads
    what was found so far); a new one if None."""
    header, layout = reader.header, FrameLayout(model)
    report = DecodeReport() if report is None else report
    sr, ch = header.sample_rate, header.channels
    # The index holds the count actually coded; the header's is what the input claimed up front.
    total = reader.total_num_samples if reader.load_index() else header.num_samples
    s0 = int(round(start * sr))
    s1 = None if duration is None else s0 + int(round(duration * sr))
    if total is not None:
        s0 = min(s0, total)
        s1 = total if s1 is None else min(s1, total)
    first = max(0, s0 // sr - 1)  # a frame early, so the resampler has settled by s0 (frames are 1 s)
    stop = None if s1 is None else -(-s1 * layout.rate // sr) // layout.F + 1
    want = None if s1 is None else s1 - s0
    split = split_workers(reader, model, workers, first, stop)
    if split > 1:
        decoded = split_decode_frames(decode_frames, DecodeReport, reader, model, first, stop, report, strict, split)
    else:
        decoded = decode_frames(reader, model, first, stop, report, strict)  # checks the model: before any output
    sink = sink_factory(sr, ch, want)
    resampler = StreamResampler(layout.rate, sr, ch)
    pos = first * sr  # original-rate position of the resampler's next output sample
    written = 0

    def emit(block):
        nonlocal pos, written
        a, b = max(s0, pos), pos + len(block)
        if s1 is not None:
            b = min(b, s1)
        if b > a:
            sink.write(block[a - pos:b - pos])
            written += b - a
        pos += len(block)

    for _, audio in decoded:
        emit(resampler.process(from_mid_side(audio)))
        if progress:
            progress(audio.shape[1] / layout.rate)
    emit(resampler.process(np.zeros((0, ch), np.float32), last=True))
    if want is not None and not pad_truncated and reader.total_num_samples is not None:
        # An index found by the scan (its total checked against the frames) bounds a header's claim.
        want = min(want, max(0, min(s1, reader.total_num_samples) - s0))
    # Without an index's total (truncated, or the index damaged) the header's length is only a claim: no padding.
    claim_only = report.truncated or (report.index_damaged and reader.total_num_samples is None)
    if want is not None and written < want and (pad_truncated or not claim_only):
        _write_silence(sink, want - written, ch)  # resampler rounding, or what a truncated file promised
        report.samples_padded = want - written if claim_only else 0
        written = want
    report.samples_written = written
    return report


def _write_silence(sink, n: int, channels: int, block: int = 1 << 16) -> None:
    """n samples of silence in bounded blocks: a promised length can be hours."""
    zeros = np.zeros((min(n, block), channels), np.float32)
    while n > 0:
        sink.write(zeros[:min(n, block)])
        n -= block


class ArraySink:
    """A decompress_to sink that keeps the decoded blocks in memory (.parts)."""

    def __init__(self):
        self.parts = []

    def write(self, block):
        self.parts.append(np.asarray(block, np.float32))


def decompress_bytes(data: bytes, model=None, start: float = 0.0, duration=None, strict=False):
    """Inverse of compress_array: returns (audio (n, channels) float32, sample_rate)."""
    reader = ContainerReader(io.BytesIO(data))
    if model is None:
        from .loader import load_model
        model = load_model(reader.header.model_id, digest=reader.header.model_sha256)
    sink = ArraySink()
    decompress_to(reader, model, lambda sr, ch, n: sink, start, duration, strict)
    ch = reader.header.channels
    audio = np.concatenate(sink.parts) if sink.parts else np.zeros((0, ch), np.float32)
    return audio, reader.header.sample_rate
