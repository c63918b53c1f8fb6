"""`muzip info` and `muzip test`: read .mz files without running a network."""

from __future__ import annotations

import json
import os
import sys

import click

from ..errors import AudioReadError, CorruptFileError
from .batch import run_batch
from .common import EXIT_CODES_HELP, TEST_EXIT_CODES_HELP, fmt_time, refuse_terminal_stdin
from .plan import Item, stdin_once


def _open(path):
    if path == "-":
        return sys.stdin.buffer
    if os.path.isdir(path):
        raise AudioReadError("is a directory")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise AudioReadError("no such file") from None


def _info_lines(path, i) -> list[tuple[str, str]]:
    ch = {1: "1 (mono)", 2: "2 (stereo, coded as mid/side)"}[i["channels"]]
    lines = [
        ("file", path),
        ("duration", f"{fmt_time(i['duration_s'])} ({i['total_num_samples']} samples)" if not i["truncated"] else
         f"{fmt_time(i['held_s'])} in its frames, of the {fmt_time(i['duration_s'])} its header states"),
        ("sample rate", f"{i['sample_rate']} Hz (coded at {i['model_rate']} Hz)"),
        ("channels", ch),
        ("model", f"{i['model_id']} (sha256 {i['model_sha256'][:16]}...)"),
        ("bitrate", f"{i['actual_bitrate_bps'] / 1000:.1f} kbps actual ({i['bitrate_bps'] / 1000:g} kbps requested)"),
        ("frames", f"{i['n_frames']} x {i['frame_samples'] / i['model_rate']:g} s"),
        ("size", f"{i['file_size']:,} bytes"),
    ]
    if i["truncated"] or i.get("index_damaged"):
        lines.append(("status", "truncated or index damaged (run 'muzip test')"))
    elif i.get("joined_at") is not None:
        lines.append(("status", f"another muzip file follows at byte {i['joined_at']:,} (run 'muzip test')"))
    if i.get("cover_mime"):
        lines.append(("cover", f"{i['cover_mime']}, {i.get('cover_bytes', 0):,} bytes"))
    for key, value in sorted(i["tags"].items()):  # a line break in a tag cannot forge a line of its own
        lines.append((f"tag {key}", value.replace("\n", "\\n").replace("\r", "\\r")))
    return lines


def _info_one(item, as_json, bars, out):
    from ..container import read_info
    with _open(item.src) as f:
        i = read_info(f)
    if i["truncated"] or i.get("index_damaged"):  # exit 3, as decompress and test say it
        out.warn(f"{item.src}: truncated or index damaged (run 'muzip test')")
    elif i.get("joined_at") is not None:
        from ..container import joined_message
        out.warn(f"{item.src}: {joined_message(i['joined_at'])}")
    if as_json:
        click.echo(json.dumps({"file": item.src, **i}, sort_keys=True))
        return
    lines = _info_lines(item.src, i)
    width = max(len(k) for k, _ in lines)
    click.echo("\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in lines))


@click.command(epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, one per line.")
def info(inputs, as_json):
    """Show what .mz files hold: duration, rate, channels, model, actual bitrate, frames, tags.

    \b
    Examples:
      muzip info song.mz
      muzip info --json *.mz | jq .actual_bitrate_bps
      cat song.mz | muzip info -
    """
    refuse_terminal_stdin(inputs, "compressed data is")
    stdin_once(inputs)
    run_batch([Item(p, None) for p in inputs], _info_one, as_json, quiet=True, jobs=1)


def _test_one(item, _options, bars, out):
    from ..codec.verify import verify_file
    with _open(item.src) as f, bars(None, os.path.basename(item.src)) as bar:  # a 3-hour file takes 40 s
        result = verify_file(f, progress=bar.update)
    if result.problems:
        raise CorruptFileError(f"{len(result.problems)} problem(s): " + "; ".join(result.problems[:3])
                               + (" ..." if len(result.problems) > 3 else ""))
    if result.warnings:  # every frame decodes, but the file is damaged: exit 3, never a plain "ok"
        for warning in result.warnings:
            out.warn(f"{item.src}: {warning} ({result.frames} frames ok)")
        return
    out.say(f"{item.src}: ok ({result.frames} frame{'s' * (result.frames != 1)})")


@click.command("test", epilog=TEST_EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-q", "--quiet", is_flag=True, help="Print only failures.")
def test_cmd(inputs, quiet):
    """Check every frame of .mz files (CRC and entropy decoding), the index and the trailer.

    Exit 0 if every file is intact; 3 if every file decodes, but with warnings (an index or trailer is
    damaged: the audio is all there, but decompress --start has to read from the beginning); 1 if a
    file has damaged frames or is truncated (audio lost).

    \b
    Examples:
      muzip test *.mz
      curl -s https://example.org/song.mz | muzip test -
    """
    refuse_terminal_stdin(inputs, "compressed data is")
    stdin_once(inputs)
    run_batch([Item(p, None) for p in inputs], _test_one, None, quiet=quiet, jobs=1)
