"""One long file decoded on several cores: runs of frames decoded in forked worker processes, in order.

Decoding holds the GIL for most of its time (the entropy decoder, and numpy on one 882-channel vector at a
time), so threads in one process use about 1.2 of this machine's 2 cores. Frames decode independently
given their neighbours, and decoding any range of frames gives the whole file's samples there
(decode.decode_frames; tests/codec/test_split_decode.py), so the file is cut into runs of CHUNK_FRAMES
frames, dealt out to the workers in turn, and read back in order: the same samples as one process.

A worker reads the file through its own open file description (ContainerReader.reopened), decodes a
run, and queues its frames (at most one run ahead of the reader, so memory stays bounded on a file of
hours). Only network-free models split (an onnxruntime session's threads would not survive a fork), and
only seekable files with a valid index of at least MIN_FRAMES frames.
"""

from __future__ import annotations

from ..errors import CorruptFileError, MuzipError
from .analysis_process import leave_signals_to_parent
from .entropy import compiled
from .latents import check_model

CHUNK_FRAMES = 32   # a run re-reads a frame of context each side: ~6 % more entropy decoding
MIN_FRAMES = 48     # shorter files: one process (forking and the runs' context cost more than they save)
POLL_S = 0.5        # how often a waiting reader checks that its worker is alive


def split_workers(reader, model, workers: int, first: int, stop: int | None) -> int:
    """How many processes decode frames first..stop-1 of this file: `workers` where it can split, else 1."""
    if workers < 2 or getattr(model, "backend", None) != "numpy" or not reader.load_index():
        return 1
    end = reader.n_frames if stop is None else min(stop, reader.n_frames)
    if end - first < MIN_FRAMES:
        return 1
    import multiprocessing  # here, past the short files: ~20 ms of start-up
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    probe = reader.reopened()  # an in-memory file or a pipe cannot be read by another process
    if probe is None:
        return 1
    probe.close()
    return min(workers, -(-(end - first) // CHUNK_FRAMES))


def split_decode_frames(decode_frames, new_report, reader, model, first: int, stop: int | None, report,
                        strict: bool, workers: int):
    """decode_frames(reader, model, first, stop, report, strict)'s (frame index, audio) for frames
    first..stop-1, each run decoded by decode_frames in one of `workers` forked processes (split_workers()
    of them) with a report from new_report(). Damaged frames go to report.damaged as one process reports them."""
    check_model(reader.header, model)  # before any output, as decode_frames
    if not reader.load_index():
        raise MuzipError("a file without a valid index cannot be split (split_workers() says 1)")
    end = reader.n_frames if stop is None else min(stop, reader.n_frames)
    runs = [(a, min(a + CHUNK_FRAMES, end)) for a in range(first, end, CHUNK_FRAMES)]
    return _frames((decode_frames, new_report), reader, model, runs, report, strict, workers)


def _frames(decoder, reader, model, runs, report, strict, workers):
    import multiprocessing
    if model.config.get("entropy") == "banded" and len(runs) * CHUNK_FRAMES > workers * compiled.DECODE_AFTER_FRAMES:
        compiled.warm()  # the workers would each load the compiled loops: loaded once here, their pages shared
    ctx = multiprocessing.get_context("fork")
    readers = [reader.reopened() for _ in range(workers)]
    queues = [ctx.Queue(maxsize=CHUNK_FRAMES + 1) for _ in range(workers)]
    procs = []
    try:
        if any(r is None for r in readers):
            raise MuzipError("cannot reopen the file for the decoding workers")
        for w in range(workers):
            procs.append(ctx.Process(target=_work, args=(decoder, readers[w], model, runs[w::workers], strict, queues[w]),
                                     name=f"muzip-decode-{w}", daemon=True))
            procs[-1].start()
        for r in readers:
            r.close()  # the workers hold their own copies
        for i, (a, b) in enumerate(runs):
            w = i % workers
            while True:
                kind, *rest = _get(queues[w], procs[w])
                if kind == "frame":
                    yield rest[0], rest[1]
                    continue
                if kind == "error":
                    raise (CorruptFileError if rest[0] else MuzipError)(rest[1])
                report.damaged.extend(rest[0])
                break
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join()
        for r in readers:
            if r is not None:
                r.close()


def _get(q, proc):
    import queue as queue_module
    while True:
        try:
            return q.get(timeout=POLL_S)
        except queue_module.Empty:
            if not proc.is_alive():
                try:
                    return q.get(timeout=POLL_S)  # it may have put its last message just before it ended
                except queue_module.Empty:
                    raise MuzipError(f"a decoding worker ended unexpectedly (exit code {proc.exitcode})") from None


def _work(decoder, reader, model, runs, strict, q):
    """A worker: decode each run, queue its frames, then ("end", damaged-frame messages of the run)."""
    decode_frames, new_report = decoder
    leave_signals_to_parent()
    model.forget_threads()
    model.threaded = False  # a core per worker: a pool here would only hold a second group's buffers
    try:
        for a, b in runs:
            report = new_report()
            for index, audio in decode_frames(reader, model, a, b, report, strict):
                q.put(("frame", index, audio))
            # context frames (a - 1, b) are the neighbouring runs' to report
            q.put(("end", [msg for i, msg in report.damaged_at if a <= i < b]))
    except CorruptFileError as exc:
        q.put(("error", True, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - anything else ends the decode with one line, not a hang
        q.put(("error", False, f"decoding worker failed: {exc!r}"))
    finally:
        q.close()
        q.join_thread()
