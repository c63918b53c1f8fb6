"""`muzip info`, `muzip test` and `muzip models`: read files and models without running a network."""

from __future__ import annotations

import json
import os
import sys

import click

from ..errors import AudioReadError, CorruptFileError
from .batch import run_batch
from .common import EXIT_CODES_HELP, fmt_time, refuse_terminal_stdin
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
    with _open(item.src) as f:
        result = verify_file(f)
    if result.problems:
        raise CorruptFileError(f"{len(result.problems)} problem(s): " + "; ".join(result.problems[:3])
                               + (" ..." if len(result.problems) > 3 else ""))
    if result.warnings:  # every frame decodes, but the file is damaged: exit 3, never a plain "ok"
        for warning in result.warnings:
            out.warn(f"{item.src}: {warning} ({result.frames} frames ok)")
        return
    out.say(f"{item.src}: ok ({result.frames} frame{'s' * (result.frames != 1)})")


@click.command("test", epilog=EXIT_CODES_HELP)
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


MODELS_EXIT_HELP = """\b
Exit status:
  0        every model's files verify
  1        a model's files are damaged or unreadable (the others are still listed), or none is installed
  2        usage error
  130/129/143  interrupted by Ctrl-C/SIGHUP/SIGTERM
  141      the reader of standard output went away"""  # no per-input failures or warnings here


@click.command(epilog=MODELS_EXIT_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per model, one per line.")
def models(as_json):
    """List the installed models, where they are, verify their files, and show which one is the default.

    Shipped models come first ($MUZIP_MODELS overrides their folder), then the models `muzip train`
    installed for this user ($MUZIP_USER_MODELS, else $XDG_DATA_HOME/muzip/models, by default
    ~/.local/share/muzip/models).

    \b
    Examples:
      muzip models
      MUZIP_MODELS=/opt/muzip-models muzip models --json
    """
    from ..errors import ModelError
    from ..codec import installed_models, model_info
    from ..runtime import model_roots
    from ..runtime.store import unlisted_folders
    from ..runtime.store import model_folder
    shipped = model_roots()[0]
    names = sorted(installed_models(), key=lambda n: (model_folder(n).parent != shipped, n))  # as the help says
    if not names:
        click.echo(f"muzip: no models installed in {' or '.join(map(str, model_roots()))}", err=True)
        sys.exit(1)
    status = 0
    for name in names:
        try:
            m = model_info(name)
        except (ModelError, OSError, ValueError, KeyError) as exc:
            click.echo(f"muzip: {name}: {exc}", err=True)
            status = 1
            continue
        status = status or (m["status"] != "ok")
        if as_json:
            click.echo(json.dumps(m, sort_keys=True))
        elif m["kind"] == "unknown":  # its config.json cannot be read
            click.echo(f"{m['name']}: FILES DAMAGED ({m['status']}), in {m['folder']}")
        else:
            default = " (default)" if m["default"] else ""
            what = {"restorer": f"restorer (muzip restore), {m['model_rate']} Hz",
                    "embedder": "embedder (muzip index, similar, cluster, classify, map)"}.get(
                m["kind"], f"{m['kind']}, {m['model_rate']} Hz, {m.get('frame_samples', 0) / (m['model_rate'] or 1):g} s frames")
            runtime = "+".join(m["runtime"]) or ("keras only" if m["kind"] == "codec" else "numpy")
            files = "files ok" if m["status"] == "ok" else f"FILES DAMAGED ({m['status']})"
            click.echo(f"{m['name']}{default}: {what}, runtime {runtime}, {m['size_bytes'] / 1e6:.1f} MB, "
                       f"sha256 {(m['sha256'] or 'unknown')[:16]}..., {files}, in {m['folder']}")
    for folder in unlisted_folders():  # a folder without SHA256SUMS is no model: said, not passed over
        click.echo(f"muzip: {folder}: no SHA256SUMS, so not a model muzip loads (damaged, or not a model)", err=True)
        status = 1
    sys.exit(1 if status else 0)
