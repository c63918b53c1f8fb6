"""`muzip restore`: bring heavily compressed music back (models/restore-v1, a GAN-trained restorer)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import click

from .batch import run_batch
from .codec_cmds import _batch_options, _check_flags
from .codec_jobs import EXACT_LENGTH_FORMATS, _output, _precheck
from .common import EXIT_CODES_HELP, file_size, fmt_time
from .plan import AUDIO_EXTS, plan

LOSSLESS = ("wav", "flac", "aiff", "aif", "w64", "caf", "wv", "ape")
PROBE_SECONDS = 60  # the bandwidth is measured on the first minute (memory stays flat in length)
_RESTORERS: dict = {}


@dataclass
class RestoreOptions:
    fmt: str
    force: bool
    seed: int
    deterministic: bool
    model: str
    make_dirs: bool = False


def _restorer(name):
    from ..restore.runtime import Restorer
    if name not in _RESTORERS:
        _RESTORERS[name] = Restorer(name)
    return _RESTORERS[name]


def _kbps(path: str, fmt: str, seconds: float | None) -> float | None:
    """The stream's bitrate: MP3 from its frames (mutagen), other lossy formats from size / duration."""
    if fmt in LOSSLESS or path == "-":
        return None
    if fmt == "mp3":
        try:
            import mutagen.mp3
            return mutagen.mp3.MP3(path).info.bitrate / 1000.0
        except Exception:  # noqa: BLE001 - fall back to the size
            pass
    size = file_size(path)
    return size * 8 / seconds / 1000.0 if size and seconds else None


def _mp3_delay(path: str) -> int:
    """Samples of codec delay at the start of libsndfile's MP3 output: 0 when the file has a Xing/Info
    (LAME) header, which mpg123 uses to cut delay and padding itself; else LAME's 576 + 529 (1105)."""
    from ..restore.pairs import MP3_DELAY
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


def restore_one(item, opt: RestoreOptions, bars, out) -> None:
    if item.skip:
        out.say(f"{item.dst}: exists, skipped")
        return
    import numpy as np

    from ..audio import AudioSink, AudioSource, StreamResampler
    from ..restore.detect import COPY_KBPS, bandwidth_hz, condition
    from ..restore.runtime import restore_blocks
    _precheck(item, opt.force, opt.make_dirs)
    restorer = None if opt.model == "none" else _restorer(opt.model)
    with AudioSource(item.src) as src:
        info = src.info
        sr, ch = info.sample_rate, info.channels
        seconds = info.num_samples / sr if info.num_samples else None
        kbps = _kbps(item.src, info.format, seconds)
        copy = kbps is None or kbps >= COPY_KBPS
        blocks = src.blocks(1 << 16)
        delay = _mp3_delay(item.src) if info.format == "mp3" and not copy else 0
        head, have = [], 0  # the first minute, kept to measure the bandwidth before anything is written
        for b in blocks:
            head.append(b)
            have += len(b)
            if have >= PROBE_SECONDS * sr + delay:
                break
        x0 = np.concatenate(head) if head else np.zeros((0, ch), np.float32)
        x0, head = x0[delay:], None
        bw = bandwidth_hz(x0, sr)
        what = f"{info.format.upper()}, {f'{kbps:.0f} kbps' if kbps else 'lossless'}, bandwidth {bw / 1000:.1f} kHz"
        rate = sr if copy else max(sr, restorer.rate)
        # Only these formats report an exact length; for others (MP3, ffmpeg-decoded) the stream decides.
        exact = info.num_samples if item.src != "-" and info.format in EXACT_LENGTH_FORMATS else None
        total = None if exact is None else max(0, exact - delay)
        want = None if total is None else round(total * rate / sr)

        def source():
            yield x0
            yield from blocks

        with _output(item, opt.force, seekable=opt.fmt != "wav") as dst, \
                bars(seconds, os.path.basename(item.src)) as bar:
            sink = AudioSink(dst, rate, ch, opt.fmt, num_samples=want, tags=info.tags, cover=info.cover)
            written = 0
            if copy:
                for b in source():
                    sink.write(b)
                    written += len(b)
                    bar.update(len(b) / sr)
            else:
                up = StreamResampler(sr, restorer.rate, ch)
                down = StreamResampler(restorer.rate, rate, ch)
                cond = condition(kbps, bw, sr)

                def model_rate_blocks():
                    for b in source():
                        bar.update(len(b) / sr)
                        yield up.process(b)
                    yield up.process(np.zeros((0, ch), np.float32), last=True)

                for y in restore_blocks(restorer, model_rate_blocks(), ch, cond, opt.seed, opt.deterministic):
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
            out.bytes_out = dst.tell() if item.dst is not None and dst.seekable() else 0
        for warning in src.warnings:
            out.warn(f"{item.src}: {warning}")
    out.bytes_in = file_size(item.src)
    did = f"copied unchanged (already {'lossless' if kbps is None else 'good'})" if copy else \
        f"restored{' (deterministic, z = 0)' if opt.deterministic else f' (seed {opt.seed})'}"
    out.say(f"{item.src} -> {item.dst or 'stdout'}: {what}; {did}; {fmt_time(written / rate)}, {rate} Hz, {ch} ch")


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(("wav", "flac"), case_sensitive=False),
              help="Output format (default: from the -o extension, else wav).")
@_batch_options
@click.option("--seed", type=click.IntRange(0, 2 ** 31 - 1), default=0, show_default=True,
              help="Seed of the generator's noise: the same input and seed give the same output.")
@click.option("--deterministic", is_flag=True, help="No noise (z = 0): the deterministic variant.")
@click.option("--model", "model_name", default="restore-v1", show_default=True, help="Restorer model.")
def restore(inputs, fmt, force, skip_existing, to_stdout, output, output_dir, recursive, jobs, quiet, seed,
            deterministic, model_name):
    """Restore heavily compressed music (MP3 first; also AAC/M4A, Ogg Vorbis, Opus) to full band.

    Writes NAME.restored.wav beside each input, at 44.1 kHz (or the input's rate if higher), with the
    input's channels and exact duration (MP3 encoder delay removed). The codec and bitrate come from
    the stream and the bandwidth from the spectrum; input at 128 kbps or more, or lossless, is copied
    through unchanged. Inputs are never changed.

    \b
    Examples:
      muzip restore old_rip.mp3                    # -> old_rip.restored.wav
      muzip restore -r Radio/ --output-dir fixed/  # a whole folder, all cores
      muzip restore --seed 7 song.mp3 -o song.flac # another draw of the noise, as FLAC
    """
    from ..audio import output_format_for
    _check_flags(force, skip_existing, to_stdout, output)
    if fmt is None and output and not (len(inputs) > 1 or os.path.isdir(output)):
        fmt = output_format_for(output)
        if fmt not in (None, "wav", "flac"):
            raise click.UsageError(f"-o {output}: restore writes WAV or FLAC")
        if fmt is None and os.path.splitext(output)[1]:
            raise click.UsageError(f"-o {output}: cannot tell the format from its extension; use --format")
    fmt = (fmt or "wav").lower()
    if fmt != "wav" and to_stdout:
        raise click.UsageError("FLAC cannot stream to standard output; use --format wav or -o FILE")
    items = plan(inputs, ext=".restored." + fmt, output=output, output_dir=output_dir, to_stdout=to_stdout,
                 recursive=recursive, skip_existing=skip_existing,
                 want=lambda name: os.path.splitext(name)[1].lower().lstrip(".") in AUDIO_EXTS)
    options = RestoreOptions(fmt, force, seed, deterministic, model_name,
                             make_dirs=bool(output_dir or (output and len(items) > 1)))
    run_batch(items, restore_one, options, quiet=quiet, jobs=jobs)
