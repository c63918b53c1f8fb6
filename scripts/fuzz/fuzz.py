"""Fuzz the .mz decoder with mutated and crafted files, in-process, through the public API.

    python -m scripts.fuzz.fuzz --cases N --seed S [--model NAME ...] [--library-cases N | --no-library]
        [--json FILE] [--case I]

Every shipped codec model is fuzzed (muzip-v1's levels coder, muzip-v2's context coder, muzip-v2.1's
context coder and band gains, muzip-v2.2's temporal envelope too), N cases each, or only the --model(s) named. Seeds, per model: its golden
file plus small files it makes with compress_array / compress_blocks (mono and stereo at a few sample rates,
one of unknown length, one with tags and a cover, an empty one). Case i of model M is built from numpy's
PCG64 seeded with (S, i, crc32(M)), so `--model M --case I` replays it alone. Each case runs read_info,
then one of read_info(verify=True) + verify_file, decompress_bytes, or decompress_to (a counting sink, a
random start/duration, pad_truncated only with a duration: it fills the header's promise by design) with
the model, loaded once. Library inputs (scripts/fuzz/library_fuzz.py, where it exists) add their counts to
the table. The table and the printed summary are scripts/fuzz/fuzz_report.py's; the seeds and mutations,
scripts/fuzz/fuzz_cases.py's.

Outcomes: ok; muzip-error (a clean MuzipError); FAIL-exception (anything else); FAIL-slow (a call over
max(1 s, 1 s per MB of input); tracing slows Python code several-fold, so calls over 0.2 s, or over
0.05 s on inputs of 100 kB or more, are timed again untraced and the faster time counts; a watchdog
stops a call at 60 s); FAIL-memory (peak over
3 x the output + 4 x the input + 48 MiB, or more audio than the file can hold: one frame per 22-byte
record); FAIL-mismatch (an unmodified seed decodes differently from its reference); FAIL-exception also
for decoded audio that is not finite (NaN, Inf). Memory is
tracemalloc's peak per call: Python objects and numpy arrays (numpy reports its buffers to
tracemalloc), not onnxruntime's own arena, which is fixed per model, not per file.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np

from scripts.fuzz.fuzz_cases import (  # noqa: F401 - re-exported for tests/codec/test_fuzz.py
    KINDS, Parsed, Seed, _digest, _pick, crc, frame_record, header_bytes, index_record, make_seeds,
    set_header_fields, trailer, with_cover,
)
from scripts.fuzz.fuzz_report import report, table  # noqa: F401 - table re-exported for tests
from muzip.codec import decompress_bytes, decompress_to
from muzip.container import FRAME_OVERHEAD, ContainerReader, read_info
from muzip.errors import MuzipError
from muzip.codec.verify import verify_file

MEM_FLOOR = 48 << 20
HANG_S = 60.0


def load(name: str | None = None):
    """A codec model (default: the default model), loaded once per process."""
    from muzip.codec import load_model
    from muzip.runtime import resolve_name
    cache = load.__dict__.setdefault("models", {})
    key = resolve_name(name)
    if key not in cache:
        cache[key] = load_model(key)
    return cache[key]


def shipped_models() -> list[str]:
    """Every shipped codec model (the models folder's, not ones `muzip train` installed for a user)."""
    from muzip.codec.config import installed_models
    from muzip.runtime.store import model_folder, models_dir
    shipped = models_dir().resolve()
    return [n for n in installed_models("codec") if model_folder(n).resolve().parent == shipped]


# -- running cases ------------------------------------------------------------------------------------
class _Watchdog(threading.Thread):
    """Interrupts the main thread (KeyboardInterrupt) when a call runs past HANG_S or the traced memory
    passes a hard cap, so a regression cannot hang the run or exhaust the machine."""

    def __init__(self, mem_cap: int = 4 << 30):
        super().__init__(daemon=True)
        self.lock, self.deadline, self.mem_cap, self.fired = threading.Lock(), None, mem_cap, None
        self.start()

    def arm(self):
        with self.lock:
            self.deadline, self.fired = time.monotonic() + HANG_S, None

    def disarm(self):
        with self.lock:
            self.deadline = None

    def run(self):
        import _thread
        while True:
            time.sleep(0.05)
            with self.lock:
                if self.deadline is None:
                    continue
                if time.monotonic() > self.deadline:
                    self.fired = f"FAIL-slow: still running after {HANG_S:g} s"
                elif tracemalloc.is_tracing() and tracemalloc.get_traced_memory()[0] > self.mem_cap:
                    self.fired = f"FAIL-memory: over {self.mem_cap >> 20} MiB traced"
                else:
                    continue
                self.deadline = None
                _thread.interrupt_main()


class _Pipe(io.RawIOBase):
    """A non-seekable reader with short reads, like stdin from a pipe."""

    def __init__(self, data: bytes, most: int):
        self._f, self._most = io.BytesIO(data), most

    def readable(self):
        return True

    def seekable(self):
        return False

    def read(self, n=-1):
        return self._f.read(self._most if n is None or n < 0 else min(n, self._most))


class _CountingSink:
    def __init__(self, channels: int):
        self.channels, self.samples = channels, 0

    def write(self, block):
        assert block.ndim == 2 and block.shape[1] == self.channels and block.dtype == np.float32
        _check_finite(block)
        self.samples += len(block)


def _check_finite(audio):
    """Decoded audio must be numbers, whatever the file (band gains of +120 dB, say): not an AssertionError,
    which the fuzzer reads as a mismatch, but an exception, its FAIL-exception."""
    if not np.isfinite(audio).all():
        raise FloatingPointError("decoded audio holds NaN or Inf samples")


def _decode_calls(data: bytes, model, rng, reference: str | None):
    """(name, fn) pairs for one case; fn returns (output samples, pad allowance in samples)."""
    r = rng.random()
    most = int(_pick(rng, [7, 4096, 1 << 20] if len(data) < 65536 else [512, 4096, 1 << 20]))

    def source(piped):
        return _Pipe(data, most) if piped else io.BytesIO(data)
    piped = rng.random() < 0.4
    if r < 0.3:
        return [("read_info(verify)", lambda: (read_info(source(piped), verify=True), (0, 0))[1]),
                ("verify_file", lambda: (verify_file(source(piped)), (0, 0))[1])]
    if r < 0.7 or reference:
        def full():
            audio, _ = decompress_bytes(data, model=model)
            _check_finite(audio)
            if reference and _digest(audio) != reference:
                raise AssertionError("FAIL-mismatch: the unmodified seed decoded differently")
            return len(audio), 0
        return [("decompress_bytes", full)]
    start = float(_pick(rng, [0.0, 0.0, 0.4, 1.7, 100.0]))
    duration = _pick(rng, [None, 0.3, 1.0, 5.0, 60.0])
    pad = duration is not None and rng.random() < 0.5  # padding fills the header's promise: bound it

    def part():
        reader = ContainerReader(source(piped))
        sink = _CountingSink(reader.header.channels)
        decompress_to(reader, model, lambda sr, ch, n: sink, start, duration, pad_truncated=pad)
        return sink.samples, int(round((duration or 0) * reader.header.sample_rate)) + 1 if pad else 0
    return [(f"decompress_to({'pipe, ' if piped else ''}start={start:g}, duration={duration}, pad={pad})", part)]


def _capacity(data: bytes) -> tuple[int, int]:
    """(samples, channels): the most audio a file of this size can decode to (a frame per 22 bytes)."""
    try:
        h = ContainerReader(io.BytesIO(data)).header
    except MuzipError:
        return 0, 1
    frames = len(data) // FRAME_OVERHEAD + 1
    return -(-frames * h.frame_samples * h.sample_rate // h.model_rate) + h.sample_rate, h.channels


def _run_call(name, fn, data: bytes, watchdog) -> dict:
    out = {"call": name, "outcome": "ok", "error": None}
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    watchdog.arm()
    try:
        samples, allowance = fn()
    except KeyboardInterrupt:
        if not watchdog.fired:
            raise
        samples, allowance = 0, 0
        out["outcome"], out["error"] = watchdog.fired.split(": ", 1)
    except MuzipError as exc:
        samples, allowance = 0, 0
        out["outcome"], out["error"] = "muzip-error", f"{type(exc).__name__}: {exc}"
    except AssertionError as exc:
        samples, allowance = 0, 0
        out["outcome"], out["error"] = "FAIL-mismatch", str(exc)
    except BaseException as exc:  # noqa: BLE001 - anything else escaping the API is the bug we look for
        samples, allowance = 0, 0
        out["outcome"], out["error"] = "FAIL-exception", f"{type(exc).__name__}: {exc}"[:300]
    finally:
        watchdog.disarm()
    out["seconds"] = time.perf_counter() - t0
    out["peak"] = tracemalloc.get_traced_memory()[1] - base
    limit = max(1.0, len(data) / 1e6)
    slowish = out["seconds"] > 0.2 or (len(data) >= 100_000 and out["seconds"] > 0.05)  # worth an s/MB look
    if slowish and out["outcome"] in ("ok", "muzip-error"):
        tracemalloc.stop()  # tracing slows Python code several-fold: time slow calls again, untraced
        t0 = time.perf_counter()
        watchdog.arm()
        try:
            fn()
        except Exception:  # noqa: BLE001 - the first run decided the outcome; this one is for timing
            pass
        finally:
            watchdog.disarm()
            tracemalloc.start()
        out["seconds"] = min(out["seconds"], time.perf_counter() - t0)
        if out["seconds"] > limit:
            out["outcome"], out["error"] = "FAIL-slow", f"{out['seconds']:.2f} s for {len(data)} bytes"
    cap, ch = _capacity(data)
    out["out_bytes"] = samples * ch * 4
    bound = 3 * out["out_bytes"] + 4 * len(data) + MEM_FLOOR
    out["mem_ratio"] = out["peak"] / bound
    if out["outcome"] in ("ok", "muzip-error"):
        if samples > max(cap, allowance):
            out["outcome"], out["error"] = "FAIL-memory", f"{samples} samples out, the file can hold {cap}"
        elif out["peak"] > bound:
            out["outcome"], out["error"] = "FAIL-memory", f"peak {out['peak'] >> 20} MiB over {bound >> 20} MiB"
    return out


_RANK = {"ok": 0, "muzip-error": 1}


def run_case(data: bytes, model, rng, watchdog, reference: str | None = None) -> dict:
    calls = [("read_info", lambda: (read_info(io.BytesIO(data)), (0, 0))[1])]
    calls += _decode_calls(data, model, rng, reference)
    results = [_run_call(name, fn, data, watchdog) for name, fn in calls]
    worst = max(results, key=lambda c: _RANK.get(c["outcome"], 2))
    return {"outcome": worst["outcome"], "size": len(data), "calls": results,
            "seconds": sum(c["seconds"] for c in results), "peak": max(c["peak"] for c in results)}


def _salt(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def run(cases: int, seed: int, model=None, only: int | None = None, progress=None) -> dict:
    """Run cases 0..cases-1 (or just `only`) of one model (default: the default model); returns its summary."""
    model = model or load()
    seeds_by_model = run.__dict__.setdefault("seeds", {})
    if model.name not in seeds_by_model:  # per model: its own files, references decoded with it
        seeds_by_model[model.name] = make_seeds(model)
    seeds, watchdog = seeds_by_model[model.name], getattr(run, "watchdog", None) or _Watchdog()
    run.watchdog = watchdog
    for s in seeds:  # one-time costs (entropy tables, coder caches) are the model's, not a file's
        verify_file(io.BytesIO(s.data))
    # ... and, where only numba's loops are there, numba's import and their machine code (~45 MiB traced)
    # the process's: the first long file would otherwise carry them (muzip-v2.7, seed 36, case 46). The coders
    # still switch to numba's loops only after DECODE_AFTER_FRAMES frames (the C build: from the first).
    from muzip.codec.entropy import compiled
    compiled.preload()
    summary = {"model": model.name, "cases": 0, "seed": seed, "classes": {}, "kinds": {}, "failures": [],
               "slowest": [], "peak_bytes": 0, "worst_mem_ratio": 0.0, "worst_s_per_mb_large": 0.0}
    t_start = time.perf_counter()
    tracemalloc.start()
    try:
        for i in [only] if only is not None else range(cases):
            rng = np.random.default_rng([seed, i, _salt(model.name)])
            kind = _pick(rng, list(KINDS))
            s = _pick(rng, seeds)
            data = KINDS[kind](rng, s, seeds)
            res = run_case(data, model, rng, watchdog, s.reference if kind == "none" else None)
            summary["cases"] += 1
            cls = res["outcome"]
            summary["classes"][cls] = summary["classes"].get(cls, 0) + 1
            summary["kinds"].setdefault(kind, {}).setdefault(cls, 0)
            summary["kinds"][kind][cls] += 1
            summary["peak_bytes"] = max(summary["peak_bytes"], res["peak"])
            summary["worst_mem_ratio"] = max([summary["worst_mem_ratio"]] + [c["mem_ratio"] for c in res["calls"]])
            slow = max(res["calls"], key=lambda c: c["seconds"])
            entry = {"model": model.name, "case": i, "kind": kind, "seed": s.name, "size": len(data),
                     "call": slow["call"], "seconds": round(slow["seconds"], 4),
                     "s_per_mb": round(slow["seconds"] / max(len(data) / 1e6, 1e-6), 3)}
            summary["slowest"] = sorted(summary["slowest"] + [entry], key=lambda e: -e["seconds"])[:5]
            if len(data) >= 100_000:
                summary["worst_s_per_mb_large"] = max(summary["worst_s_per_mb_large"], entry["s_per_mb"])
            if cls not in _RANK:
                bad = next(c for c in res["calls"] if c["outcome"] == cls)
                summary["failures"].append({**entry, "call": bad["call"], "outcome": cls, "error": bad["error"]})
            if progress and (i + 1) % 500 == 0:
                progress(i + 1, time.perf_counter() - t_start)
    finally:
        tracemalloc.stop()
    summary["wall_s"] = round(time.perf_counter() - t_start, 1)
    return summary


# -- every model, and the library --------------------------------------------------------------------------
# >>> HOOK: library inputs. scripts/fuzz/library_fuzz.py (written separately) fuzzes what the library reads
# (catalogs, classifiers, ...). Where that module exists, run_all() calls library_fuzz.run(cases, seed) and adds
# the counts it returns to the table. Expected: a dict shaped like run()'s summary, at least
# {"kinds": {kind: {outcome: count}}}, optionally "classes" and "failures" (each {"case", "kind", "outcome",
# "error"}); a plain {kind: {outcome: count}} is taken as its "kinds". Outcomes as here: "ok", "muzip-error",
# anything else a failure. Change only this function if its entry point differs.
def library_counts(cases: int, seed: int) -> dict | None:
    """The library fuzzer's summary, or None where scripts/fuzz/library_fuzz.py does not exist."""
    try:
        import scripts.fuzz.library_fuzz  # noqa: F401 - then taken from sys.modules, where a test may stand in
    except ModuleNotFoundError as exc:
        if exc.name != "scripts.fuzz.library_fuzz":
            raise  # the module is there but something it imports is not: a real error
        return None
    result = dict(sys.modules["scripts.fuzz.library_fuzz"].run(cases, seed))
    if "kinds" not in result:
        result = {"kinds": result}
    result.setdefault("failures", [])
    classes = {}
    for counts in result["kinds"].values():
        for outcome, n in counts.items():
            classes[outcome] = classes.get(outcome, 0) + n
    result.setdefault("classes", classes)
    result.setdefault("cases", sum(classes.values()))
    return result
# <<< HOOK


def run_all(cases: int, seed: int, models=None, only: int | None = None, progress=None,
            library: bool = True, library_cases: int | None = None) -> dict:
    """run() for each model (default: every shipped codec model), then the library fuzzer (the hook above).
    Returns {"seed", "models": {name: run()'s summary}, "library": its summary or None, "failures"}."""
    names = list(models) if models else shipped_models()
    out = {"seed": seed, "models": {}, "library": None, "failures": []}
    for name in names:
        summary = run(cases, seed, load(name), only, progress and (lambda done, s, n=name: progress(n, done, s)))
        out["models"][name] = summary
        out["failures"] += summary["failures"]
    if library and only is None:
        out["library"] = library_counts(cases if library_cases is None else library_cases, seed)
        if out["library"] is not None:
            out["failures"] += [{"model": "library", **f} for f in out["library"]["failures"]]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000, help="cases per model (and for the library)")
    ap.add_argument("--library-cases", type=int, default=None, metavar="N",
                    help="library cases (default: --cases; each runs a CLI command, ~10x a decoder case)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", action="append", metavar="NAME",
                    help="fuzz only this codec model (repeatable; default: every shipped one)")
    ap.add_argument("--case", type=int, default=None, help="run only this case (replay a failure; with --model)")
    ap.add_argument("--no-library", action="store_true", help="leave out the library inputs (library_fuzz.py)")
    ap.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    names = args.model or shipped_models()
    print(f"models {', '.join(names)}; making seeds...", file=sys.stderr)

    def progress(name, done, elapsed):
        print(f"  {name}: {done} cases, {elapsed:.0f} s", file=sys.stderr)
    result = run_all(args.cases, args.seed, names, args.case, progress, library=not args.no_library,
                     library_cases=args.library_cases)
    print("\n".join(report(result, args.cases, args.seed, time.perf_counter() - t0)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
