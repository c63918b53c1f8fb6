"""The muzip command line (gzip/flac conventions). Heavy imports happen inside commands, so
`muzip --help`, `info` and `test` start fast and never load TensorFlow.

Exit status: 0 success, 1 an input failed, 2 completed with warnings (damaged frames concealed,
truncated input), 130 interrupted.
"""

import os
import sys

import click

from . import __version__
from .errors import MuzipError, OutputExistsError

EXIT_FAIL, EXIT_WARN, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141
# Containers whose frame count soundfile reports exactly; for others (MP3, ffmpeg-decoded, stdin)
# the header says "unknown" and the index at the end holds the count actually coded.
EXACT_LENGTH_FORMATS = ("wav", "flac", "ogg")


class _Run:
    """Per-invocation state: models loaded once, worst exit status so far."""

    def __init__(self, quiet: bool):
        self.quiet, self.status, self._models = quiet, 0, {}

    def model(self, name=None):
        from .modelstore import DEFAULT_MODEL, load_model
        name = name or DEFAULT_MODEL
        if name not in self._models:
            self._models[name] = load_model(name)
        return self._models[name]

    def fail(self, message: str):
        click.echo(f"muzip: {message}", err=True)
        self.status = max(self.status, EXIT_FAIL) if self.status != EXIT_WARN else EXIT_FAIL

    def warn(self, message: str):
        click.echo(f"muzip: warning: {message}", err=True)
        if self.status == 0:
            self.status = EXIT_WARN

    def say(self, message: str):
        if not self.quiet:
            click.echo(message, err=True)

    def progress(self, total, desc):
        from tqdm import tqdm
        bar = tqdm(total=total, desc=desc, unit="s", unit_scale=False, leave=False,
                   disable=self.quiet or not sys.stderr.isatty(),
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}]")
        return bar


def _each(run: _Run, inputs, work):
    for path in inputs:
        try:
            work(path)
        except MuzipError as exc:  # name the input unless the message already starts with a file name
            run.fail(str(exc) if str(exc).startswith(f"{path}: ") or isinstance(exc, OutputExistsError) else f"{path}: {exc}")
        except KeyboardInterrupt:
            click.echo("muzip: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`muzip decompress -c x.mz | head`): stop quietly, like cat.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except OSError as exc:
            run.fail(f"{path}: {exc.strerror or exc}")
    sys.exit(run.status)


def _refuse_terminal(to_stdout: bool):
    if to_stdout and sys.stdout.isatty():
        raise click.UsageError("refusing to write binary data to a terminal (redirect it, or use -o)")


def _check_output(target: str, force: bool, to_stdout: bool, source: str | None = None):
    """Fail before any slow work; atomic_output checks again when it opens the file."""
    from .errors import OutputExistsError
    from .outputs import same_file
    if to_stdout:
        return
    if source is not None and os.path.lexists(target) and same_file(target, source):
        raise OutputExistsError(f"{target}: is the input file; refusing to overwrite it")
    if not force and os.path.lexists(target):
        raise OutputExistsError(f"{target}: exists (use -f to overwrite)")


def _output_name(path: str, ext: str) -> str:
    base, old = os.path.splitext(path)
    return (base if old else path) + ext


def _fmt_time(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:06.3f}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="muzip")
def cli():
    """muzip: a neural music codec. Compress audio to .mz files and back.

    \b
    Examples:
      muzip compress song.flac                  # -> song.mz (64 kbps)
      muzip compress -b 32 *.wav                # many files, model loaded once
      muzip decompress song.mz                  # -> song.wav at the original rate
      muzip decompress --format flac song.mz    # -> song.flac with the tags
      muzip info song.mz ; muzip test song.mz
    """


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output file (one input only).")
@click.option("-b", "--bitrate", type=click.FloatRange(6, 96), default=64.0, show_default=True, help="Target bitrate in kbps (6-96).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write to standard output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
@click.option("--downmix", is_flag=True, help="Mix inputs with more than 2 channels down to stereo.")
@click.option("--model", "model_name", help="Model to use (default: the newest shipped model).")
def compress(inputs, output, bitrate, force, to_stdout, quiet, downmix, model_name):
    """Compress audio files (WAV, FLAC, OGG, MP3, Opus; others via ffmpeg) to .mz.

    Writes FILE.mz beside each input (the extension is replaced); inputs are never deleted.
    '-' reads a WAV stream from standard input and writes to standard output unless -o is given.
    """
    if output and len(inputs) > 1:
        raise click.UsageError("-o/--output takes one input only")
    if to_stdout and len(inputs) > 1:
        raise click.UsageError("-c/--stdout takes one input only")
    run = _Run(quiet)

    def work(path):
        from .audio_io import AudioSource
        from .codec import compress_blocks
        from .outputs import atomic_output, stdout_output
        stdout = to_stdout or (path == "-" and not output)
        _refuse_terminal(stdout)
        target = output or _output_name(path, ".mz")
        _check_output(target, force, stdout, source=path)
        with AudioSource(path, downmix=downmix) as src:
            info = src.info
            model = run.model(model_name)
            out_ctx = stdout_output() if stdout else atomic_output(target, force, inputs=[path])
            total = info.num_samples / info.sample_rate if info.num_samples else None
            with out_ctx as out, run.progress(total, os.path.basename(path)) as bar:
                stats = compress_blocks(src.blocks(1 << 16), info.sample_rate, info.channels,
                                        info.num_samples if path != "-" and info.format in EXACT_LENGTH_FORMATS else None,
                                        out, model, bitrate,
                                        tags=info.tags, progress=bar.update)
        in_size = os.path.getsize(path) if path != "-" else None
        ratio = f", {in_size / stats['bytes']:.1f}x smaller than the input" if in_size and stats["bytes"] else ""
        run.say(f"{path} -> {'stdout' if stdout else target}: {_fmt_time(stats['duration'])}, "
                f"{stats['bytes']:,} bytes, {stats['kbps']:.1f} kbps{ratio}")

    _each(run, inputs, work)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", help="Output file (one input only).")
@click.option("--format", "fmt", type=click.Choice(["wav", "flac"]), default="wav", show_default=True)
@click.option("--start", type=click.FloatRange(min=0), default=0.0, help="Start time in seconds.")
@click.option("--duration", type=click.FloatRange(min=0), help="Seconds to decode (default: to the end).")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write WAV to standard output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary.")
@click.option("--strict", is_flag=True, help="Treat a damaged frame as an error instead of concealing it.")
def decompress(inputs, output, fmt, start, duration, force, to_stdout, quiet, strict):
    """Decompress .mz files to WAV or FLAC at the original sample rate, channels and length.

    Damaged frames are concealed (silence, cross-faded) and reported; the exit status is 2 then.
    """
    if output and len(inputs) > 1:
        raise click.UsageError("-o/--output takes one input only")
    if to_stdout and len(inputs) > 1:
        raise click.UsageError("-c/--stdout takes one input only")
    if to_stdout and fmt == "flac":
        raise click.UsageError("FLAC cannot stream to standard output; use --format wav")
    run = _Run(quiet)

    def work(path):
        from .audio_io import AudioSink
        from .codec import decompress_to
        from .container import ContainerReader
        from .errors import AudioReadError
        from .outputs import atomic_output, stdout_output
        stdout = to_stdout or (path == "-" and not output)
        if stdout and fmt == "flac":
            raise click.UsageError("FLAC cannot stream to standard output; use --format wav or -o")
        _refuse_terminal(stdout)
        target = output or _output_name(path, "." + fmt)
        _check_output(target, force, stdout, source=path)
        try:
            f = sys.stdin.buffer if path == "-" else open(path, "rb")
        except FileNotFoundError:
            raise AudioReadError(f"{path}: no such file") from None
        with f:
            reader = ContainerReader(f)
            model = run.model(reader.header.model_id)
            sinks = []

            def make_sink(sr, ch, n):
                sinks.append(AudioSink(out, sr, ch, fmt, num_samples=n, tags=reader.header.tags))
                return sinks[0]

            out_ctx = stdout_output() if stdout else atomic_output(target, force, inputs=[path])
            h = reader.header
            total = (h.num_samples / h.sample_rate) if h.num_samples is not None else None
            with out_ctx as out, run.progress(duration or total, os.path.basename(path)) as bar:
                report = decompress_to(reader, model, make_sink, start, duration, strict,
                                       progress=bar.update, pad_truncated=stdout)
                sinks[0].close()
        for message in report.damaged:
            run.warn(f"{path}: {message} (concealed)")
        if report.truncated:
            run.warn(f"{path}: file is truncated; decoded the {report.samples_written / h.sample_rate:.2f} s that are complete")
        run.say(f"{path} -> {'stdout' if stdout else target}: {_fmt_time(report.samples_written / h.sample_rate)}, "
                f"{h.sample_rate} Hz, {h.channels} ch")

    _each(run, inputs, work)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
def info(inputs):
    """Show what a .mz file holds: duration, rate, channels, model, actual bitrate, frames, tags."""
    run = _Run(quiet=False)

    def work(path):
        from .container import read_info
        from .errors import AudioReadError
        if not os.path.isfile(path):
            raise AudioReadError(f"{path}: no such file")
        with open(path, "rb") as f:
            i = read_info(f)
        ch = {1: "1 (mono)", 2: "2 (stereo, coded as mid/side)"}[i["channels"]]
        lines = [
            ("file", path),
            ("duration", f"{_fmt_time(i['duration_s'])} ({i['total_num_samples']} samples)"),
            ("sample rate", f"{i['sample_rate']} Hz (coded at {i['model_rate']} Hz)"),
            ("channels", ch),
            ("model", f"{i['model_id']} (sha256 {i['model_sha256'][:16]}...)"),
            ("bitrate", f"{i['actual_bitrate_bps'] / 1000:.1f} kbps actual ({i['bitrate_bps'] / 1000:g} kbps requested)"),
            ("frames", f"{i['n_frames']} x {i['frame_samples'] / i['model_rate']:g} s"),
            ("size", f"{i['file_size']:,} bytes"),
        ]
        if i["truncated"]:
            lines.append(("status", "truncated or index damaged (run 'muzip test')"))
        for key, value in sorted(i["tags"].items()):
            lines.append((f"tag {key}", value))
        width = max(len(k) for k, _ in lines)
        click.echo("\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in lines))

    _each(run, inputs, work)


@cli.command("test")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
def test_cmd(inputs, quiet):
    """Check every frame of .mz files (CRC and entropy decoding); exit 0 if all are intact, else 1."""
    run = _Run(quiet)

    def work(path):
        from .errors import AudioReadError, CorruptFileError
        from .verify import verify_file
        if not os.path.isfile(path):
            raise AudioReadError(f"{path}: no such file")
        with open(path, "rb") as f:
            result = verify_file(f)
        if result.problems:
            raise CorruptFileError(f"{path}: {len(result.problems)} problem(s): " + "; ".join(result.problems[:3])
                                   + (" ..." if len(result.problems) > 3 else ""))
        run.say(f"{path}: ok ({result.frames} frames)")

    _each(run, inputs, work)


@cli.command("eval")
@click.argument("reference")
@click.argument("degraded")
@click.option("--visqol/--no-visqol", default=None, help="Require ViSQOL (error if not installed) or skip it (default: if installed).")
@click.option("--plot", "plot", metavar="PNG", help="Write reference/degraded/difference spectrograms to PNG.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing --plot file.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def eval_cmd(reference, degraded, visqol, plot, force, as_json):
    """Measure how DEGRADED differs from REFERENCE: ViSQOL MOS-LQO, multi-scale mel distance, SI-SDR,
    log-spectral distance, SNR, and the actual bitrate of a .mz (which is decoded).

    \b
    The degraded signal is resampled to the reference rate, mono-mixed if the channel
    counts differ (mono vs stereo) and delay-compensated (up to 0.1 s) first.
    Example:  muzip eval song.flac song.mz --plot song.png
    """
    run = _Run(quiet=False)
    try:
        from .evaluate import evaluate, format_json, format_table
        if plot:
            _check_output(plot, force, False)
        res = evaluate(reference, degraded, get_model=run.model, visqol=visqol, plot=plot)
    except MuzipError as exc:
        run.fail(str(exc))
        sys.exit(run.status)
    except KeyboardInterrupt:
        click.echo("muzip: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        run.fail(f"{exc.filename or plot or degraded}: {exc.strerror or exc}")
        sys.exit(run.status)
    for note in res["notes"]:
        click.echo(f"muzip: {note}", err=True)
    click.echo(format_json(res) if as_json else format_table(res))


def main():
    cli(prog_name="muzip")
