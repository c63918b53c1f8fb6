"""The two inputs of `muzip eval` as streams of blocks, resampled, channel-matched and aligned, in memory
that does not depend on their length (a .mz is decoded frame by frame while it is compared)."""

import os
import queue
import threading
from collections import deque

import numpy as np

from .. import metrics
from ..audio import AudioSource, StreamResampler
from ..errors import MuzipError

BLOCK = 1 << 16  # samples per block read and per aligned pair handed on
PREFIX_S = 30.0  # the delay is estimated on this much of the start of the reference...
MAX_PREFIX_S = 120.0  # ...extended by PREFIX_S while that is near-silent (a long quiet intro), up to this
_SILENT_PEAK = 1e-3  # -60 dBFS
_MZ_MAGIC = b"\x89MZ\n"


def is_mz(path: str) -> bool:
    if not os.path.isfile(path):  # a pipe's first bytes, read here, would be gone for its reader
        return False
    try:
        with open(path, "rb") as f:
            return f.read(4) == _MZ_MAGIC
    except OSError:
        return False  # AudioSource reports missing/unreadable files in the usual words


class Input:
    """One input: float32 (n, channels) blocks at sample_rate; kbps is a .mz's actual bitrate; seconds its
    length where known up front; warnings, once its blocks are read, what its reader or decoder found
    (damage concealed, a file cut short), each naming the file."""

    def __init__(self, path, sample_rate, channels, blocks, kbps=None, seconds=None, warnings=None, notes=()):
        self.path, self.sample_rate, self.channels, self.blocks, self.kbps = path, sample_rate, channels, blocks, kbps
        self.seconds, self.warnings = seconds, warnings if warnings is not None else []
        self.notes = list(notes)  # how it was read (a 5.1 file mixed down to stereo)


def open_input(path: str, get_model, stack) -> Input:
    """Open ``path`` for streaming; what needs closing is registered on the ExitStack ``stack``."""
    if is_mz(path):
        return _open_mz(path, get_model, stack)
    src = stack.enter_context(AudioSource(path, downmix=True))
    info = src.info
    seconds = info.num_samples / info.sample_rate if info.num_samples is not None else None
    warnings: list[str] = []
    mixed = [f"{path}: {src.source_channels} channels, mixed down to stereo"] if src.source_channels > 2 else []
    return Input(path, int(info.sample_rate), info.channels, _noted(src, path, warnings), seconds=seconds,
                 warnings=warnings, notes=mixed)


def _noted(src, path, warnings: list):
    """src's blocks; once they are all read, its notes of a file cut short (final then) go to `warnings`,
    naming the file (not a cover art left out, or clipping: they do not bear on the comparison)."""
    yield from src.blocks(BLOCK)
    warnings.extend(f"{path}: {w}" for w in src.cut_notes)


def _with_path(path, exc):
    return MuzipError(str(exc) if str(exc).startswith(f"{path}: ") else f"{path}: {exc}")


def _open_mz(path, get_model, stack) -> Input:
    from ..codec import version_for
    from ..container import ContainerReader, read_info
    try:
        with open(path, "rb") as f:
            info = read_info(f)
        kbps, seconds = info["actual_bitrate_bps"] / 1000.0, info["held_s"]
        reader = ContainerReader(stack.enter_context(open(path, "rb")))
        if get_model is None:
            from ..codec import load_model as get_model
        model = get_model(version_for(reader.header.model_id, reader.header.model_sha256))
    except MuzipError as exc:
        raise _with_path(path, exc) from None
    warnings: list[str] = []
    blocks = _decoded_blocks(path, reader, model, warnings)
    stack.callback(blocks.close)  # stops and joins the decoding thread if comparing ends early
    return Input(path, reader.header.sample_rate, reader.header.channels, blocks, kbps, seconds, warnings)


class _Stopped(Exception):
    pass


def _decoded_blocks(path, reader, model, warnings: list):
    """decompress_to pushes blocks into a sink; a thread turns that into a generator the comparison pulls
    from, with a few blocks (1 s each) queued at most. What the decoder concealed goes to `warnings`, as
    `decompress` says it."""
    from ..codec import decompress_to
    from ..codec.decode import DecodeReport
    q, stop, report = queue.Queue(maxsize=4), threading.Event(), DecodeReport()

    def put(item):
        while not stop.is_set():
            try:
                return q.put(item, timeout=0.1)
            except queue.Full:
                pass
        raise _Stopped

    class Sink:
        def write(self, block):
            put(np.array(block, np.float32))

    def run():
        try:
            decompress_to(reader, model, lambda sr, ch, n: Sink(), report=report)
            put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
            try:
                put(exc)
            except _Stopped:
                pass

    worker = threading.Thread(target=run, name=f"decode {path}", daemon=True)
    worker.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, MuzipError):
                raise _with_path(path, item) from None
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
        # what was decoded, whether or not the comparison read it all (a shorter reference stops it early)
        warnings.extend(f"{path}: {m} (concealed)" for m in report.damaged)
        if report.truncated:
            warnings.append(f"{path}: file is truncated; compared the "
                            f"{report.samples_written / reader.header.sample_rate:.2f} s that are complete")


class _Fifo:
    """Queued (n, ch) blocks; skip() drops samples now or, when not yet there, as they arrive."""

    def __init__(self, it):
        self._it, self.done = it, False
        self._parts, self.n, self._skip = deque(), 0, 0

    def fill(self, n: int) -> None:
        while self.n < n and not self.done:
            block = next(self._it, None)
            if block is None:
                self.done = True
            else:
                self._put(block)

    def _put(self, x):
        if self._skip:
            k = min(self._skip, len(x))
            x, self._skip = x[k:], self._skip - k
        if len(x):
            self._parts.append(x)
            self.n += len(x)

    def peek(self, n: int) -> np.ndarray:
        return np.concatenate(list(self._parts))[:n]

    def take(self, n: int) -> np.ndarray:
        out, got = [], 0
        while got < n:
            x = self._parts.popleft()
            if got + len(x) > n:
                x, rest = x[:n - got], x[n - got:]
                self._parts.appendleft(rest)
            out.append(x)
            got += len(x)
        self.n -= got
        return out[0] if len(out) == 1 else np.concatenate(out)

    def skip(self, n: int) -> None:
        k = min(n, self.n)
        if k:
            self.take(k)
        self._skip += n - k


def _prepared(inp: Input, rate: int, mono: bool):
    """The input's blocks resampled to ``rate`` (streamed, soxr VHQ) and mixed to mono if asked."""
    rs = StreamResampler(inp.sample_rate, rate, inp.channels, quality="VHQ")  # identity at equal rates
    fix = (lambda x: x.mean(axis=1, keepdims=True)) if mono else (lambda x: x)
    for block in inp.blocks:
        yield fix(rs.process(block))
    yield fix(rs.process(np.zeros((0, inp.channels), np.float32), last=True))


INVERTED_BELOW = 0.3  # a degraded file is taken as inverted where it correlates at -0.3 or less


def _correlation(ref, deg, delay: int) -> float:
    """The correlation of the mono mixes of ref[n] and deg[n + delay] where both are."""
    r, d = np.asarray(ref, np.float64), np.asarray(deg, np.float64)
    r, d = (r.mean(axis=1) if r.ndim == 2 else r), (d.mean(axis=1) if d.ndim == 2 else d)
    r, d = (r, d[delay:]) if delay >= 0 else (r[-delay:], d)
    n = min(len(r), len(d))
    denom = float(np.sqrt((r[:n] @ r[:n]) * (d[:n] @ d[:n])))
    return float(r[:n] @ d[:n]) / denom if denom > 0 else 0.0


class AlignedPairs:
    """Reference and degraded, prepared as in :mod:`muzip.evaluate`: constructing it reads the first
    PREFIX_S seconds of both and estimates the delay there (:func:`muzip.metrics.find_delay`, the same
    value as on the whole signals when they are that short); iterating yields equal-length float32
    (ref, deg) blocks with the delay removed, until either input ends (``compared`` counts them)."""

    def __init__(self, ref: Input, deg: Input, max_delay_s: float):
        self.sample_rate, self.how, self.compared = ref.sample_rate, [], 0
        if deg.sample_rate != ref.sample_rate:
            self.how.append(f"degraded resampled {deg.sample_rate} -> {ref.sample_rate} Hz")
        mono = ref.channels != deg.channels
        if mono:
            self.how.append(f"{ref.channels} vs {deg.channels} channels: compared as mono mixes")
        self.channels = 1 if mono else ref.channels
        self._ref = _Fifo(_prepared(ref, ref.sample_rate, mono))
        self._deg = _Fifo(_prepared(deg, ref.sample_rate, mono))
        max_delay = int(round(max_delay_s * ref.sample_rate))
        prefix = int(PREFIX_S * ref.sample_rate)
        while True:
            self._ref.fill(prefix)
            self._deg.fill(prefix + max_delay)
            for inp, fifo in ((ref, self._ref), (deg, self._deg)):
                if fifo.n == 0:
                    raise MuzipError(f"{inp.path}: no audio samples")
            head = self._ref.peek(prefix)
            if self._ref.done or prefix >= MAX_PREFIX_S * ref.sample_rate or np.max(np.abs(head)) >= _SILENT_PEAK:
                break
            prefix += int(PREFIX_S * ref.sample_rate)
        ahead = self._deg.peek(prefix + max_delay)
        self.delay, self.polarity = metrics.find_delay(head, ahead, max_delay, either_polarity=True)
        if self.polarity < 0 and _correlation(head, ahead, self.delay) > -INVERTED_BELOW:
            # files that do not line up: the sign of a correlation near 0 says nothing (a review, session 62: two
            # recordings were "inverted" and compared so)
            self.delay, self.polarity = metrics.find_delay(head, ahead, max_delay), 1
        if self.polarity < 0:  # inaudible: compared inverted back (its raw peak lay 6 ms off, mel 2.4 for 0)
            self.how.append("degraded has its polarity inverted: compared inverted back")
        # the best lag at the search's edge: the files do not line up within it (another recording, a longer delay)
        self.at_edge = max_delay > 0 and abs(self.delay) == max_delay
        self.peaks = [0.0, 0.0]  # the largest |sample| compared of each (a silent file has no SI-SDR, no delay)
        self._dots = [0.0, 0.0, 0.0]  # of the mono mixes compared: ref.deg, ref.ref, deg.deg (their correlation)
        if self.delay > 0:
            self._deg.skip(self.delay)
        else:
            self._ref.skip(-self.delay)

    def __iter__(self):
        ref, deg = self._ref, self._deg
        while True:
            ref.fill(BLOCK)
            deg.fill(BLOCK)
            n = min(ref.n, deg.n, BLOCK)
            if n == 0:
                return
            self.compared += n
            r, d = ref.take(n), deg.take(n) * self.polarity
            self.peaks = [max(self.peaks[0], float(np.max(np.abs(r)))), max(self.peaks[1], float(np.max(np.abs(d))))]
            rm, dm = r.mean(axis=1, dtype=np.float64), d.mean(axis=1, dtype=np.float64)
            self._dots = [self._dots[0] + rm @ dm, self._dots[1] + rm @ rm, self._dots[2] + dm @ dm]
            yield r, d

    @property
    def correlation(self) -> float:
        """The compared mono mixes' normalized correlation (a codec's output at 6 kbps: 0.96; another recording:
        about 0; a copy 0.3 s late, lined up on a spurious peak: 0.24)."""
        ref_ref, deg_deg = self._dots[1], self._dots[2]
        return float(self._dots[0] / np.sqrt(ref_ref * deg_deg)) if ref_ref > 0 and deg_deg > 0 else 0.0
