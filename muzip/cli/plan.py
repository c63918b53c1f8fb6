"""Turn a command line's inputs into (input, output) pairs before any work is done.

Like gzip and flac: outputs go beside the inputs with the extension replaced, into --output-dir DIR
(file names kept; with -r the tree below each folder argument is mirrored; DIR is made, parents too,
when there is anything to write), or to -o for one input.
Two inputs that would write the same output are refused up front, naming both.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass

import click

from .common import fail_usage

AUDIO_EXTS = {
    "wav", "wave", "flac", "ogg", "oga", "opus", "mp3", "mp2", "m4a", "m4b", "mp4", "aac", "aif", "aiff",
    "aifc", "caf", "wma", "wv", "ape", "alac", "mka", "webm", "w64", "rf64", "au", "snd",
}


def files_under(paths, rep, exts, unlisted_is_warning: bool = False) -> list[str]:
    """Absolute paths of the files with one of `exts` under `paths` (folders walked; files named on the
    command line taken whatever their extension; hidden names, with a leading dot, left out of a walk), sorted;
    a missing path is reported to `rep`."""
    return sorted(named_files_under(paths, rep, exts, unlisted_is_warning))


def named_files_under(paths, rep, exts, unlisted_is_warning: bool = False) -> dict[str, str]:
    """{absolute path: the path as the command line names it} of files_under's files: messages name a file
    as the user did (Music/a.wav), a catalog by where it is. A folder that cannot be listed fails, exit 1
    (a warning where `unlisted_is_warning`: training, whose unreadable files are warnings too)."""
    out, refused = {}, set()

    def take(path):
        if _regular(path):
            out.setdefault(os.path.abspath(path), path)
        elif os.path.abspath(path) not in refused:  # a named pipe would block the reader for ever
            refused.add(os.path.abspath(path))
            rep.fail(f"{path}: not a regular file (a pipe, socket or device)")

    def unlisted(err: OSError):  # os.walk skips a folder it cannot list without a word
        (rep.warn if unlisted_is_warning else rep.fail)(f"{err.filename}: cannot list the folder "
                                                        f"({err.strerror or err})")
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p, onerror=unlisted):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    # hidden names, as the codec's batch leaves them: a Mac's "._song.mp3" beside every song
                    # is metadata that no reader opens (one failure line each), a ".Trashes" folder not music
                    if f.rsplit(".", 1)[-1].lower() in exts and not f.startswith("."):
                        take(os.path.join(root, f))
        elif os.path.exists(p):
            take(p)
        else:
            rep.fail(f"{p}: no such file or folder")
    return out


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # gone since it was listed: the reader says so
        return True


@dataclass
class Item:
    src: str            # "-" for standard input
    dst: str | None     # None: standard output
    skip: bool = False  # --skip-existing and dst exists
    size: int | None = None  # bytes, where the plan already knows them (an object store's listing)
    failed: str | None = None  # why src cannot be done at all (a folder -r could not list): its one line


def _walk(folder: str, want, unreadable: list | None = None) -> list[tuple[str, str]]:
    """(path, path relative to folder) of matching files below folder, sorted, symlinked dirs not followed,
    hidden names (a leading dot) left out; the folders that could not be listed, (path, why), to `unreadable`."""
    found = []

    def refused(err: OSError):  # os.walk skips such a folder without a word
        if unreadable is not None:
            unreadable.append((err.filename, f"cannot list the folder ({err.strerror or err})"))
    for root, dirs, files in os.walk(folder, onerror=refused):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # hidden folders (.Trashes, .AppleDouble)
        for name in sorted(files):
            if want(name) and not name.startswith("."):
                path = os.path.join(root, name)
                found.append((path, os.path.relpath(path, folder)))
    return found


def expand(inputs, recursive: bool, want, unreadable: list | None = None) -> list[tuple[str, str]]:
    """(path, name to keep) per input file; folders are walked with -r, else kept (they fail as inputs); the
    folders a walk could not list, (path, why), to `unreadable`."""
    out = []
    for path in inputs:
        if path != "-" and recursive and os.path.isdir(path):
            out.extend(_walk(path, want, unreadable))
        else:
            out.append((path, os.path.basename(path) if path != "-" else "-"))
    return out


def replace_ext(path: str, ext: str) -> str:
    base, old = os.path.splitext(path)
    return (base if old and base and not base.endswith(os.sep) else path) + ext


def _key(path: str) -> str:
    return os.path.normcase(os.path.realpath(path))


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def plan(inputs, *, ext: str, output: str | None, output_dir: str | None, to_stdout: bool,
         recursive: bool, skip_existing: bool, want) -> list[Item]:
    """Raise click.UsageError for a plan that cannot work; else one Item per input file."""
    if output and output_dir:  # (it made --output-dir, then failed with an empty file name)
        raise click.UsageError(f"-o {output} and --output-dir {output_dir} contradict each other")
    if output == "-":  # standard output, as `-` is standard input (it wrote a file named "-")
        output, to_stdout = None, True
    # `-o new/` names a folder, as --output-dir (made if missing), and so does `-o DIR` of a folder that exists (as
    # cp and mv take it); not an object's URI, which fails as before
    if output and "://" not in output and (output.endswith(("/", os.sep)) or os.path.isdir(output)):
        output_dir, output = output, None
    unreadable: list = []
    files = expand(inputs, recursive, want, unreadable)
    if not files and not unreadable:
        raise click.UsageError("no input files (folders need -r)")
    if output and len(files) > 1:
        raise click.UsageError(f"-o {output}: several inputs need a folder, and there is no folder {output} "
                               f"(-o {output.rstrip(os.sep)}/ or --output-dir {output} makes it)"
                               if not os.path.lexists(output) else
                               f"-o {output}: several inputs need a folder, and {output} is a file")
    if output_dir and os.path.lexists(output_dir) and not os.path.isdir(output_dir):
        fail_usage(f"{output_dir}: exists and is not a folder (--output-dir needs a folder)")
    stdin_once([src for src, _ in files])
    items = []
    for src, rel in files:
        if to_stdout or (src == "-" and not output and not output_dir):
            dst = None
        elif output:
            dst = output
        elif output_dir:
            dst = os.path.join(output_dir, replace_ext(rel if rel != "-" else "stdin", ext))
        elif src != "-" and os.path.exists(src) and not os.path.isfile(src) and not os.path.isdir(src):
            raise click.UsageError(f"{src} is a pipe or device: name the output (-o FILE, -c or --output-dir DIR)")
        else:
            dst = replace_ext(src, ext)
        items.append(Item(src, dst))
    if sum(it.dst is None for it in items) > 1:
        raise click.UsageError("only one input can be written to standard output")
    if any(it.dst is None for it in items) and _stdout_is_terminal():  # exit 2 before any work, as stdin's
        fail_usage("refusing to write binary data to a terminal (redirect it, or use -o)")
    seen: dict[str, str] = {}
    for it in items:
        if it.dst is None:
            continue
        k = _key(it.dst)
        if k in seen and it.src != "-" and _key(seen[k]) == _key(it.src):
            raise click.UsageError(f"{it.src} is named twice")
        if k in seen:
            apart = recursive and os.path.dirname(seen[k]) != os.path.dirname(it.src)  # two folders' trees
            raise click.UsageError(f"{seen[k]} and {it.src} would both be written to {it.dst}; rename one"
                                   + (", or give each folder its own --output-dir (a run per folder)" if output_dir
                                      and apart else "" if output_dir else ", or use --output-dir"))
        seen[k] = it.src
    for it in items:  # an output that is an input is refused per file, when the move is checked
        if skip_existing and it.dst is not None and os.path.lexists(it.dst) and os.path.isfile(it.dst):
            it.skip = True
    # a folder that could not be listed is an input that fails, after the files: one line, exit 1
    items += [Item(folder, os.devnull, failed=why, size=0) for folder, why in unreadable]
    # DIR (and with -r the mirrored sub-folders) are made up front, and only for jobs that can write.
    writable = [it for it in items if not it.skip and it.failed is None and it.dst is not None
                and (it.src == "-" or os.path.exists(it.src))]
    if output_dir and writable:
        for folder in [output_dir] + sorted({os.path.dirname(it.dst) for it in writable}):
            make_output_dir(folder)
    return items


def stdin_once(inputs) -> None:
    """Standard input named twice is a usage error (the second read found the stream used up, or closed)."""
    if list(inputs).count("-") > 1:
        raise click.UsageError("standard input ('-') can be read only once")


def make_output_dir(folder: str) -> None:
    """--output-dir DIR is made as `mkdir -p` makes it (parents too, the umask's mode), before any work."""
    if os.path.isdir(folder):
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:  # no permission, a parent that is a file, a read-only file system
        fail_usage(f"{folder}: cannot make the folder for --output-dir ({e.strerror or e})")


def _a(fmt: str) -> str:
    """"an MP3", "a WAV": the article as the format's name is spoken (letters, except FLAC's word)."""
    return f"{'an' if fmt[0] in 'aefhilmnorsx' and fmt != 'flac' else 'a'} {fmt.upper()}"


def output_format(fmt: str | None, output: str | None, inputs, writes: tuple[str, ...]) -> str:
    """The format to write: --format, else the one -o FILE's extension names, else WAV. An extension of
    another format than the one written is refused (`-o x.wav --format flac` wrote FLAC named .wav, `-o x.mz
    --format wav` a WAV named .mz; `.ogg` is Ogg, so Opus in it is fine), as is a format this command does not
    write."""
    from ..audio import output_format_for
    one_file = bool(output) and not output.endswith(("/", os.sep)) and len(inputs) == 1 \
        and not os.path.isdir(output)
    raw_ext = os.path.splitext(output)[1] if one_file else ""  # "." alone (`-o out.`) is no format either
    ext = raw_ext.lower().lstrip(".")
    named = output_format_for(output) if one_file else None
    can = ", ".join(w.upper() for w in writes[:-1]) + (" or " if len(writes) > 1 else "") + writes[-1].upper()
    if named is None and ext in AUDIO_EXTS | {"mz"}:
        raise click.UsageError(f"-o {output} names {'a muzip .mz' if ext == 'mz' else _a(ext)} file; "
                               f"this command writes {can}")
    if fmt is None and named is None and raw_ext:  # no extension (/dev/null, a FIFO): WAV
        raise click.UsageError(f"-o {output}: cannot tell the format from its extension; "
                               f"use --format ({', '.join(writes)})")
    if fmt is not None and named is not None and fmt.lower() != named and (named, fmt.lower()) != ("ogg", "opus"):
        raise click.UsageError(f"-o {output} names {_a(named)} file but --format is {fmt.lower()}; "
                               "change one to match the other")
    fmt = (fmt or named or "wav").lower()
    if fmt not in writes:
        raise click.UsageError(f"-o {output}: this command writes {can}")
    return fmt
