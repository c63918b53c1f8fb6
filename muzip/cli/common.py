"""What every command shares: exit statuses, option types, messages and progress bars.

Nothing here imports numpy, onnxruntime or the codec, so `muzip --help` and friends start fast.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time

import click

from .. import signals

# Exit statuses (documented in `muzip --help` and the README).
EXIT_OK = 0
EXIT_FAIL = 1          # at least one input failed
EXIT_USAGE = 2         # bad command line (Click's own convention); nothing was done
EXIT_WARN = 3          # every input done, with warnings (concealed damage, truncated input, ...)
EXIT_BROKEN_PIPE = 141  # the reader of stdout went away
# Interrupted by a signal: 128 + its number, as shells report it: 130 Ctrl-C, 129 SIGHUP, 143 SIGTERM.
EXIT_CODES_HELP = """\b
Exit status:
  0        ok
  1        an input failed (the other inputs were done)
  2        usage error (nothing was done)
  3        done, with warnings (concealed damage, truncated input, ...)
  130/129/143  interrupted by Ctrl-C/SIGHUP/SIGTERM (no partial output left)
  141      the reader of standard output went away"""

# `muzip test` checks files: a damaged or truncated one is its failure (exit 1), not a warning
TEST_EXIT_CODES_HELP = EXIT_CODES_HELP.replace(
    "1        an input failed (the other inputs were done)",
    "1        a file has damaged frames, is truncated or is no .mz (audio lost; the others were checked)").replace(
    "3        done, with warnings (concealed damage, truncated input, ...)",
    "3        every file decodes, with warnings (an index or trailer damaged: no random access)")


# -- option types ----------------------------------------------------------------------------------

class Bitrate(click.ParamType):
    """kbps: `64`, `64k`, `64kbps`, or bits per second (`64000`)."""

    name = "KBPS"

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            kbps = float(value)
        else:
            m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(k|kbps|kb/s|kbit/s)?\s*", str(value), re.I)
            if not m:
                self.fail(f"{value!r} is not a bitrate (examples: 64, 64k, 64000)", param, ctx)
            kbps = float(m.group(1))
            if not m.group(2) and kbps >= 1000:  # a plain number that large is bits per second
                kbps /= 1000
        if not math.isfinite(kbps) or not self.lo <= kbps <= self.hi:
            self.fail(f"{value} is out of range ({self.lo:g}-{self.hi:g} kbps)", param, ctx)
        return kbps


class TimeSpec(click.ParamType):
    """Seconds (`90`, `90.5`, `90s`) or [h:]m:s (`1:30`, `0:01:30.5`)."""

    name = "TIME"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            text = str(value).strip().lower().removesuffix("s")
            parts = text.split(":")
            if len(parts) > 3 or not all(re.fullmatch(r"[0-9]*\.?[0-9]+", p) for p in parts) \
                    or any(float(p) >= 60 for p in parts[1:]):
                self.fail(f"{value!r} is not a time (examples: 90, 1:30, 1:02:03.5)", param, ctx)
            seconds = 0.0
            for p in parts:
                seconds = seconds * 60 + float(p)
        if not math.isfinite(seconds) or seconds < 0:
            self.fail(f"{value} is not a time >= 0", param, ctx)
        return seconds


# -- shell completion (`eval "$(_MUZIP_COMPLETE=bash_source muzip)"`) ---------------------------------

# Click completes a parameter from its type: file names for these (plain strings complete to nothing). Not
# readable=True (click's default): a file that cannot be read is the job's one line `muzip: FILE: reason`, and
# the batch goes on, where click's check ended the whole command with a usage error (session 54's review).
PATH = click.Path(readable=False)


class PositiveMinutes(click.ParamType):
    """A finite number of minutes above 0 (click's FloatRange lets nan and inf through)."""
    name = "M"

    def convert(self, value, param, ctx):
        try:
            minutes = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of minutes", param, ctx)
        if not math.isfinite(minutes) or minutes <= 0:
            self.fail(f"{value!r}: give a number of minutes above 0", param, ctx)
        return minutes


class FolderName(click.ParamType):
    """A folder name, taken as given (checked by the command); completes to folders."""

    name = "DIR"

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem
        return [CompletionItem(incomplete, type="dir")]


def complete_models(kind: str):
    """A shell_complete callback: the installed models of `kind` ("codec", "restorer", "embedder")."""
    def complete(ctx, param, incomplete):
        try:
            from ..codec import installed_models
            return [name for name in installed_models(kind) if name.startswith(incomplete)]
        except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
            return []
    return complete


def fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:06.3f}" if h else f"{m}:{s:06.3f}"


CATALOG_ENV = "MUZIP_DB"  # the library catalog when --db is not given


def catalog_option(help_text: str):
    """--db LIBRARY, required, or taken from $MUZIP_DB (one catalog for a whole session of commands)."""
    return click.option("--db", "db_path", required=True, envvar=CATALOG_ENV, show_envvar=True, metavar="LIBRARY",
                        help=help_text, callback=_catalog_path)


def _catalog_path(ctx, param, value):
    # SQLite takes "" and ":memory:" as a database that vanishes on exit: an index would be thrown away
    # (an empty "$DB" in a script gives the first)
    if value is not None and (not value.strip() or value == ":memory:"):
        raise click.BadParameter(f"{value!r} is not a catalog file name", ctx=ctx, param=param)
    return value


def plural(n: int, word: str) -> str:
    """'1 track', '3 tracks'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def file_size(path: str) -> int:
    """Bytes in a file; 0 for standard input or anything that cannot be read."""
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0


def fmt_bytes(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


# -- messages --------------------------------------------------------------------------------------

_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(32), *range(127, 160)] if c != 9} | {10: "\\n", 13: "\\r"} | {
    c: f"\\u{c:04x}" for c in [0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}  # line breaks, bidi


def one_line(text: str) -> str:
    """A message as one line: a file name's newline (or another control character) as \\n, \\x1b..."""
    return text.translate(_CONTROLS)


class Reporter:
    """Prints messages in the documented forms and keeps the exit status (worst so far)."""

    def __init__(self, quiet: bool = False):
        self.quiet, self.status = quiet, EXIT_OK
        self.failures = 0  # fail() lines so far: a summary's "failed" counts the inputs refused up front too
        self.echo = None  # set while progress bars are on screen, so lines do not tear them

    def _print(self, text: str):
        # a name's bytes that are not UTF-8 as \xe9, as `index` shows them (stderr wrote the surrogate, \udce9)
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate surrogateescape does not make: printed as it was
            pass
        if self.echo is not None:
            self.echo(text)
        else:
            click.echo(text, err=True)

    def fail(self, text: str):
        self._print(f"muzip: {one_line(text)}")
        self.status = EXIT_FAIL
        self.failures += 1

    def warn(self, text: str):
        self._print(f"muzip: warning: {one_line(text)}")
        if self.status == EXIT_OK:
            self.status = EXIT_WARN

    def say(self, text: str):
        if not self.quiet:
            self._print(one_line(text))

    def replay(self, messages):
        """Print (kind, text) pairs recorded by a job (possibly in a worker process)."""
        for kind, text in messages:
            getattr(self, kind)(text)


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def fail_usage(text: str):
    """A usage error as one line, `muzip: TEXT`, exit status 2 (nothing was done)."""
    click.echo(f"muzip: {text}", err=True)
    sys.exit(EXIT_USAGE)


def refuse_terminal_stdin(inputs, what: str) -> None:
    """'-' with a terminal on standard input would wait for typing that can never be audio: refuse it
    (as gzip does: "compressed data not read from a terminal")."""
    if "-" in inputs and stdin_is_terminal():
        fail_usage(f"-: {what} not read from a terminal (pipe or redirect a file into it)")


def status_line(text: str) -> None:
    """`muzip: TEXT` on stderr at once when it is a terminal (a person waiting), nothing otherwise."""
    if stderr_is_terminal():
        click.echo(f"muzip: {text}", err=True)
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def _stderr_columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        return 0


class Progress:
    """A progress bar on a terminal's stderr, nothing elsewhere. Never raises: a bar is decoration.

    total=None (length unknown: MP3, pipes) shows a running counter instead of a percentage."""

    def __init__(self, total, desc: str, unit: str = "s", enabled: bool = True, position: int = 0):
        self.bar = None
        if not enabled or not stderr_is_terminal():
            return
        try:
            from tqdm import tqdm
            digits = "0" if unit == "files" else "1"  # seconds of audio in tenths, files whole
            n, of = "{n:." + digits + "f}", "{total:." + digits + "f}"
            if total:
                fmt = "{desc}: {percentage:3.0f}%|{bar}| " + n + "/" + of + " " + unit + " [{elapsed}<{remaining}]"
            else:
                fmt = "{desc}: " + n + " " + unit + " [{elapsed}]"
                total = None
            # smoothing=0: the ETA from the average rate since the start; tqdm's moving average took a
            # batch's failed files (their bytes done at once) and a long file's silence between updates
            # for the rate, and showed ETAs of 80 hours for a 5-s batch (session 54's review)
            # a terminal that says it is 0 x 0 (`script` without a size, some CI consoles) gets 80 x 24: tqdm
            # drew nothing at all there
            sized = _stderr_columns() > 0
            self.bar = tqdm(total=total, desc=desc, leave=False, bar_format=fmt, position=position,
                            dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 24,
                            file=sys.stderr, mininterval=0.2, smoothing=0)
        except Exception:  # noqa: BLE001
            self.bar = None

    def update(self, n: float):
        signals.raise_if_interrupted()
        if self.bar is not None:
            try:
                if self.bar.total is not None:  # sums of rounded sizes may overshoot: tqdm warns into the bar
                    n = max(0.0, min(n, self.bar.total - self.bar.n))
                self.bar.update(n)
            except Exception:  # noqa: BLE001
                self.bar = None

    def set_description(self, desc: str):
        if self.bar is not None:
            try:
                self.bar.set_description_str(desc, refresh=True)
            except Exception:  # noqa: BLE001
                pass

    def close(self):
        if self.bar is not None:
            try:
                self.bar.close()
            except Exception:  # noqa: BLE001
                pass
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Clock:
    def __init__(self):
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _ray_address(ctx, param, value):
    """A local file or folder taken for the address (`--ray song.flac`, its only input): said now, before
    Click reports the inputs missing."""
    if value not in (None, "local") and "://" not in value and os.path.exists(value):
        fail_usage(f"--ray {value}: is a file or folder, not HOST:PORT; for a local Ray, give --ray last or before "
                   "another option")
    return value


# Click's optional value: `--ray` alone (before another option, or last) is a local Ray on this machine.
ray_option = click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
    callback=_ray_address,
    help="Run on Ray Data (pip install \"muzip[cluster]\"): alone, a local Ray on this machine's cores (-j of "
         "them); with HOST:PORT (or RAY_ADDRESS set), that cluster. Paths must be ones every node sees. Finished "
         "work is skipped: re-run to resume.")
