"""The gain encoder's analysis in a forked process, for one long file compressed alone.

In one process the analysis thread and the rate controller share the GIL (the entropy coder and numpy on
one frame at a time hold it), so a compress uses about 1.35 of this machine's 2 cores. A forked process
holds its own copy of the GainEncoder, and runs its analyse() on frames sent in order, so its state (the
envelope's previous frame) evolves as the thread's would: the same bytes (tests/codec/test_analysis_process.py).

submit() returns a future-like object (result(), cancel()), as a ThreadPoolExecutor's; results come back
in submission order. A worker that fails sends one line back; one that dies is an error, never a hang.
"""

from __future__ import annotations

import signal

from ..errors import MuzipError

POLL_S = 0.5


class AnalysisProcess:
    """analyse(frame, latents) -> bytes, run in a forked child; fork when the caller's state is ready."""

    def __init__(self, analyse):
        import multiprocessing  # here, not at import: ~20 ms of every command's start-up
        ctx = multiprocessing.get_context("fork")
        self.requests, self.replies = ctx.Queue(), ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(analyse, self.requests, self.replies), name="muzip-gains",
                                daemon=True)
        self.proc.start()
        self.sent = 0
        self.done: dict[int, tuple[bool, object]] = {}

    def submit(self, analyse, frame, latents) -> "_Reply":
        del analyse  # the child's own copy of it runs
        seq, self.sent = self.sent, self.sent + 1
        self.requests.put((seq, frame, latents))
        return _Reply(self, seq)

    def _wait(self, seq: int):
        import queue as queue_module
        while seq not in self.done:
            try:
                got, ok, value = self.replies.get(timeout=POLL_S)
                self.done[got] = (ok, value)
            except queue_module.Empty:
                if not self.proc.is_alive() and self.replies.empty():
                    raise MuzipError(f"the gain analysis process ended unexpectedly (exit code {self.proc.exitcode})")
        ok, value = self.done.pop(seq)
        if not ok:
            raise MuzipError(value)
        return value

    def shutdown(self, cancel_futures: bool = False) -> None:
        if cancel_futures or not self.proc.is_alive():
            # frames still in the pipe to a child that is ending: this process must not wait to send them
            # at exit (multiprocessing joins a queue's feeder thread then, and it would block for ever)
            self.requests.cancel_join_thread()
            self.proc.terminate()
        else:
            self.requests.put(None)
        self.proc.join()


class _Reply:
    def __init__(self, pool: AnalysisProcess, seq: int):
        self.pool, self.seq = pool, seq

    def result(self):
        return self.pool._wait(self.seq)

    def cancel(self) -> bool:
        return False


def leave_signals_to_parent() -> None:
    """In a forked worker: Ctrl-C and a hang-up are the parent's to handle, and its SIGTERM ends the worker
    at once (the CLI's handlers, inherited, would raise here and print a traceback)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _serve(analyse, requests, replies) -> None:
    leave_signals_to_parent()
    try:
        while True:
            item = requests.get()
            if item is None:
                break
            seq, frame, latents = item
            try:
                replies.put((seq, True, analyse(frame, latents)))
            except Exception as exc:  # noqa: BLE001 - sent back as the one line the parent reports
                replies.put((seq, False, f"gain analysis failed: {exc!r}"))
                break
    finally:
        replies.close()
        replies.join_thread()
