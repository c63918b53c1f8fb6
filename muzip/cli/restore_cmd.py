"""`muzip restore`: bring heavily compressed music back (models/restore-v1, a GAN-trained restorer)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import click

from ..defaults import RESTORE_MODEL
from .batch import run_batch
from .codec_cmds import _batch_options, _check_flags, downmix_option
from .codec_jobs import EXACT_LENGTH_FORMATS, _output, _precheck
from .common import EXIT_CODES_HELP, PATH, complete_models, file_size, fmt_time, refuse_terminal_stdin
from .plan import AUDIO_EXTS, output_format, plan


@dataclass
class RestoreOptions:
    fmt: str
    force: bool
    seed: int
    deterministic: bool
    model: str
    make_dirs: bool = False
    downmix: bool = False


def restore_one(item, opt: RestoreOptions, bars, out) -> None:
    if item.skip:
        out.say(f"{item.dst}: exists, skipped")
        return
    from ..restore.pipeline import restore_file
    _precheck(item, opt.force, opt.make_dirs)

    @contextmanager
    def open_output():
        with _output(item, opt.force, seekable=opt.fmt != "wav") as dst:
            yield dst
            out.bytes_out = dst.tell() if item.dst is not None and dst.seekable() else 0

    r = restore_file(item.src, open_output, lambda seconds: bars(seconds, os.path.basename(item.src)),
                     fmt=opt.fmt, model=opt.model, seed=opt.seed, deterministic=opt.deterministic,
                     exact_formats=EXACT_LENGTH_FORMATS, downmix=opt.downmix)
    for warning in r.warnings:
        out.warn(f"{item.src}: {warning}")
    out.bytes_in = file_size(item.src)
    # a copy reads its first minute only; a restoration reads on to the first minute of sound
    band = f"bandwidth {r.bandwidth / 1000:.1f} kHz" if r.bandwidth else \
        "silent in its first minute" if r.copied else "silent"
    what = f"{_stream_name(r)}, {f'{r.kbps:.0f} kbps' if r.kbps else 'lossless'}, {band}"
    why = "--model none" if opt.model == "none" else f"already {'lossless' if r.kbps is None else 'good'}"
    did = f"not restored ({why})" if r.copied else \
        f"restored{' (deterministic, z = 0)' if opt.deterministic else f' (seed {opt.seed})'}"
    out.say(f"{item.src} -> {item.dst or 'stdout'}: {what}; {did}; {fmt_time(r.samples / r.rate)}, {r.rate} Hz, "
            f"{r.channels} ch{', 24-bit' if r.bits == 24 else ''}")


def _stream_name(r) -> str:
    """What the input holds: its codec ("Opus", "AAC"; a container such as OGG or M4A says less), the container
    for PCM or a codec not known."""
    if r.codec in (None, "pcm"):
        return {"wavex": "WAV", "rf64": "WAV"}.get(r.format, r.format.upper())
    from ..audio.probe import codec_name
    return codec_name(r.codec)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=PATH)
@click.option("--format", "fmt", type=click.Choice(("wav", "flac"), case_sensitive=False),
              help="Output format (default: from the -o extension, else wav).")
@_batch_options
@click.option("--seed", type=click.IntRange(0, 2 ** 31 - 1), default=0, show_default=True,
              help="Seed of the generator's noise: the same input and seed give the same output.")
@click.option("--deterministic", is_flag=True, help="No noise (z = 0): the deterministic variant.")
@downmix_option
@click.option("--model", "model_name", default=RESTORE_MODEL, show_default=True, help="Restorer model.",
              shell_complete=complete_models("restorer"))
def restore(inputs, fmt, force, skip_existing, to_stdout, output, output_dir, recursive, jobs, quiet, seed,
            deterministic, downmix, model_name):
    """Restore heavily compressed music (MP3 first; also AAC/M4A, Ogg Vorbis, Opus) to full band.

    Writes NAME.restored.wav beside each input, restored at 44.1 kHz (or the input's rate if higher), with
    the input's channels (stereo with --downmix) and exact duration (MP3 encoder delay removed). The codec
    and bitrate come from the stream and the bandwidth from the spectrum; input at 128 kbps or more, or
    lossless, is not restored: its samples are written as they are, at its own rate, as 16-bit PCM (24-bit
    for a 24-bit or wider original). Inputs are never changed.

    \b
    Examples:
      muzip restore old_rip.mp3                    # -> old_rip.restored.wav
      muzip restore -r Radio/ --output-dir fixed/  # a whole folder, all cores
      muzip restore --seed 7 song.mp3 -o song.flac # another draw of the noise, as FLAC
    """
    _check_flags(force, skip_existing, to_stdout, output, output_dir)
    if deterministic and click.get_current_context().get_parameter_source("seed").name != "DEFAULT":
        raise click.UsageError("--seed and --deterministic contradict each other (--deterministic draws no noise)")
    refuse_terminal_stdin(inputs, "audio is")
    if model_name != "none":  # once, before any file: it failed each file in turn, naming every kind of model
        from ..codec.config import installed_models
        restorers = installed_models("restorer")
        if model_name not in restorers:
            raise click.BadParameter(f"'{model_name}' is not an installed restorer (installed: "
                                     f"{', '.join(restorers) or 'none'})", param_hint="--model")
    fmt = output_format(fmt, output, inputs, ("wav", "flac"))
    items = plan(inputs, ext=".restored." + fmt, output=output, output_dir=output_dir, to_stdout=to_stdout,
                 recursive=recursive, skip_existing=skip_existing,
                 want=lambda name: os.path.splitext(name)[1].lower().lstrip(".") in AUDIO_EXTS)
    options = RestoreOptions(fmt, force, seed, deterministic, model_name, downmix=downmix)  # plan() made DIR
    run_batch(items, restore_one, options, quiet=quiet, jobs=jobs)
