"""Compress: audio blocks -> .mz stream, in bounded memory.

original-rate blocks -> resample to the model rate -> mid/side -> groups of 1-second frames (with context
latents each side) -> encoder network -> rate control -> entropy coder (+ band gains) -> container.

Because every group sees its neighbours, frame edges are invisible in the output (no clicks).
"""

from __future__ import annotations

import io
import math

import numpy as np

from ..audio import StreamResampler
from ..audio.samples import MAX_OVERSHOOT, clip_full_scale
from ..container import ContainerWriter, Frame, Header
from ..runtime.session import cpu_threads
from .fill_levels import tilt_gains
from .gain_encoder import GainEncoder, PendingFrame
from .layout import GROUP, FrameLayout
from .payload import COUNT_BYTES, LENGTH_BYTES, encode_payload
from .quantizer import dequantize
from .rate import RateController
from .transform import to_mid_side

# Side is quantized 2 levels (3 dB) coarser than mid: better mel distance and ViSQOL at 16, 32 and
# 64 kbps than one shared step (docs/EXPERIMENTS.md, scripts/experiments/exp_side_offset.py).
DEFAULT_SIDE_OFFSET = 2
MIN_KBPS, MAX_KBPS = 6.0, 96.0
_RECORD_BYTES = 22  # a frame record's head and CRC (container.format)
# A frame whose peak is below this (-84 dBFS, under 2 LSB of 16-bit audio) is coded as silence.
SILENCE_PEAK = 2.0 ** -14


def _groups(layout, ms_blocks):
    """Cut model-rate (A, n) blocks into network calls of 1, 2, 4, ... up to GROUP frames (with context
    margins): the first frame is coded once one frame is transformed, not sixteen (a 10-s clip waited
    ~25 ms for its whole transform), and later calls run while earlier frames are coded.

    Yields (f0, f1, chunk, buf, buf_start, total, n_frames_known) and finally returns the sample total;
    buf is the audio the frames' silence test reads (never mutated: trimming makes a new view)."""
    F = layout.F
    buf, buf_start, total, done, f0 = None, 0, 0, False, 0
    size = 1
    it = iter(ms_blocks)
    while True:
        need = F * (f0 + size + 1)  # audio up to one frame past the group
        pending = [] if buf is None else [buf]
        while not done and total < need:
            block = next(it, None)
            if block is None:
                done = True
                break
            pending.append(block)
            total += block.shape[1]
        if pending:  # one concatenation per group: appending block by block copied the buffer each time
            buf = np.concatenate(pending, axis=1) if len(pending) > 1 else pending[0]
        n_frames_known = math.ceil(total / F) if done else None
        f1 = f0 + size if not done else min(f0 + size, n_frames_known)
        if f1 <= f0:
            return total
        M = layout.margin
        lo, hi = F * f0 - M * layout.H, F * f1 + M * layout.H
        chunk = np.zeros((buf.shape[0], hi - lo), np.float32)
        a, b = max(lo, buf_start), min(hi, buf_start + buf.shape[1])
        chunk[:, a - lo:b - lo] = buf[:, a - buf_start:b - buf_start]
        yield f0, f1, chunk, buf, buf_start, total, n_frames_known
        f0, size = f1, min(GROUP, 2 * size)
        keep_from = F * (f0 - 1)  # one frame of history is the next group's context
        if keep_from > buf_start:
            buf = buf[:, keep_from - buf_start:]
            buf_start = keep_from


def _encode_groups(model, layout, ms_blocks, on_frame):
    """Consume model-rate (A, n) blocks; call on_frame(index, latents, num_samples, silent) per frame, in order.

    The network runs one group ahead (model.submit_encode) while this thread entropy-codes the group
    before it, so the cores stay busy through the coder's serial Python (docs/EXPERIMENTS.md)."""
    F, P, M = layout.F, layout.per_frame, layout.margin
    groups = _groups(layout, ms_blocks)
    queue, total = [], None

    def finish(group, future):
        f0, f1, _, buf, buf_start, total, n_frames_known = group
        y = future.result()
        for f in range(f0, f1):
            last = n_frames_known is not None and f == n_frames_known - 1
            ns = min(F, total - F * f)
            j0 = P * (f - f0) + M
            # Silent if this frame and its neighbours' overlap are below the floor (the latents see both).
            a, b = max(F * f - F // 4, buf_start), min(F * (f + 1) + F // 4, buf_start + buf.shape[1])
            silent = b <= a or float(np.max(np.abs(buf[:, a - buf_start:b - buf_start]))) < SILENCE_PEAK
            n = layout.latents_in_frame(ns, last)
            y_frame = y[:, j0:j0 + n]

            def frame_audio(j0=j0, n=n):  # for band gains and envelopes: from 2 hops before latent 0 to 2
                return group[2][:, (j0 - 2) * layout.H:(j0 + n + 2) * layout.H]  # after latent n-1's window
            on_frame(f, np.zeros_like(y_frame) if silent else y_frame, ns, silent, frame_audio)

    try:
        while True:
            try:
                group = next(groups)
            except StopIteration as stop:
                total = stop.value
                break
            queue.append((group, model.submit_encode(group[2][:, :, None])))
            if len(queue) > 1:
                finish(*queue.pop(0))
        while queue:
            finish(*queue.pop(0))
    finally:
        for _, future in queue:  # an error or interrupt: drop a network call not yet started
            future.cancel()
    return total


def compress_blocks(blocks, sample_rate: int, channels: int, num_samples, out, model,
                    bitrate_kbps: float = 64.0, tags=None, progress=None,
                    side_offset: int = DEFAULT_SIDE_OFFSET, cover=None, analysis_process: bool = False,
                    analysis_thread: bool | None = None) -> dict:
    """Encode original-rate float32 blocks (n, channels) into a .mz written to `out` (no seek needed).

    side_offset: the side channel's quantizer level relative to mid's (each level is 1.5 dB coarser);
    0 = one step for both. The decoder reads both levels from each frame, so any offset decodes.
    Samples beyond +-MAX_OVERSHOOT (+-2: +6 dB over full scale) and NaN/Inf are clipped there (NaN -> 0), and
    the returned "clipped" counts them, for a warning; AudioSource has clipped a float file's to [-1, 1].
    analysis_process: band-gain models analyse in a forked process (codec.analysis_process), the same bytes
    on a second core: for one long file compressed alone. Else in a thread of its own where this process
    may use two cores (runtime.session.cpu_threads(): a batch's workers are given one each), or in this
    thread (analysis_thread=False; the same bytes): a second thread's GIL hand-offs cost ~10 % more CPU,
    which a process with one core pays in time."""
    if not (MIN_KBPS <= bitrate_kbps <= MAX_KBPS):  # also rejects NaN
        raise ValueError(f"bitrate {bitrate_kbps:g} kbps out of range ({MIN_KBPS:g}..{MAX_KBPS:g})")
    layout = FrameLayout(model)
    coder = model.coder
    steps = model.steps()
    header = Header(sample_rate=sample_rate, channels=channels, num_samples=num_samples, model_rate=layout.rate,
                    frame_samples=layout.F, bitrate_bps=int(round(bitrate_kbps * 1000)), model_id=model.name,
                    model_sha256=model.digest, tags=dict(tags or {}), cover=cover)
    writer = ContainerWriter(out, header)
    last_level = coder.num_levels - 1

    def levels_for(level):
        return [level, min(level + side_offset, last_level)][:channels]

    # A cover picture is the file's, not the audio's: left out of the budget (a 290-KB cover took half of a
    # 3:28 song's bytes at 24 kbps) and of the bitrate said, as a library reads an MP3's (library.sampled)
    picture = len(cover[1]) if cover else 0
    rc = RateController(coder, bitrate_kbps * 1000, writer.bytes_written - picture, layout.rate, levels_for)
    resampler = StreamResampler(sample_rate, layout.rate, channels)
    seen, clipped = [0], [0]

    def ms_blocks():
        for block in blocks:
            seen[0] += len(block)
            # Far outside [-1, 1] (or NaN) the networks and the rate control fail or overshoot the bitrate many
            # times over; AudioSource clips (and warns) already, this covers every other caller.
            block, outside = clip_full_scale(np.asarray(block), MAX_OVERSHOOT)
            clipped[0] += outside
            yield to_mid_side(resampler.process(block)).astype(np.float32)
        yield to_mid_side(resampler.process(np.zeros((0, channels), np.float32), last=True)).astype(np.float32)

    steps32 = steps.astype(np.float32)  # float32 division: half the memory traffic of float64

    gains, fill_levels = model.band_gains, model.fill_levels
    gain_encoder = None
    fill_bytes = 0 if fill_levels is None else channels

    def write(index, ns, levels, payload, booked=None):
        written = writer.write_frame(Frame(index, ns, levels, payload))
        if booked is None:
            rc.spent(written, ns)
        else:  # booked when its level was chosen (GainEncoder): settle the difference
            rc.correct(written - booked)
        if progress:
            progress(ns / layout.rate)

    if gains is not None:
        gain_encoder = GainEncoder(model, gains.stride_for(bitrate_kbps), channels,
                                   lambda f, payload: write(f.index, f.num_samples, f.levels, payload, f.booked),
                                   bitrate_kbps, process=analysis_process,
                                   thread=cpu_threads() >= 2 if analysis_thread is None else analysis_thread)

    def on_frame(index, y, ns, silent, frame_audio):
        cache = {}
        audio = frame_audio()
        fill = b""
        if fill_levels is not None and not silent:  # the frame's own samples: 2 hops into its audio
            fill = fill_levels.codes_for(audio[:, 2 * layout.H:2 * layout.H + ns], bitrate_kbps)
            tilt = tilt_gains(model.config, fill_levels.levels(fill))
            if tilt is not None:  # the precision the fill bytes ask for (codec.fill_levels)
                y = y * tilt[:, None, :]

        def q_for(level):  # the search and the final encode ask for the same levels: quantize once
            if level not in cache:
                step = steps32[levels_for(level)][:, None, None]
                cache[level] = np.rint(y / step).astype(np.int32)
            return cache[level]
        gain_bytes = 0 if gain_encoder is None else LENGTH_BYTES + gain_encoder.expected_bytes() + fill_bytes
        if silent:
            level = last_level  # all zeros, at the level where a zero costs least
        else:
            level = rc.choose(q_for, ns, overhead=_RECORD_BYTES + COUNT_BYTES + gain_bytes)
            if not np.any(q_for(level)):
                level = last_level  # nothing survives quantization: same output, fewest bits
        chosen = levels_for(level)
        q = q_for(level)
        # All zeros: one zero vector says it (the decoder takes latents a frame lacks as zero), so silence
        # costs ~30 bytes a second instead of a zero symbol per latent (2 kbps with context tables).
        payload = encode_payload(coder, q if q.any() else q[:, :1], chosen)
        levels = (chosen[0], chosen[1] if channels == 2 else 255)
        if gain_encoder is None:
            write(index, ns, levels, payload)
            return
        booked = _RECORD_BYTES + len(payload) + gain_bytes
        rc.spent(booked, ns)
        if not q.any():
            fill = b""  # a frame of zero latents carries no fill bytes
        deq = dequantize(q, steps[chosen], index, model.config, fill_levels.levels(fill) if fill else None)
        gain_encoder.push(PendingFrame(index, ns, levels, q, deq, payload, audio, booked, fill=fill))

    try:
        model_total = _encode_groups(model, layout, ms_blocks(), on_frame)
        if gain_encoder is not None:
            gain_encoder.finish()
    finally:
        if gain_encoder is not None:
            gain_encoder.close()
    writer.finish(seen[0])
    duration = seen[0] / sample_rate
    return {"frames": math.ceil(model_total / layout.F), "bytes": writer.bytes_written, "duration": duration,
            "kbps": (writer.bytes_written - picture) * 8 / duration / 1000 if duration else 0.0,
            "cover_bytes": picture, "clipped": clipped[0]}


def compress_array(audio: np.ndarray, sample_rate: int, bitrate_kbps: float = 64.0, model=None, tags=None,
                   side_offset: int = DEFAULT_SIDE_OFFSET) -> bytes:
    """Compress a float array (n,) or (n, channels) in memory; returns the .mz bytes."""
    if model is None:
        from .loader import load_model
        model = load_model()
    audio = np.asarray(audio, np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    out = io.BytesIO()
    blocks = (audio[i:i + 65536] for i in range(0, len(audio), 65536))
    compress_blocks(blocks, sample_rate, audio.shape[1], len(audio), out, model, bitrate_kbps, tags,
                    side_offset=side_offset)
    return out.getvalue()
