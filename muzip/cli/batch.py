"""Run one job per input, serially or in worker processes (-j N), with the same messages and exit status.

A job is a plain function (item, options, bar factory) -> Outcome, so it runs the same in this process or
in a worker. Workers are forked, each loads its model once, and send their progress back over a queue;
their messages are printed here in input order, so a parallel run reads exactly like a serial one.
Ctrl-C / SIGTERM / SIGHUP: workers are terminated (each removes its temp file), then muzip exits 128+signal.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import click

from .. import signals
from ..errors import MuzipError, OutputExistsError, OutputWriteError
from ..native import quiet_native_stderr
from ..outputs import is_full
from ..signals import Interrupted, exit_for_signal
from ..workers import stop_workers
from .common import (EXIT_BROKEN_PIPE, Progress, Reporter, default_jobs, file_size, fmt_bytes,
                     stderr_is_terminal)


@dataclass
class Outcome:
    messages: list = field(default_factory=list)  # (kind, text): kind is 'say', 'warn' or 'fail'
    bytes_in: int = 0
    bytes_out: int = 0
    failed: bool = False

    def say(self, text):
        self.messages.append(("say", text))

    def warn(self, text):
        self.messages.append(("warn", text))

    def fail(self, text):
        self.messages.append(("fail", text))
        self.failed = True


def _message(path: str, exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    # Output errors name the output file themselves; everything else is about the input.
    named = text.startswith(f"{path}: ") or isinstance(exc, (OutputExistsError, OutputWriteError))
    return text if named else f"{path}: {text}"


def run_job(job, item, options, bars) -> Outcome:
    """Run one job; every ordinary exception becomes a one-line failure so the batch goes on."""
    out = Outcome()
    if item.failed is not None:  # known from the plan (a folder that could not be listed)
        out.fail(f"{item.src}: {item.failed}")
        return out
    try:
        job(item, options, bars, out)
    except MuzipError as exc:
        if signals.pending_signal is not None:
            raise Interrupted(signals.pending_signal) from None
        out.fail(_message(item.src, exc))
    except (Interrupted, KeyboardInterrupt, BrokenPipeError):
        raise
    except OSError as exc:
        if signals.pending_signal is not None:
            raise Interrupted(signals.pending_signal) from None
        if item.dst is None and is_full(exc):
            out.fail(f"{item.src}: cannot write standard output ({exc.strerror})")  # -c into `> /dev/full`
        else:
            out.fail(f"{exc.filename or item.src}: {exc.strerror or exc}")
    except MemoryError:
        out.fail(f"{item.src}: out of memory")
    except Exception as exc:  # noqa: BLE001 - a bug must cost one file, not the batch
        if signals.pending_signal is not None:  # a signal arrived and was turned into another exception
            raise Interrupted(signals.pending_signal) from None
        out.fail(f"{item.src}: internal error ({type(exc).__name__}: {exc}); please report it")
    return out


class _LocalBars:
    """Bar factory for jobs run in this process."""

    def __init__(self, enabled: bool, position: int):
        self.enabled, self.position = enabled, position

    def __call__(self, total, desc):
        return Progress(total, desc, enabled=self.enabled, position=self.position)


def input_bytes(item) -> int:
    """An item's input size: from the plan where it knows it (an object store's listing), else the file's."""
    return item.size if item.size is not None else file_size(item.src)


class BatchView:
    """The batch line (file k/N, input bytes done, total ETA) and the end-of-batch summary."""

    def __init__(self, items, reporter: Reporter, quiet: bool):
        self.n, self.reporter, self.quiet = len(items), reporter, quiet
        self.total_bytes = sum(input_bytes(it) for it in items)
        self.done = self.failed = self.bytes_in = self.bytes_out = 0
        self.start = time.monotonic()
        self.bar = Progress(self.total_bytes / 1e6 or None, f"file 1/{self.n}", unit="MB",
                            enabled=not quiet and self.n > 1, position=0)
        if self.bar.bar is not None:  # messages must not tear the bars apart
            from tqdm import tqdm
            reporter.echo = lambda text: tqdm.write(text, file=sys.stderr)

    def finished(self, item, outcome: Outcome):
        self.done += 1
        self.failed += outcome.failed
        self.bytes_in += outcome.bytes_in
        self.bytes_out += outcome.bytes_out
        self.bar.update(input_bytes(item) / 1e6)
        self.bar.set_description(f"file {min(self.done + 1, self.n)}/{self.n}")

    def close(self):
        self.bar.close()
        self.reporter.echo = None
        if self.n > 1 and not self.quiet:
            wall = time.monotonic() - self.start
            failed = f", {self.failed} failed" if self.failed else ""
            moved = f"{fmt_bytes(self.bytes_in)} in, {fmt_bytes(self.bytes_out)} out, " \
                if self.bytes_in or self.bytes_out else ""  # `test` reads files but codes none
            self.reporter.say(f"batch: {self.done} files{failed}; {moved}{wall:.1f} s")


@contextmanager
def _inference_threads(n: int):
    """-j N caps the cores used (like xz -T): a file run in this process gets N inference threads, unless
    MUZIP_THREADS says otherwise. Restored after, so an in-process caller (tests) sees no change."""
    before = os.environ.get("MUZIP_THREADS")
    os.environ.setdefault("MUZIP_THREADS", str(n))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MUZIP_THREADS", None)


def run_batch(items, job, options, *, quiet: bool, jobs: int) -> None:
    """Run every item and exit with the batch's status (never returns)."""
    reporter = Reporter(quiet)
    view = BatchView(items, reporter, quiet)
    try:
        if jobs > 1 and len(items) > 1 and all(it.dst is not None and it.src != "-" for it in items):
            _run_parallel(items, job, options, reporter, view, min(jobs, len(items)), quiet)
        else:
            bars = _LocalBars(not quiet, 1 if len(items) > 1 else 0)
            with _inference_threads(min(jobs, default_jobs())):
                for item in items:
                    # -q: what C libraries print on fd 2 (mpg123's notes on an MP3) is dropped too; the
                    # job's own messages are printed after it, by the reporter.
                    with quiet_native_stderr(quiet):
                        outcome = run_job(job, item, options, bars)
                    reporter.replay(outcome.messages)
                    view.finished(item, outcome)
    except (Interrupted, KeyboardInterrupt) as exc:
        _say_interrupted(view, getattr(exc, "signum", signal.SIGINT))
    except BrokenPipeError:  # `muzip decompress -c x.mz | head`: stop quietly, like cat
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except Exception:
        if signals.pending_signal is None:
            raise
        _say_interrupted(view, signals.pending_signal)  # a signal that its unwinding turned into another error
    view.close()
    sys.exit(reporter.status)


def _say_interrupted(view, signum: int):
    view.bar.close()
    click.echo("muzip: interrupted", err=True)
    sys.exit(exit_for_signal(signum))


# -- worker processes --------------------------------------------------------------------------------

_QUEUE = None
_IN_JOB = False


def _worker_signal(signum, frame):
    if _IN_JOB:
        signals.pending_signal = signum
        signals.ignore_further_signals()  # the pool may send SIGTERM twice: let the first clean up
        raise Interrupted(signum)  # unwinds the job: its temp file is removed
    os._exit(exit_for_signal(signum))


def _worker_init(queue):
    global _QUEUE
    _QUEUE = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, then terminates us
    signal.signal(signal.SIGTERM, _worker_signal)
    signal.signal(signal.SIGHUP, _worker_signal)
    os.environ.setdefault("MUZIP_THREADS", "1")  # one core per worker; N workers use N cores


class _QueueBar:
    """A bar proxy in a worker: sends (index, total, done) to the parent at most 5 times a second."""

    def __init__(self, index, total, desc):
        self.index, self.total, self.desc, self.done, self.last = index, total, desc, 0.0, 0.0
        self._send()

    def _send(self):
        try:
            _QUEUE.put_nowait((self.index, self.total, self.done, self.desc))
        except Exception:  # noqa: BLE001 - progress is decoration
            pass

    def update(self, n):
        signals.raise_if_interrupted()
        self.done += n
        now = time.monotonic()
        if now - self.last > 0.2:
            self.last = now
            self._send()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _worker_run(args):
    """-> (index, outcome, signum): signum is set when the job was interrupted (its temp file is gone)."""
    global _IN_JOB
    index, job, item, options, quiet = args
    _IN_JOB = True
    try:
        with quiet_native_stderr(quiet):
            outcome = run_job(job, item, options, lambda total, desc: _QueueBar(index, total, desc))
        signals.raise_if_interrupted()  # a signal whose Interrupted was lost after the job's last block
        return index, outcome, None
    except Interrupted as exc:  # the parent is stopping us: the job has unwound, nothing is left to do
        os._exit(exit_for_signal(exc.signum))
    except KeyboardInterrupt:  # raised by the job itself (SIGINT is ignored here): tell the parent
        return index, None, signal.SIGINT
    finally:
        _IN_JOB = False


def _run_parallel(items, job, options, reporter, view, jobs, quiet):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    ctx = mp.get_context("fork")  # cheap start; this process has loaded no model and runs no threads
    queue = ctx.Queue() if stderr_is_terminal() and not quiet else None
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_worker_init, initargs=(queue,))
    bars: dict[int, Progress] = {}
    pending: dict[int, Outcome] = {}
    next_to_print = 0
    try:
        with signals.signals_noted():  # raised here at each turn, never inside the pool's locks
            futures = {pool.submit(_worker_run, (i, job, it, options, quiet)): i for i, it in enumerate(items)}
            while next_to_print < len(items):
                signals.raise_if_interrupted()
                next_to_print = _turn(futures, items, pending, bars, queue, next_to_print, reporter, view)
            pool.shutdown(wait=True)
            signals.raise_if_interrupted()
    except BaseException:
        stop_workers(pool)
        _say_finished(pending, items, bars, reporter, view)
        raise
    finally:
        for bar in bars.values():
            bar.close()


def _turn(futures, items, pending, bars, queue, next_to_print, reporter, view) -> int:
    """One turn of the parallel loop (at most 0.1 s): collect finished jobs, draw progress, print in input
    order. -> the index of the next item to print."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool
    done, _ = wait(list(futures), timeout=0.1, return_when=FIRST_COMPLETED)
    signals.raise_if_interrupted()  # a group's SIGTERM ended the workers too: their futures broke for it
    for fut in done:
        index = futures.pop(fut)
        try:
            _, outcome, signum = fut.result()
        except BrokenProcessPool:  # a worker was killed (out of memory, kill -9): fail, don't hang
            signals.raise_if_interrupted()
            outcome, signum = Outcome(), None
            outcome.fail(f"{items[index].src}: worker process died (out of memory, or killed)")
        if signum is not None:
            raise Interrupted(signum)
        pending[index] = outcome
        bar = bars.pop(index, None)
        if bar is not None:
            bar.close()
    while queue is not None and not queue.empty():
        try:
            index, total, done_s, desc = queue.get_nowait()
        except Exception:  # noqa: BLE001 - emptied meanwhile
            break
        if index in pending or (index < next_to_print):
            continue
        if index not in bars:
            bars[index] = Progress(total, desc, position=1 + len(bars))
        bar = bars[index]
        bar.update(done_s - (bar.bar.n if bar.bar is not None else done_s))
    while next_to_print in pending:  # messages in input order, as a serial run prints them
        outcome = pending.pop(next_to_print)
        reporter.replay(outcome.messages)
        view.finished(items[next_to_print], outcome)
        next_to_print += 1
    return next_to_print


def _say_finished(pending: dict, items, bars: dict, reporter, view) -> None:
    """On an interruption: the files that finished while an earlier one was still running (held back to print in
    input order), said now; their outputs are whole and kept, and unsaid they were a surprise to a re-run."""
    for bar in bars.values():
        bar.close()
    bars.clear()
    for index in sorted(pending):  # their lines only: the batch bar's update would raise the interruption again
        try:
            reporter.replay(pending[index].messages)
        except Exception:  # noqa: BLE001 - the interruption is what is being said
            pass
