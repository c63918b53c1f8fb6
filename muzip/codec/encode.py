"""Codec API: audio blocks <-> .mz streams, in bounded memory.

compress: original-rate blocks -> resample to the model rate -> mid/side -> groups of 1-second frames
          (with one frame of audio context each side) -> encoder -> rate control -> entropy coder -> container.
decompress: container frames -> entropy decoder -> groups of frames with one frame of latent context each
          side -> decoder -> left/right -> resample to the original rate -> exact length.

Because every group sees its neighbours, frame edges are invisible in the output (no clicks), and
decoding any subrange gives the same samples as decoding the whole file.
"""

import collections
import io
import math

import numpy as np

from .audio import StreamResampler
from .container import ContainerReader, ContainerWriter, Frame, Header
from .band_gains import UNCHANGED, decode_frame
from .gain_encoder import GainEncoder, PendingFrame
from .entropy import LatentCoder, encode_payload
from .errors import CorruptFileError, ModelError
from .runtime.base import receptive_latents

GROUP = 16  # frames per network call: bounds memory, amortises call overhead
# Side is quantized 2 levels (3 dB) coarser than mid: better mel distance and ViSQOL at 16, 32 and
# 64 kbps than one shared step (docs/EXPERIMENTS.md, scripts/exp_side_offset.py).
DEFAULT_SIDE_OFFSET = 2
MIN_KBPS, MAX_KBPS = 6.0, 96.0
_PAYLOAD_COUNT_BYTES = 2  # the latent count before the ANS words (entropy.encode_payload)
_RECORD_BYTES = 22  # a frame record's head and CRC (container.format)
_GAIN_LENGTH_BYTES = 4  # the latent payload's length before the gain words (band_gains.join_payload)
_INDEX_BYTES_PER_FRAME, _INDEX_FIXED_BYTES = 4, 40
RESERVOIR_S = 3.0
# A frame whose peak is below this (-84 dBFS, under 2 LSB of 16-bit audio) is coded as silence.
SILENCE_PEAK = 2.0 ** -14


def to_mid_side(x: np.ndarray) -> np.ndarray:
    """(n, ch) -> (A, n): mono stays one channel; stereo becomes mid=(L+R)/2, side=(L-R)/2."""
    if x.shape[1] == 1:
        return x.T.copy()
    return np.stack([(x[:, 0] + x[:, 1]) * 0.5, (x[:, 0] - x[:, 1]) * 0.5])


def from_mid_side(a: np.ndarray) -> np.ndarray:
    """(A, n) -> (n, ch)."""
    if a.shape[0] == 1:
        return a.T.copy()
    return np.stack([a[0] + a[1], a[0] - a[1]], axis=1)


class _Layout:
    def __init__(self, model):
        cfg = model.config
        self.rate, self.F, self.H = cfg["model_rate"], cfg["frame_samples"], cfg["hop"]
        self.per_frame = self.F // self.H
        # Context each side of a group, in latents: past what any output latent can see, so a group's
        # output equals the whole file's. (1.0 used a whole frame each side: 25% more network work.)
        self.margin = receptive_latents(cfg) + 4

    def latents_in_frame(self, num_samples: int, last: bool) -> int:
        return math.ceil(num_samples / self.H) + 1 if last else self.per_frame


class RateController:
    """Chooses each frame's quantizer level so the file's cumulative size tracks bitrate x time.

    One level per frame drives both channels (side at a fixed offset from mid), so the side
    channel's cost follows its energy: near-mono music spends almost nothing on it.
    """

    def __init__(self, coder: LatentCoder, bitrate_bps: float, header_bytes: int, rate: int, levels_for):
        self.coder, self.bps, self.rate, self.levels_for = coder, bitrate_bps, rate, levels_for
        self.bytes_so_far = header_bytes + _INDEX_FIXED_BYTES
        self.samples_so_far = 0
        self.last_level = coder.num_levels // 2

    def choose(self, q_for_level, num_samples: int, overhead: int) -> int:
        nominal = self.bps / 8 * num_samples / self.rate
        target = self.bps / 8 * (self.samples_so_far + num_samples) / self.rate - self.bytes_so_far - overhead
        budget_bits = 8 * float(np.clip(target, 0.25 * nominal, 3.0 * nominal))
        top = self.coder.num_levels - 1

        def fits(level):  # monotone: a coarser level never costs more; past `top` counts as fitting
            return level > top or self._bits(q_for_level(level), level) <= budget_bits

        # The finest level that fits, searched outwards from the last frame's (usually 2-3 estimates, not 6).
        start = min(self.last_level, top)
        if fits(start):
            hi, lo, step = start, start - 1, 1
            while lo >= 0 and fits(lo):
                hi, step = lo, step * 2
                lo = hi - step
            lo = max(lo, -1)  # -1: "nothing finer fits"
        else:
            lo, hi, step = start, start + 1, 1
            while not fits(hi):
                lo, step = hi, step * 2
                hi = min(lo + step, top + 1)
        while hi - lo > 1:  # lo does not fit, hi does
            mid = (lo + hi) // 2
            if fits(mid):
                hi = mid
            else:
                lo = mid
        self.last_level = min(hi, top)
        return self.last_level

    def _bits(self, q, level):
        return sum(self.coder.estimate_bits(q[a], a, lv) for a, lv in enumerate(self.levels_for(level)))

    def correct(self, extra_bytes: float):
        """A frame booked by spent() at an estimate turned out extra_bytes larger (or smaller)."""
        self.bytes_so_far += extra_bytes

    def spent(self, record_bytes: float, num_samples: int):
        self.bytes_so_far += record_bytes + _INDEX_BYTES_PER_FRAME
        self.samples_so_far += num_samples
        # Bits left unspent (silence, simple passages) stay banked for at most RESERVOIR_S seconds: a long
        # quiet intro must not let the music after it run at 3x the rate for minutes. The file then comes
        # out below the requested rate, never above it.
        floor = self.bps / 8 * (self.samples_so_far / self.rate - RESERVOIR_S)
        self.bytes_so_far = max(self.bytes_so_far, floor)


def _groups(layout, ms_blocks):
    """Cut model-rate (A, n) blocks into network calls of GROUP frames (with context margins).

    Yields (f0, f1, chunk, buf, buf_start, total, n_frames_known) and finally returns the sample total;
    buf is the audio the frames' silence test reads (never mutated: trimming makes a new view)."""
    F = layout.F
    buf, buf_start, total, done, f0 = None, 0, 0, False, 0
    it = iter(ms_blocks)
    while True:
        need = F * (f0 + GROUP + 1)  # audio up to one frame past the group
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
        f1 = f0 + GROUP if not done else min(f0 + GROUP, n_frames_known)
        if f1 <= f0:
            return total
        M = layout.margin
        lo, hi = F * f0 - M * layout.H, F * f1 + M * layout.H
        chunk = np.zeros((buf.shape[0], hi - lo), np.float32)
        a, b = max(lo, buf_start), min(hi, buf_start + buf.shape[1])
        chunk[:, a - lo:b - lo] = buf[:, a - buf_start:b - buf_start]
        yield f0, f1, chunk, buf, buf_start, total, n_frames_known
        f0 = f1
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

            def frame_audio(j0=j0, n=n):  # for band gains; the chunk starts one hop before its latent 0
                return group[2][:, (j0 - 1) * layout.H:(j0 + n) * layout.H]
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
                    side_offset: int = DEFAULT_SIDE_OFFSET, cover=None) -> dict:
    """Encode original-rate float32 blocks (n, channels) into a .mz written to `out` (no seek needed).

    side_offset: the side channel's quantizer level relative to mid's (each level is 1.5 dB coarser);
    0 = one step for both. The decoder reads both levels from each frame, so any offset decodes."""
    if not (MIN_KBPS <= bitrate_kbps <= MAX_KBPS):  # also rejects NaN
        raise ValueError(f"bitrate {bitrate_kbps:g} kbps out of range ({MIN_KBPS:g}..{MAX_KBPS:g})")
    layout = _Layout(model)
    coder = model.coder
    steps = model.steps()
    header = Header(sample_rate=sample_rate, channels=channels, num_samples=num_samples, model_rate=layout.rate,
                    frame_samples=layout.F, bitrate_bps=int(round(bitrate_kbps * 1000)), model_id=model.name,
                    model_sha256=model.digest, tags=dict(tags or {}), cover=cover)
    writer = ContainerWriter(out, header)
    last_level = coder.num_levels - 1

    def levels_for(level):
        return [level, min(level + side_offset, last_level)][:channels]

    rc = RateController(coder, bitrate_kbps * 1000, writer.bytes_written, layout.rate, levels_for)
    resampler = StreamResampler(sample_rate, layout.rate, channels)
    seen = [0]

    def ms_blocks():
        for block in blocks:
            seen[0] += len(block)
            if not np.isfinite(block).all():  # NaN/Inf would poison the transform; readers warn about them
                block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
            yield to_mid_side(resampler.process(block)).astype(np.float32)
        yield to_mid_side(resampler.process(np.zeros((0, channels), np.float32), last=True)).astype(np.float32)

    steps32 = steps.astype(np.float32)  # float32 division: half the memory traffic of float64

    gains = model.band_gains
    gain_encoder = None

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
                                   lambda f, payload: write(f.index, f.num_samples, f.levels, payload, f.booked))

    def on_frame(index, y, ns, silent, frame_audio):
        cache = {}

        def q_for(level):  # the search and the final encode ask for the same levels: quantize once
            if level not in cache:
                step = steps32[levels_for(level)][:, None, None]
                cache[level] = np.rint(y / step).astype(np.int32)
            return cache[level]
        gain_bytes = 0 if gain_encoder is None else _GAIN_LENGTH_BYTES + gain_encoder.expected_bytes()
        if silent:
            level = last_level  # all zeros, at the level where a zero costs least
        else:
            level = rc.choose(q_for, ns, overhead=_RECORD_BYTES + _PAYLOAD_COUNT_BYTES + gain_bytes)
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
        deq = q * steps32[chosen][:, None, None]
        gain_encoder.push(PendingFrame(index, ns, levels, q, deq, payload, frame_audio(), booked))

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
            "kbps": writer.bytes_written * 8 / duration / 1000 if duration else 0.0}


class DecodeReport:
    def __init__(self):
        self.damaged: list[str] = []
        self.truncated = False
        self.samples_written = 0


def check_model(header: Header, model) -> None:
    if header.model_id != model.name or header.model_sha256 != model.digest:
        raise ModelError(f"file was made with model '{header.model_id}' ({header.model_sha256.hex()[:12]}), "
                         f"but the loaded model is '{model.name}' ({model.sha256[:12]})")
    cfg = model.config  # the decoder's frame layout comes from the model, so the header must agree with it
    if (header.model_rate, header.frame_samples) != (cfg["model_rate"], cfg["frame_samples"]):
        raise CorruptFileError(f"header is damaged (model rate {header.model_rate} Hz, {header.frame_samples} "
                               f"samples per frame; model '{model.name}' has {cfg['model_rate']} Hz, "
                               f"{cfg['frame_samples']})")


def _frame_events(reader: ContainerReader, lo: int, hi: int):
    """FrameEvents for indices in [lo, hi), by index when the file has one, else by scanning."""
    if reader.load_index():
        for i in range(lo, min(hi, reader.n_frames)):
            yield reader.read_frame(i)
        return
    for event in reader.frames():
        if event.index >= hi:
            return
        if event.index >= lo:
            yield event


def decode_frames(reader, model, first: int, stop: int | None, report: DecodeReport, strict=False):
    """Yield (frame_index, model-rate audio (A, n)) for frames first..stop-1 that exist, in order."""
    layout, header = _Layout(model), reader.header
    coder = model.coder
    steps, A, P, C = model.steps(), header.channels, layout.per_frame, model.config["latent_channels"]
    frames = {}  # index -> (latents (A, n, C) or None, num_samples, band-gain symbols or None)
    gains = model.band_gains
    last_index = [None]

    def accept(event):
        f = event.frame
        if f is not None:
            try:
                levels = list(f.levels[:A])
                q, s = decode_frame(coder, gains, f.payload, P + 1, levels)
                frames[event.index] = (q * steps[levels][:, None, None].astype(np.float32), f.num_samples, s)
                return
            except CorruptFileError as exc:
                error = f"frame {event.index}: {exc}"
        else:
            error = event.error or f"frame {event.index}: damaged"
        if strict:
            raise CorruptFileError(error)
        report.damaged.append(error)
        frames[event.index] = (None, layout.F, None)  # concealed: silence, cross-faded by the decoder's overlap

    M = layout.margin
    pending = collections.deque()  # (g0, g1, decoded audio or a future of it), oldest first

    def start_group(g0, g1):
        base, end = P * g0 - M, P * g1 + M + 1  # latents [base, end): the group and M of context each side
        lat = None
        g = None if gains is None else np.full((A, end - base, gains.bands), UNCHANGED, np.int32)
        for f in range(g0 - 1, g1 + 1):
            y, _, s = frames.get(f, (None, 0, None))
            a, b = max(P * f, base), min(P * f + (0 if y is None else y.shape[1]), end)
            if b > a:
                if lat is None:
                    lat = np.zeros((A, end - base, C), np.float32)
                lat[:, a - base:b - base] = y[:, a - P * f:b - P * f]
                if s is not None:
                    g[:, a - base:b - base] = s[:, a - P * f:b - P * f]
        sizes = [frames[f][1] for f in range(g0, g1)]
        if lat is None:  # all concealed (a long gap): zero latents decode to exact zeros, skip the network
            audio = np.zeros((A, layout.H * (end - base - 1)), np.float32)
        else:
            audio = model.submit_decode(lat, base, g) if g is not None else model.submit_decode(lat, base)
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
    lo = max(0, first - 1)
    hi = None if stop is None else stop + 1
    g0 = first
    # A short file is split evenly over the decoder's parallel calls (a 10-s clip: two calls of 5 frames),
    # and the first call starts while the entropy decoder works on the second's frames.
    known = [n for n in (stop, reader.n_frames if reader.load_index() else None) if n is not None]
    group = max(1, min(GROUP, -(-(min(known) - first) // in_flight))) if known else GROUP
    try:
        for event in _frame_events(reader, lo, hi if hi is not None else 2 ** 62):
            accept(event)
            last_index[0] = event.index
            while event.index >= g0 + group:  # the group's right-hand context has arrived
                start_group(g0, g0 + group)
                for f in [k for k in frames if k < g0 + group - 1]:
                    del frames[f]
                g0 += group
                yield from finish_groups(in_flight - 1)
        report.truncated = bool(getattr(reader, "truncated", False))
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
                  strict=False, progress=None, pad_truncated=False) -> DecodeReport:
    """Decode [start, start+duration) seconds into sink_factory(sample_rate, channels, num_samples).

    A truncated file yields what is complete (report.truncated); pad_truncated fills the promised
    length with silence instead, for sinks that cannot shrink (a WAV stream on stdout)."""
    header, layout, report = reader.header, _Layout(model), DecodeReport()
    check_model(header, model)
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

    for _, audio in decode_frames(reader, model, first, stop, report, strict):
        emit(resampler.process(from_mid_side(audio)))
        if progress:
            progress(audio.shape[1] / layout.rate)
    emit(resampler.process(np.zeros((0, ch), np.float32), last=True))
    if want is not None and not pad_truncated and reader.total_num_samples is not None:
        # An index found by the scan (its total checked against the frames) bounds a header's claim.
        want = min(want, max(0, min(s1, reader.total_num_samples) - s0))
    if want is not None and written < want and (pad_truncated or not report.truncated):
        _write_silence(sink, want - written, ch)  # resampler rounding, or what a truncated file promised
        written = want
    report.samples_written = written
    return report


def _write_silence(sink, n: int, channels: int, block: int = 1 << 16) -> None:
    """n samples of silence in bounded blocks: a promised length can be hours."""
    zeros = np.zeros((min(n, block), channels), np.float32)
    while n > 0:
        sink.write(zeros[:min(n, block)])
        n -= block


def compress_array(audio: np.ndarray, sample_rate: int, bitrate_kbps: float = 64.0, model=None, tags=None,
                   side_offset: int = DEFAULT_SIDE_OFFSET) -> bytes:
    """Compress a float array (n,) or (n, channels) in memory; returns the .mz bytes."""
    if model is None:
        from .runtime import load_model
        model = load_model()
    audio = np.asarray(audio, np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    out = io.BytesIO()
    blocks = (audio[i:i + 65536] for i in range(0, len(audio), 65536))
    compress_blocks(blocks, sample_rate, audio.shape[1], len(audio), out, model, bitrate_kbps, tags,
                    side_offset=side_offset)
    return out.getvalue()


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
        from .runtime import load_model
        model = load_model(reader.header.model_id)
    sink = ArraySink()
    decompress_to(reader, model, lambda sr, ch, n: sink, start, duration, strict)
    ch = reader.header.channels
    audio = np.concatenate(sink.parts) if sink.parts else np.zeros((0, ch), np.float32)
    return audio, reader.header.sample_rate

