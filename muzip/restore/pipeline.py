"""Restoring one file (what `muzip restore` does per input): read, measure, restore or copy, write.

No command line here: the caller opens the output (atomically, or standard output), makes the progress
bar and prints the result. Heavy imports (numpy, onnxruntime, the audio readers) happen on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

_LOSSLESS_CONTAINERS = ("wav", "wavex", "rf64", "flac", "aiff", "aif", "w64", "caf", "wv", "ape")  # libsndfile's names
PROBE_SECONDS = 60  # the bandwidth is measured on the first minute of sound (memory stays flat in length)
_RESTORERS: dict = {}  # one load per process: a batch (or a worker) pays for it once


@dataclass
class Restored:
    """What restore_file did with one input."""

    format: str             # the input's format as the reader names it ("mp3", "flac", "m4a", ...)
    codec: str | None       # what the stream holds ("mp3", "aac", "opus", "alac", "pcm", ...; None: not known)
    bits: int               # bits per sample written (24 for a 24-bit or wider original passed through)
    kbps: float | None      # the stream's bitrate; None: lossless (or standard input)
    bandwidth: float        # Hz of real content, measured on the first minute of sound (0: silent)
    copied: bool            # passed through unchanged (lossless, or at COPY_KBPS or more)
    samples: int            # frames written
    rate: int               # the output's sample rate
    channels: int
    warnings: list = field(default_factory=list)  # the reader's (truncated input, ...), for the caller to report


def restorer(name):
    """The restorer model `name`, loaded once per process."""
    from .runtime import Restorer
    if name not in _RESTORERS:
        _RESTORERS[name] = Restorer(name)
    return _RESTORERS[name]


def stream_kbps(path: str, fmt: str, seconds: float | None, codec: str | None = None) -> float | None:
    """The stream's bitrate: MP3 from its frames (mutagen), other lossy formats from size / duration; None for
    a lossless codec (an ALAC M4A too) or a lossless container whose codec is not known."""
    from ..audio.probe import LOSSLESS_CODECS
    if path == "-" or codec in LOSSLESS_CODECS or (codec is None and fmt in _LOSSLESS_CONTAINERS):
        return None
    if fmt == "mp3":
        try:
            import mutagen.mp3
            return mutagen.mp3.MP3(path).info.bitrate / 1000.0
        except Exception:  # noqa: BLE001 - fall back to the size
            pass
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    return size * 8 / seconds / 1000.0 if size and seconds else None


def mp3_delay(path: str) -> int:
    """Samples of codec delay at the start of libsndfile's MP3 output: 0 when the file has a Xing/Info
    (LAME) header, which mpg123 uses to cut delay and padding itself; else LAME's 576 + 529 (1105)."""
    from .pairs import MP3_DELAY
    try:
        with open(path, "rb") as f:
            head = f.read(10)
            skip = 0
            if head[:3] == b"ID3" and len(head) == 10:
                skip = 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
            f.seek(skip)
            first = f.read(4096)
    except OSError:
        return MP3_DELAY
    return 0 if (b"Xing" in first or b"Info" in first) else MP3_DELAY


def _probe(blocks, sound_samples: int, silent_as_length: bool) -> list:
    """The blocks read until `sound_samples` of them are not digital silence (detect.DIGITAL_SILENCE), or the
    stream ends. silent_as_length: a silent block is kept as its length (an int), so memory stays flat
    however long a silence comes first."""
    import numpy as np

    from .detect import DIGITAL_SILENCE
    held, have = [], 0
    for b in blocks:
        if silent_as_length and (not len(b) or float(np.max(np.abs(b))) <= DIGITAL_SILENCE):
            held.append(len(b))
            continue
        held.append(b)
        have += len(b)
        if have >= sound_samples:
            break
    return held


def _skip(held: list, n: int) -> list:
    """`held` (blocks and silent lengths) without its first n samples: the MP3 decoder's delay."""
    out = []
    for b in held:
        k = b if isinstance(b, int) else len(b)
        if n >= k:
            n -= k
            continue
        out.append(b - n if isinstance(b, int) else b[n:])
        n = 0
    return out


def restore_file(src: str, open_output, progress, *, fmt: str, model: str, seed: int = 0,
                 deterministic: bool = False, exact_formats=(), downmix: bool = False) -> Restored:
    """Restore `src` ("-": standard input) into the file that open_output() yields (a context manager,
    entered once the input has been measured), as `fmt` ("wav" or "flac").

    model: the restorer's name, or "none" (copy only). progress(seconds or None) returns a context
    manager with update(seconds of input done). exact_formats: the input formats whose length the
    reader reports exactly (others: the stream decides the length). downmix: mix more than 2 channels
    down to stereo (else such input is refused). Errors are MuzipError or OSError."""
    import numpy as np

    from ..audio import AudioSink, AudioSource, StreamResampler
    from ..audio.tags import decoded_mark
    from .detect import COPY_KBPS, bandwidth_hz, condition
    from .runtime import restore_blocks
    net = None if model == "none" else restorer(model)
    with AudioSource(src, downmix=downmix) as source:
        info = source.info
        sr, ch = info.sample_rate, info.channels
        seconds = info.num_samples / sr if info.num_samples else None
        kbps = stream_kbps(src, info.format, seconds, info.codec)
        copy = kbps is None or kbps >= COPY_KBPS or net is None  # model "none": copy whatever it is
        blocks = source.blocks(1 << 16)
        delay = mp3_delay(src) if info.format == "mp3" and not copy else 0
        # the first minute of sound, kept to measure the bandwidth before anything is written; a restoration
        # keeps a block of digital silence (a hidden track's long silent start) as its length only
        head = _skip(_probe(blocks, PROBE_SECONDS * sr + delay, silent_as_length=not copy), delay)
        sound = [b for b in head if not isinstance(b, int)]
        bw = bandwidth_hz(np.concatenate(sound) if sound else np.zeros((0, ch), np.float32), sr)
        rate = sr if copy else max(sr, net.rate)
        # Only these formats report an exact length; for others (MP3, ffmpeg-decoded) the stream decides.
        exact = info.num_samples if src != "-" and info.format in exact_formats else None
        total = None if exact is None else max(0, exact - delay)
        want = None if total is None else round(total * rate / sr)

        def source_blocks():
            for b in head:
                yield np.zeros((b, ch), np.float32) if isinstance(b, int) else b
            yield from blocks

        bits = 24 if copy and (info.bits or 16) > 16 else 16  # a 24-bit original passed through stays 24-bit
        # what made the audio: a copy keeps its input's note (a WAV muzip decoded), a restoration says what it was
        software = (info.software or None) if copy else decoded_mark(info.codec or info.format, kbps, restored_by=model)
        # The sink is closed (or, on an error or a signal, abandoned) before its file object is.
        with open_output() as dst, progress(seconds) as bar, \
                AudioSink(dst, rate, ch, fmt, num_samples=want, tags=info.tags, cover=info.cover,
                          bits=bits, software=software) as sink:
            written = 0
            if copy:
                for b in source_blocks():
                    sink.write(b)
                    written += len(b)
                    bar.update(len(b) / sr)
            else:
                up = StreamResampler(sr, net.rate, ch)
                down = StreamResampler(net.rate, rate, ch)
                cond = condition(kbps, bw or sr / 2, sr)  # a silent start: as full-band (nothing made up)

                def model_rate_blocks():
                    for b in source_blocks():
                        bar.update(len(b) / sr)
                        yield up.process(b)
                    yield up.process(np.zeros((0, ch), np.float32), last=True)

                for y in restore_blocks(net, model_rate_blocks(), ch, cond, seed, deterministic):
                    y = down.process(np.clip(y, -1.0, 1.0))
                    if want is not None:
                        y = y[:max(0, want - written)]
                    sink.write(y)
                    written += len(y)
                tail = down.process(np.zeros((0, ch), np.float32), last=True)
                if want is not None:
                    tail = tail[:max(0, want - written)]
                sink.write(tail)
                written += len(tail)
            if want is not None and written < want:  # resampler rounding: a few samples of silence
                sink.write(np.zeros((want - written, ch), np.float32))
                written = want
            sink.close()
        warnings = list(source.warnings)
    return Restored(info.format, info.codec, bits, kbps, bw, copy, written, rate, ch, warnings)
