"""`muzip eval`: how far a decoded or otherwise degraded file is from its reference."""

from __future__ import annotations

import sys

import click

from ..errors import MuzipError
from ..signals import Interrupted, exit_for_signal
from .common import EXIT_CODES_HELP, EXIT_FAIL, EXIT_WARN, PATH, refuse_terminal_stdin, status_line


@click.command("eval", epilog=EXIT_CODES_HELP)
@click.argument("reference", type=PATH)
@click.argument("degraded", type=PATH)
@click.option("--visqol/--no-visqol", default=None, help="Require ViSQOL (error if not installed) or skip it (default: if installed).")
@click.option("--plot", "plot", metavar="PNG", type=PATH,
              help="Write reference/degraded/difference spectrograms to PNG.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing --plot file.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def eval_cmd(reference, degraded, visqol, plot, force, as_json):
    """Measure how DEGRADED differs from REFERENCE: ViSQOL MOS-LQO, multi-scale mel distance, SI-SDR,
    log-spectral distance, SNR, what a listener would check (pre-echo and attack rise, noise before music
    after silence, fine LSD below 8 kHz, tonality), and the actual bitrate of a .mz (which is decoded).

    The degraded signal is resampled to the reference rate, mono-mixed if the channel counts differ (mono
    vs stereo) and delay-compensated (up to 0.1 s) first. Damage a .mz's decoder concealed, or a file cut
    short, is a warning (exit 3).

    \b
    Examples:
      muzip eval song.flac song.mz --plot song.png
      muzip eval --no-visqol --json song.flac song.mp3
    """
    # Importing the metrics (scipy, librosa, ViSQOL), loading a model and measuring take seconds: say so
    # at once on a terminal.
    refuse_terminal_stdin((reference, degraded), "audio is")
    status_line(f"measuring {degraded} against {reference}...")
    from .codec_jobs import get_model
    try:
        from ..evaluate import evaluate, format_json, format_table
        if plot:
            if not plot.lower().endswith(".png"):  # as `map -o`: PNG data under another name opens nowhere
                raise click.UsageError(f"--plot {plot}: the plot is a PNG picture; give a name ending in .png")
            from ..outputs import check_output
            check_output(plot, force, (reference, degraded))  # -f never overwrites what is measured
        res = evaluate(reference, degraded, get_model=get_model, visqol=visqol, plot=plot)
    except MuzipError as exc:
        click.echo(f"muzip: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    except Interrupted as exc:
        click.echo("muzip: interrupted", err=True)
        sys.exit(exit_for_signal(exc.signum))
    except OSError as exc:
        click.echo(f"muzip: {exc.filename or plot or degraded}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_FAIL)
    for note in res["notes"]:
        click.echo(f"muzip: {note}", err=True)
    for warning in res["warnings"]:  # damage concealed, a file cut short: as decompress says it, exit 3
        click.echo(f"muzip: warning: {warning}", err=True)
    click.echo(format_json(res) if as_json else format_table(res))
    if res["warnings"]:
        sys.exit(EXIT_WARN)
