"""Worker processes that leave Ctrl-C to the parent, and are stopped at once when it stops.

A terminal's Ctrl-C goes to the whole process group: workers that took it as a KeyboardInterrupt printed their
tracebacks under muzip's one line, and one that died while sending a result hung the pool's reader for good
(`muzip train`, session 55's review). Here workers ignore SIGINT, even while a spawned one is still importing
(an ignored signal stays ignored across exec, and Python then installs no handler of its own), and the parent,
whatever ends its work (a signal, an error), terminates them instead of waiting for the work still queued.
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager

from . import signals


def _leave_interrupts_to_parent(initializer=None, initargs=()):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):  # not a forked parent's handler: stop_workers' SIGTERM ends them quietly
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def worker_pool(jobs: int, start: str = "fork", initializer=None, initargs=()):
    """A ProcessPoolExecutor of `jobs` workers ("fork" or "spawn"), for work that writes nothing a killed worker
    could leave half done (their SIGTERM and SIGHUP end them at once). Submit through submitting(pool, ...), so
    that spawned workers start with SIGINT ignored."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    pool = ProcessPoolExecutor(jobs, mp_context=mp.get_context(start), initializer=_leave_interrupts_to_parent,
                               initargs=(initializer, initargs))
    try:
        yield pool
        pool.shutdown(wait=True)  # a signal while waiting for the last results stops them as well
    except BaseException:
        stop_workers(pool)
        raise


def submitting(pool, fn, items):
    """fn over items in the pool, the results in order: pool.map's, but its workers started while this process
    ignores SIGINT (spawned ones inherit that; a Ctrl-C in these few milliseconds is lost, not half-handled), and
    nothing cancelled when the results stop being read (stop_workers ends the pool: see there)."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        futures = [pool.submit(fn, item) for item in items]
    finally:
        signal.signal(signal.SIGINT, old)
    return (_result(future) for future in futures)


def _result(future):
    """A future's result, waited for with signals noted, and raised between waits (within 0.1 s). Raised inside
    the pool's waiting, an interruption could land inside a lock's `with` and unwind as "release unlocked lock"
    (a `-j 2` compress batch, session 57: the same waiting)."""
    from concurrent.futures import wait
    if not signals.installed():  # a caller with Python's own Ctrl-C (KeyboardInterrupt): as pool.map does
        return future.result()
    with signals.signals_noted():
        while not future.done() and signals.pending_signal is None:
            wait([future], timeout=0.1)
    signals.raise_if_interrupted()
    return future.result()


def stop_workers(pool, grace_s: float = 5.0) -> None:
    """SIGTERM every worker (a batch job's worker unwinds, removing its temp file), SIGKILL any that hang, and drop
    the work still queued."""
    # Private names, read before the pool is shut down (which drops them); where missing, nothing is done with them.
    procs = list((getattr(pool, "_processes", None) or {}).values())
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + grace_s
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(1.0)
    # A worker killed while sending a result leaves the pool's reader thread waiting for the rest of it, and Python
    # joins that thread at exit (train hung so, session 55): with this process's own end of the result pipe closed
    # it reads EOF, finds the pool broken and ends. Only then is the pool shut down: in 3.11 a future cancelled
    # under that thread fails it (InvalidStateError), and its exit wake-up races its closing (Bad file descriptor).
    if procs and writer is not None:
        try:
            writer.close()
        except OSError:
            pass
    if manager is not None:
        manager.join(grace_s)
        if not manager.is_alive():
            from concurrent.futures import process
            getattr(process, "_threads_wakeups", {}).pop(manager, None)
    pool.shutdown(wait=False, cancel_futures=True)


def mapped(fn, items, jobs: int):
    """fn over items, results in order, in this process or in `jobs` workers (each loads its models once)."""
    if jobs <= 1 or len(items) <= 1:
        for it in items:
            yield fn(it)
        return
    os.environ.setdefault("MUZIP_THREADS", "1")
    with worker_pool(min(jobs, len(items))) as pool:  # Ctrl-C is the parent's: it stops them
        yield from submitting(pool, fn, items)
