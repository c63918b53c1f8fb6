"""The muzip command line (gzip/flac/lame conventions): one module per command family.

Heavy imports (numpy, onnxruntime, the codec) happen inside the commands, so `muzip --help`,
`info` and `test` start fast; no command imports TensorFlow or Keras.
"""

import click

from .. import __version__
from .codec_cmds import compress, decompress
from .common import EXIT_CODES_HELP, install_signal_handlers
from .eval_cmd import eval_cmd
from .inspect_cmds import info, models, test_cmd
from .classify_cmds import classify, map_cmd
from .library_cmds import cluster, index, similar
from .restore_cmd import restore


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
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
    """


for command in (compress, decompress, restore, index, similar, cluster, classify, map_cmd, info, test_cmd, eval_cmd,
                models):
    cli.add_command(command)


def main():
    install_signal_handlers()
    try:
        cli(prog_name="muzip")
    except Exception as exc:  # noqa: BLE001 - the last net: a bug prints one line, never a traceback
        click.echo(f"muzip: internal error ({type(exc).__name__}: {exc}); please report it", err=True)
        raise SystemExit(1) from None
