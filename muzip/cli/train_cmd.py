"""`muzip train`: fine-tune the codec on the user's own music and install the result as a model."""

from __future__ import annotations

import json
import os
import sys

import click

from ..defaults import TRAIN_FROM
from ..errors import MuzipError
from ..signals import Interrupted, exit_for_signal
from ..train import pipeline
from .common import (EXIT_CODES_HELP, EXIT_USAGE, Progress, Reporter, default_jobs, PositiveMinutes, plural,
                     status_line)
from .plan import AUDIO_EXTS, files_under


def _fail_usage(text: str):
    click.echo(f"muzip: {text}", err=True)
    sys.exit(EXIT_USAGE)


class _Report(pipeline.TrainReport):
    """The run's progress bars and messages, on stderr."""

    def __init__(self, name, rep):
        self.name, self.rep = name, rep

    def bar(self, total, desc, unit):
        return Progress(total, desc, unit=unit, enabled=not self.rep.quiet)

    def unreadable(self, path, error, held_out=False):
        error = error[len(path) + 2:] if error.startswith(f"{path}: ") else error  # readers name the file too
        self.rep.warn(f"{path}: {error} ({'not measured' if held_out else 'not trained on'})")

    def resumed(self, folder, step, base=None):
        self.rep.say(f"continuing the run in {folder} at step {step}" + (f" (from {base})" if base else ""))

    def measured(self, step, rd):
        self.rep.say(f"step {step}: held-out " + ", ".join(f"L{lv} {b:.3f} b/smp mel {m:.3f}" for lv, b, m in rd))

    def unfinished(self, step, target):
        self.rep.say(f"{self.name}: step {step} of {target}; run again to continue")

    def note(self, text):
        self.rep.say(text)


def _leave(code: int):
    """Exit with `code`. Once TensorFlow is loaded its objects, torn down after an interrupt (in the export,
    say), print "Exception ignored in ... __del__" tracebacks under the one line: leave without their
    finalizers, the run's state being saved already (not in-process callers, whose streams are not ours)."""
    if "tensorflow" in sys.modules and sys.stderr is sys.__stderr__:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _listed(dirs, rep) -> list[str]:
    """The audio files under `dirs`, each once, however many names it has (symlinks, hard links: drascula-music
    reaches 35 files by 190 names): a file held out must not be trained on under another name. Where no folder
    could be listed, its line (`muzip: DIR: no such file or folder`) is the only one, exit 1."""
    from ..library.links import by_file
    files = files_under(dirs, rep, AUDIO_EXTS, unlisted_is_warning=True)
    if not files and rep.failures:
        sys.exit(1)
    return list(by_file(files))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("dirs", nargs=-1, required=True, type=click.Path())
@click.option("--name", required=True, help="Name of the model to install (letters, digits, . _ -).")
@click.option("--from", "base", default=None,
              help=f"Codec model to start from (default: {TRAIN_FROM}, whose tables are counted on your music; "
                   "muzip-v1 and muzip-v2 are fine-tuned by gradient steps).")
@click.option("--steps", type=click.IntRange(min=1), help="Train until the run has made N steps in all.")
@click.option("--minutes", type=PositiveMinutes(),
              help="Train M more minutes in this call (default 20 when --steps is not given).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="CPU threads and reading processes (default: all cores).")
@click.option("--restart", is_flag=True, help="Forget an earlier run of this name and start over.")
@click.option("--gpu", is_flag=True, help="Train on a GPU if the backend has one (default: the CPU).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar, no progress lines; errors only.")
@click.option("--batch", type=click.IntRange(min=1), default=None, hidden=True)
@click.option("--lr", type=float, default=None, hidden=True)
@click.option("--per-file", type=click.IntRange(min=1), default=40, hidden=True)
@click.option("--init-config", type=click.Path(dir_okay=False), default=None, hidden=True,
              help="Development: start from random weights of this configuration instead of --from.")
def train(dirs, name, base, steps, minutes, jobs, restart, gpu, as_json, quiet, batch, lr, per_file, init_config):
    """Fit muzip to your own music (on the CPU) and install it as model NAME.

    The default starting model has no network: its integer tables are counted on your music (minutes,
    no TensorFlow), so the same bitrate keeps more detail on music like it. muzip-v1 and muzip-v2
    (--from) are fine-tuned by gradient steps: progress is saved every minute; run the same command
    again (after Ctrl-C, or with a larger --steps) to continue; they need TensorFlow and Keras (pip
    install 'muzip[train]'). Either way a tenth of the files (at least one) is held out: never trained
    on, and measured before and after through the real codec. The model is installed in the user's
    models folder (see `muzip models`); `muzip compress --model NAME` uses it, and its .mz files decode
    wherever it is installed.

    \b
    Examples:
      muzip train ~/Music/jazz --name jazz
      muzip train ~/Music/jazz --name jazz-v1 --from muzip-v1 --minutes 30
      muzip compress --model jazz -b 24 take1.wav
    """
    from ..train.run import TrainError, TrainUsageError
    rep = Reporter(quiet)
    try:
        pipeline.check_name(name, base)
    except TrainUsageError as exc:
        _fail_usage(str(exc))
    jobs = jobs or default_jobs()
    if not quiet and pipeline.trains_network(base, init_config):  # importing TensorFlow: 10-25 s of silence
        status_line("loading TensorFlow...")
    try:
        result = pipeline.train(dirs, name, base=base, steps=steps, minutes=minutes, jobs=jobs, restart=restart,
                                per_file=per_file, init_config=init_config, batch=batch, lr=lr, gpu=gpu,
                                find_files=lambda: _listed(dirs, rep),
                                report=_Report(name, rep))
    except Interrupted as exc:
        installed = getattr(exc, "installed", None)
        rep.fail(f"train {name}: interrupted after installing the model in {installed}, before its held-out "
                 "measurement (it is ready to use; the same command again measures it)" if installed else
                 f"train {name}: interrupted; run the same command again to continue where it stopped")
        _leave(exit_for_signal(exc.signum))
    except TrainUsageError as exc:  # --from or --init-config, found once the files are listed
        _fail_usage(str(exc))
    except (TrainError, MuzipError, OSError) as exc:  # OSError: a full disk, an unwritable run folder
        rep.fail(f"train {name}: {exc}")
        sys.exit(1)
    if result is None:
        sys.exit(rep.status)
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    elif not quiet:
        a, b = result["after"], result.get("before") or {}
        line = ", ".join(f"{k} kbps: mel {b.get(k, {}).get('mel') or float('nan'):.3f} -> {v['mel']:.3f}"
                         for k, v in a.items())
        done = (f"tables counted in {result['train_seconds']:.0f} s" if result.get("method") == "tables"
                else plural(result["steps"], "step"))
        done += " earlier" if result.get("earlier") else ""  # a finished run again: its result, not new work
        click.echo(f"{name}: {done}, installed in {result['folder']}; held out "
                   f"({plural(result['holdout_files'], 'file')}, before -> after): {line}", err=True)
        _say_run_folder(name, rep)
    sys.exit(rep.status)


def _say_run_folder(name: str, rep) -> None:
    """The run's folder (its segments, checkpoints) outlives the install so that the run can go on: said where it
    holds enough to matter, with what removing it means."""
    from ..train.run import runs_dir
    folder = runs_dir() / name
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0
    if size >= 10 * 2 ** 20:
        rep.say(f"the run's folder {folder} holds {size / 2 ** 20:.0f} MB to continue or recount it; remove it once "
                "the model is final (the model does not need it)")
