"""The muzip command line (gzip/flac/lame conventions): one module per command family.

Heavy imports (numpy, onnxruntime, the codec) happen inside the commands, so `muzip --help`,
`info` and `test` start fast; no command imports TensorFlow or Keras.
"""

import importlib

import os

import click

from .. import __version__, signals
from ..signals import Interrupted, exit_for_signal, install_signal_handlers
from ..defaults import MAX_THREADS
from .common import EXIT_BROKEN_PIPE, EXIT_CODES_HELP

# name -> (module, attribute), in the order `muzip --help` lists them. A command's module is imported
# only when that command runs (Click's lazy-group pattern): `muzip decompress` does not build the library
# commands' options and help, which was ~10 ms of every call's start-up.
COMMANDS = {
    "compress": ("codec_cmds", "compress"), "decompress": ("codec_cmds", "decompress"),
    "restore": ("restore_cmd", "restore"), "index": ("library_cmds", "index"),
    "similar": ("similar_cmd", "similar"), "dupes": ("dupes_cmd", "dupes"), "cluster": ("library_cmds", "cluster"),
    "classify": ("classify_cmds", "classify"), "map": ("map_cmd", "map_cmd"),
    "info": ("inspect_cmds", "info"), "test": ("inspect_cmds", "test_cmd"), "eval": ("eval_cmd", "eval_cmd"),
    "models": ("models_cmds", "models"), "train": ("train_cmd", "train"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)

    def invoke(self, ctx):
        """A reader of standard output that went away (`muzip models | head -1`) ends any command quietly with
        141, as the batch and library commands end theirs; Click's own handling exits 1 without a word."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            import os
            import sys
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush is silent
            raise SystemExit(EXIT_BROKEN_PIPE) from None

    def resolve_command(self, ctx, args):
        """As Click's, with "did you mean" for a mistyped command (Click offers it for options only)."""
        if args and not args[0].startswith("-") and args[0] not in COMMANDS:
            import difflib
            close = difflib.get_close_matches(args[0], list(COMMANDS), n=1, cutoff=0.6)
            if close:
                ctx.fail(f"No such command '{args[0]}'. Did you mean '{close[0]}'?")
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="muzip")
def cli():
    """muzip: a neural music codec. Compress audio to .mz files and back.

    \b
    Examples:
      muzip compress song.flac                  # -> song.mz (64 kbps)
      muzip compress -b 32 *.wav                # many files, all cores
      muzip decompress song.mz                  # -> song.wav at the original rate
      muzip decompress song.mz -o song.flac     # FLAC, tags and cover kept
      muzip restore old_rip.mp3                 # -> old_rip.restored.wav (GAN restorer)
      muzip index Music/ --db music.db ; muzip similar song.mz --db music.db
      muzip info song.mz ; muzip test song.mz ; muzip models
      muzip train ~/Music/jazz --name jazz ; muzip compress --model jazz take1.wav
    """
    threads = os.environ.get("MUZIP_THREADS", "").strip()
    if threads and not (threads.isascii() and threads.isdigit() and 0 < int(threads) <= MAX_THREADS):  # was ignored
        raise click.UsageError(f"MUZIP_THREADS={threads}: not a number of threads (1 to {MAX_THREADS}; "
                               "unset: every core)")


def main():
    install_signal_handlers()
    try:
        cli(prog_name="muzip")
    except (Interrupted, KeyboardInterrupt) as exc:  # before a command's own handling (while importing it)
        click.echo("muzip: interrupted", err=True)
        raise SystemExit(exit_for_signal(getattr(exc, "signum", 2))) from None
    except Exception as exc:  # noqa: BLE001 - the last net: a bug prints one line, never a traceback
        if signals.pending_signal is not None:  # raised while unwinding from a signal: that is what happened
            click.echo("muzip: interrupted", err=True)
            raise SystemExit(exit_for_signal(signals.pending_signal)) from None
        click.echo(f"muzip: internal error ({type(exc).__name__}: {exc}); please report it", err=True)
        raise SystemExit(1) from None
