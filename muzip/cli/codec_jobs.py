"""The per-file work of `compress` and `decompress`: a pure function of (item, options), run in this
process or in a worker. The heavy imports (numpy, onnxruntime, the codec) happen here, on first use."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..errors import AudioReadError, CorruptFileError, MuzipError
from .common import file_size, fmt_time

_MODELS: dict = {}  # one load per process: a batch (or a worker) pays for it once
# Containers whose frame count soundfile reports exactly; for others (MP3, ffmpeg-decoded, stdin)
# the header says "unknown" and the index at the end holds the count actually coded.
EXACT_LENGTH_FORMATS = ("wav", "flac", "ogg")


def get_model(name=None):
    """Model `name` (or the key of a kept older version, codec.version_for), loaded once per process."""
    from ..codec import load_model
    from ..runtime import resolve_name
    key = resolve_name(name)
    if key not in _MODELS:
        _MODELS[key] = load_model(key)
    return _MODELS[key]


@dataclass
class CompressOptions:
    bitrate: float
    force: bool
    downmix: bool
    model: str | None
    make_dirs: bool = False
    file_workers: int = 1  # cores for one file (-j when there is one): a long one's gain analysis in a process


@dataclass
class DecompressOptions:
    fmt: str
    start: float
    duration: float | None
    force: bool
    strict: bool
    make_dirs: bool = False
    file_workers: int = 1  # processes for one long file (codec.split_decode): -j when there is one file


def _output(item, force, seekable=False):
    from ..outputs import atomic_output, stdout_output
    if item.dst is None:
        if sys.stdout.isatty():
            raise MuzipError("refusing to write binary data to a terminal (redirect it, or use -o)")
        return stdout_output(seekable)
    return atomic_output(item.dst, force, inputs=[item.src], seekable=seekable)


def _refuse_mz_input(src: str) -> None:
    """`compress old.mz`: said as what it is ("is the input file; refusing to overwrite it" was said first)."""
    from ..audio.ffmpeg_read import mz_not_audio
    from ..library.sampled import is_mz  # a regular file only: a pipe's first bytes are its reader's
    if src != "-" and is_mz(src):
        raise mz_not_audio(src)


def _precheck(item, force, make_dirs):
    """Refuse a bad output before reading anything (the move into place checks again)."""
    if item.dst is None:
        return
    if item.src != "-" and not os.path.exists(item.src):  # a broken link under -r: the input's fault, said first
        raise AudioReadError(f"{item.src}: no such file" + (" (a broken link)" if os.path.islink(item.src) else ""))
    from ..outputs import check_output
    if make_dirs:
        os.makedirs(os.path.dirname(item.dst) or ".", exist_ok=True)
    check_output(item.dst, force, [item.src])


# From this length a file compressed alone on 2+ cores analyses its band gains in a process of its own
# (codec.analysis_process): the fork and the frames' trips through a pipe cost more on a short clip.
LONG_FILE_S = 60.0


def compress_one(item, opt: CompressOptions, bars, out) -> None:
    if item.skip:
        out.say(f"{item.dst}: exists, skipped")
        return
    from ..audio import AudioSource
    from ..codec import compress_blocks
    if item.src != "-" and os.path.isdir(item.src):  # said as decompress says it
        raise AudioReadError("is a directory (use -r for folders)")
    _refuse_mz_input(item.src)  # before its own name is refused as the output
    _precheck(item, opt.force, opt.make_dirs)
    model = get_model(opt.model)  # before opening: a missing model fails fast
    with AudioSource(item.src, downmix=opt.downmix) as src:
        info = src.info
        total = info.num_samples / info.sample_rate if info.num_samples else None
        exact = info.num_samples if item.src != "-" and info.format in EXACT_LENGTH_FORMATS else None
        with _output(item, opt.force) as f, bars(total, os.path.basename(item.src)) as bar:
            stats = compress_blocks(src.blocks(1 << 16), info.sample_rate, info.channels, exact, f, model,
                                    opt.bitrate, tags=info.tags, progress=bar.update, cover=info.cover,
                                    analysis_process=opt.file_workers > 1 and (total or 0) >= LONG_FILE_S)
        warnings = list(src.warnings)
        if stats.get("clipped"):  # AudioSource clips first, so this is for sources that do not
            from ..audio.samples import MAX_OVERSHOOT, clipped_warning
            warnings.append(clipped_warning(stats["clipped"], MAX_OVERSHOOT))
        for warning in warnings:
            out.warn(f"{item.src}: {warning}")
    in_size = file_size(item.src)
    out.bytes_in, out.bytes_out = in_size, stats["bytes"]
    ratio = ""
    if in_size and stats["bytes"]:  # a tiny or already compressed input can come out larger: said so
        times = max(in_size, stats["bytes"]) / min(in_size, stats["bytes"])
        ratio = ", about the input's size" if times < 1.05 else (  # not "1.0x smaller" (a 64-kbps MP3 at 64 kbps)
            f", {times:.1f}x {'smaller' if in_size >= stats['bytes'] else 'larger'} than the input")
    cover = f" ({stats['cover_bytes']:,} of them a cover picture)" if stats.get("cover_bytes") else ""
    out.say(f"{item.src} -> {item.dst or 'stdout'}: {fmt_time(stats['duration'])}, "
            f"{stats['bytes']:,} bytes{cover}, {stats['kbps']:.1f} kbps{ratio}")


def decompress_one(item, opt: DecompressOptions, bars, out) -> None:
    if item.skip:
        out.say(f"{item.dst}: exists, skipped")
        return
    from ..audio import AudioSink
    from ..audio.tags import decoded_mark
    from ..codec import decompress_to, version_for
    from ..container import ContainerReader, read_info
    try:
        f = sys.stdin.buffer if item.src == "-" else open(item.src, "rb")
    except FileNotFoundError:
        raise AudioReadError("no such file") from None
    except IsADirectoryError:
        raise AudioReadError("is a directory (use -r for folders)") from None
    with f:
        reader = ContainerReader(f)  # a file that is no .mz is said so before its output is looked at
        h = reader.header
        _precheck(item, opt.force, opt.make_dirs)
        model = get_model(version_for(h.model_id, h.model_sha256))  # the exact version the file names
        total = reader.total_num_samples if reader.load_index() else h.num_samples
        if opt.start and total is not None and round(opt.start * h.sample_rate) >= total:
            raise MuzipError(f"--start {fmt_time(opt.start)} is past the end ({fmt_time(total / h.sample_rate)})")
        sinks = []

        # the file's own bitrate (the header's is the target), named in the output: a WAV of a 24-kbps file is
        # no original (a library ranks it with the lossy copies). As `info` reads it: its frames' bytes over the
        # audio they hold, so a cut or joined file's too, a cover picture left out; a pipe has only the target.
        kbps = h.bitrate_bps / 1000
        if item.src != "-" and reader.seekable:
            with open(item.src, "rb") as again:
                kbps = read_info(again)["actual_bitrate_bps"] / 1000 or kbps

        def make_sink(sr, ch, n):
            sinks.append(AudioSink(dst, sr, ch, opt.fmt, num_samples=n, tags=h.tags,
                                   cover=h.cover, software=decoded_mark(h.model_id, kbps)))
            return sinks[0]

        seconds = total / h.sample_rate if total is not None else None
        if seconds is not None:
            seconds = max(0.0, seconds - opt.start)
            seconds = min(seconds, opt.duration) if opt.duration is not None else seconds
        elif opt.duration is not None:
            seconds = opt.duration
        with _output(item, opt.force, seekable=opt.fmt != "wav") as dst, \
                bars(seconds, os.path.basename(item.src)) as bar:
            # A WAV header already sent down a pipe (stdout, a FIFO) cannot be fixed: pad to its length.
            streaming = item.dst is None or not dst.seekable()
            report = decompress_to(reader, model, make_sink, opt.start, opt.duration, opt.strict,
                                   progress=bar.update, pad_truncated=streaming, workers=opt.file_workers)
            if opt.strict and report.truncated:  # audio lost, as a damaged frame's is: no output (it was exit 3)
                raise CorruptFileError("file is truncated (no valid index at the end): --strict writes nothing")
            if opt.start and report.truncated and not report.samples_written:  # its header's length was a claim
                raise MuzipError(f"--start {fmt_time(opt.start)} is past the end of what the file holds (it is "
                                 "truncated: `muzip info` says how much)")
            sinks[0].close()
            out.bytes_out = dst.tell() if item.dst is not None and dst.seekable() else 0
    for message in report.damaged:
        out.warn(f"{item.src}: {message} (concealed)")
    if report.joined_at is not None:
        from ..container import joined_message
        out.warn(f"{item.src}: {joined_message(report.joined_at)}")
    if report.index_damaged:
        out.warn(f"{item.src}: index or trailer damaged (no random access); decoded every frame in order")
    if report.truncated:
        complete = (report.samples_written - report.samples_padded) / h.sample_rate
        padded = (f", then {report.samples_padded / h.sample_rate:.2f} s of silence to the length its header "
                  "states (a stream's WAV header was already sent)") if report.samples_padded else ""
        out.warn(f"{item.src}: file is truncated; decoded the {complete:.2f} s that are complete{padded}")
    out.bytes_in = file_size(item.src)
    rate = sinks[0].output_rate if sinks else h.sample_rate
    out.say(f"{item.src} -> {item.dst or 'stdout'}: {fmt_time(report.samples_written / h.sample_rate)}, "
            f"{rate} Hz" + (f" (resampled from {h.sample_rate} Hz: {opt.fmt.upper()} has no {h.sample_rate}-Hz rate)"
                            if rate != h.sample_rate else "") + f", {h.channels} ch")
