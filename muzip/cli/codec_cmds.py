"""`muzip compress` and `muzip decompress`."""

from __future__ import annotations

import os

import click

from ..defaults import DEFAULT_MODEL
from .batch import run_batch
from .codec_jobs import CompressOptions, DecompressOptions, compress_one, decompress_one
from .common import (EXIT_CODES_HELP, PATH, Bitrate, FolderName, TimeSpec, complete_models, default_jobs,
                     fail_usage, ray_option, refuse_terminal_stdin)
from .plan import AUDIO_EXTS, output_format, plan
from .staged import StagedJob, plan_objects, uses_object_store

DECODE_FORMATS = ("wav", "flac", "ogg", "opus", "mp3")


def _batch_options(f):
    for decorator in reversed([
        click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs."),
        click.option("--skip-existing", is_flag=True, help="Skip inputs whose output exists (resume a batch)."),
        click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output (one input)."),
        click.option("-o", "--output", metavar="PATH", type=PATH,
                     help="Output file; a folder when there are several inputs."),
        click.option("--output-dir", metavar="DIR", type=FolderName(),
                     help="Write outputs into DIR, made if missing (names kept; with -r the folder tree is "
                          "mirrored)."),
        click.option("-r", "--recursive", is_flag=True, help="Walk folders given as inputs."),
        click.option("-j", "--jobs", type=click.IntRange(1, 256), default=default_jobs, show_default="cores",
                     help="Cores to use: N files at once (a worker process each), or N threads for one file."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars, per-file lines or summary."),
    ]):
        f = decorator(f)
    return f


# Shared by compress and restore (the reader does the mixing: muzip.audio.downmix_to_stereo).
downmix_option = click.option("--downmix", is_flag=True, help="Mix inputs with more than 2 channels down to stereo.")


def _check_flags(force, skip_existing, to_stdout, output, output_dir=None):
    if force and skip_existing:
        raise click.UsageError("-f and --skip-existing contradict each other")
    if to_stdout and output and output != "-":  # -o - is standard output too
        raise click.UsageError("-c and -o contradict each other")
    if to_stdout and output_dir:  # it was left unused without a word
        raise click.UsageError("-c and --output-dir contradict each other")


class CompressCommand(click.Command):
    """compress --help lists the shipped models (read only when help is shown)."""

    def format_epilog(self, ctx, formatter):
        from ..codec.cards import CARD, model_rows  # here: importing muzip.codec cost `muzip --help` 0.3 s
        try:
            rows = model_rows()
        except Exception:  # noqa: BLE001 - a broken models folder must not break --help
            rows = []
        if rows:
            with formatter.section("Models (--model NAME; `muzip models` lists every installed one)"):
                formatter.write_dl(rows, col_spacing=2)
                formatter.write_paragraph()
                formatter.write_text(f"As measured in each model's card, models/NAME/{CARD}: 30-s excerpts, in one "
                                     "process with the model loaded (whole commands are slower: "
                                     "docs/BENCHMARKS.md); mel: multi-scale mel distance, lower is better.")
        super().format_epilog(ctx, formatter)


@click.command(cls=CompressCommand, epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=PATH)
@click.option("-b", "--bitrate", type=Bitrate(6, 96), default="64", show_default=True,
              help="Target bitrate in kbps, 6-96 (64, 64k and 64000 all mean 64 kbps).")
@_batch_options
@downmix_option
@click.option("--model", "model_name", metavar="NAME", shell_complete=complete_models("codec"),
              help=f"Codec model (default: {DEFAULT_MODEL}; the shipped ones are listed below).")
@ray_option
def compress(inputs, bitrate, force, skip_existing, to_stdout, output, output_dir, recursive, jobs, quiet,
             downmix, model_name, ray_address):
    """Compress audio files (WAV, FLAC, OGG, MP3, Opus; others via ffmpeg) to .mz.

    Writes FILE.mz beside each input (the extension is replaced); inputs are never changed.
    '-' reads a WAV stream from standard input and writes to standard output unless -o is given.

    \b
    Examples:
      muzip compress song.flac                     # -> song.mz at 64 kbps
      muzip compress -b 32k *.mp3 --output-dir mz/ # many files, all cores
      muzip compress -r Music/ --skip-existing     # a whole folder; re-run to resume
      ffmpeg -i song.m4a -f wav - | muzip compress - -o song.mz
      muzip compress --ray -r Music/ --output-dir mz/   # on Ray: this machine, or --ray HOST:PORT
      muzip compress --ray HOST:PORT -r s3://music/in --output-dir s3://music/mz
    """
    _check_flags(force, skip_existing, to_stdout, output, output_dir)
    if model_name is not None:  # a name that is no codec model is the command's mistake, not each file's
        from ..codec.config import installed_models, model_kind
        codecs = installed_models("codec")
        if model_name not in codecs and model_kind(model_name) != "codec":  # (a kept older version: NAME~HASH)
            if model_name in installed_models() and model_kind(model_name) == "":  # there, its config unreadable
                from ..errors import ModelError
                from ..runtime.store import verify
                try:
                    verify(model_name, ("config.json",))
                    why = "its config.json cannot be read"
                except ModelError as exc:
                    why = str(exc)
                click.echo(f"muzip: --model {model_name}: the model is damaged ({why}; `muzip models` checks "
                           "every model's files)", err=True)
                raise SystemExit(1)
            fail_usage(f"--model {model_name}: not an installed codec model (installed: {', '.join(codecs) or 'none'}; "
                       "`muzip models` lists every model)")
    out_ext = os.path.splitext(output or "")[1].lower().lstrip(".")
    if out_ext in AUDIO_EXTS:  # a .mz under an audio file's name would fail every player that opens it
        fail_usage(f"-o {output}: compress writes a .mz file, not .{out_ext} (name it .mz; `muzip decompress` "
                   f"writes .{out_ext})")
    refuse_terminal_stdin(inputs, "audio is")
    on_ray = ray_address is not None
    if on_ray:
        from .ray_batch import check_cluster
        ray_address = None if ray_address == "local" else ray_address
        check_cluster(ray_address)
    want = lambda name: os.path.splitext(name)[1].lower().lstrip(".") in AUDIO_EXTS  # noqa: E731
    job = compress_one
    if uses_object_store(inputs, output_dir):  # s3:// or gs:// (muzip.scale.storage)
        if not on_ray:
            raise click.UsageError("s3:// and gs:// inputs and output folders need --ray")
        if output or to_stdout:
            raise click.UsageError("with s3:// or gs:// paths, name the outputs' folder with --output-dir")
        from ..scale.storage import StorageError
        try:  # a store that does not answer: one line, exit 2, nothing done (as an unreachable cluster)
            items = plan_objects(inputs, ext=".mz", output_dir=output_dir, recursive=recursive, force=force,
                                 want=want)
        except StorageError as exc:
            fail_usage(str(exc))
        job = StagedJob(compress_one)
    else:
        items = plan(inputs, ext=".mz", output=output, output_dir=output_dir, to_stdout=to_stdout,
                     recursive=recursive, skip_existing=skip_existing or (on_ray and not force), want=want)
    if on_ray:
        from .ray_batch import run_batch_ray
        options = CompressOptions(bitrate, force, downmix, model_name)
        run_batch_ray(items, job, options, quiet=quiet, jobs=jobs, address=ray_address)
    file_workers = jobs if sum(not item.skip for item in items) == 1 else 1  # one file: -j's cores for it
    options = CompressOptions(bitrate, force, downmix, model_name, file_workers=file_workers)  # plan() made the output folders
    run_batch(items, compress_one, options, quiet=quiet, jobs=jobs)


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, type=PATH)
@click.option("--format", "fmt", type=click.Choice(DECODE_FORMATS, case_sensitive=False),
              help="Output format (default: from the -o extension, else wav).")
@click.option("--start", type=TimeSpec(), default="0", help="Start time: seconds or [h:]m:s (1:30).")
@click.option("--duration", type=TimeSpec(), help="Length to decode, seconds or [h:]m:s (default: to the end).")
@_batch_options
@click.option("--strict", is_flag=True, help="Treat a damaged frame, or a file cut short, as an error (no output) "
              "instead of concealing it or decoding what is there.")
def decompress(inputs, fmt, start, duration, force, skip_existing, to_stdout, output, output_dir, recursive,
               jobs, quiet, strict):
    """Decompress .mz files to WAV (or FLAC, Ogg, Opus, MP3) at the original rate, channels and length.

    Damaged frames are concealed (silence, cross-faded) and reported; the exit status is 3 then.

    \b
    Examples:
      muzip decompress song.mz                     # -> song.wav
      muzip decompress song.mz -o song.flac        # format from the extension, tags kept
      muzip decompress --start 1:30 --duration 10 song.mz -o excerpt.wav
      muzip decompress -c song.mz | aplay          # WAV to standard output
    """
    _check_flags(force, skip_existing, to_stdout, output, output_dir)
    refuse_terminal_stdin(inputs, "compressed data is")
    if duration is not None and duration <= 0:
        raise click.BadParameter("must be > 0", param_hint="--duration")
    fmt = output_format(fmt, output, inputs, DECODE_FORMATS)
    if fmt not in ("wav", "flac"):
        from ..audio import can_write
        if not can_write(fmt):
            raise click.UsageError(f"this system's libsndfile cannot write {fmt.upper()}; use --format wav or flac")
    items = plan(inputs, ext="." + fmt, output=output, output_dir=output_dir, to_stdout=to_stdout,
                 recursive=recursive, skip_existing=skip_existing, want=lambda name: name.lower().endswith(".mz"))
    # one file to decode: -j's processes split it (a long file's runs of frames, codec.split_decode)
    file_workers = jobs if sum(not item.skip for item in items) == 1 else 1
    options = DecompressOptions(fmt, start, duration, force, strict, file_workers=file_workers)  # plan() made the output folders
    run_batch(items, decompress_one, options, quiet=quiet, jobs=jobs)
