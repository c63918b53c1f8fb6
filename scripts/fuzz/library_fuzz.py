"""Fuzz what the library reads -- catalogs and classifier files -- through the real CLI commands, in-process.

    python -m scripts.fuzz.library_fuzz --cases N --seed S [--case I] [--json FILE]

Seeds, made once per run in a temporary folder: a muzip catalog (real `Catalog` writer, the installed
embedder's id, unit vectors in a few groups) whose tracks are partly labelled files that exist (so
`classify train --db` finds them all cataloged and embeds nothing) and partly paths that do not; and a
classifier trained on those embeddings. Case i is built from numpy's PCG64 seeded with (S, i), so
`--case I` replays it alone. Each case writes one mutated or crafted input and runs one command on it
with click's CliRunner:

* catalog kinds (catalog-*), given to `similar`, `cluster`, `map`, `classify predict --db`, `classify train
  --db` or `index`, and classifier kinds (clf-*), given to `classify predict` or `map --color label`; their
  builders are in scripts/fuzz/library_cases.py.

Outcomes: ok (exit 0); muzip-error (exit 1 with every stderr line `muzip: ...`); or a failure:
FAIL-exception (an exception escaped the command: `muzip: internal error` for a user), FAIL-exit (an exit
status outside the documented ones for these inputs, 0/1/3), FAIL-message (an error without a `muzip: `
line, a traceback, a stray warning), FAIL-changed (an input file changed; `index` may change its
catalog only when it succeeds), FAIL-output (a partial output or a temp file left), FAIL-json (--json
output that strict JSON parsing refuses), FAIL-unpickled (the canary fired), FAIL-memory (traced peak
over MEM_LIMIT), FAIL-slow (over SLOW_S), FAIL-mismatch (an unmodified seed did not exit 0).

This module holds the seeds, the commands, running a case and checking its outcome, and the counts:
`run(cases, seed)` returns them (scripts/fuzz/fuzz.py's hook adds them to its table), `counts` sums them
per kind, and `main` prints a table of outcomes per input kind.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
import zipfile

import numpy as np

from scripts.fuzz.library_cases import (  # noqa: F401 - re-exported for tests/scripts/test_library_fuzz.py
    CATALOG_KINDS, CLASSIFIER_KINDS, DIM, KINDS, _make_bomb, _pick, _write, c_bitflip, c_bytes, c_foreign, c_loose,
    c_meta, c_odd, c_ok, c_rows, c_truncated, k_bitflip, k_bomb, k_bytes, k_members, k_npy, k_ok, k_pickle,
    k_truncated,
)

MEM_LIMIT = 64 << 20  # traced peak per case; a decompressed bomb (>= 96 MB declared) cannot fit
SLOW_S = 30.0  # per case, untraced
EXITS = {0, 1, 3}  # documented statuses a command can end with on bad input (2 is a bad command line)
LABELS = ("calm", "loud")


def _fingerprint(path: str):
    try:
        with open(path, "rb") as f:
            return f.read(), os.stat(path).st_mtime_ns
    except (IsADirectoryError, FileNotFoundError):
        return None


# -- seeds ---------------------------------------------------------------------------------------------------
class Seeds:
    """The unmodified inputs, made once: catalog bytes, classifier bytes, the labelled folder, an empty folder."""

    def __init__(self, root: str):
        from muzip.cli.library_cmds import _embedder
        from muzip.library import classify as C
        from muzip.library.catalog import Catalog
        self.root = root
        self.embedder = _embedder()[1]
        rng = np.random.default_rng(12345)
        self.labelled = os.path.join(root, "labelled")
        self.empty = os.path.join(root, "empty")
        os.makedirs(self.empty)
        records, labels = [], []
        centers = rng.standard_normal((3, DIM))
        for k, label in enumerate(LABELS):
            os.makedirs(os.path.join(self.labelled, label))
            for i in range(4):
                path = os.path.join(self.labelled, label, f"{label}{i}.mz")
                _write(path, b"not really a .mz file " * (i + 1))
                st = os.stat(path)
                records.append((path, st.st_size, st.st_mtime, centers[k]))
                labels.append(label)
        for i in range(8):
            records.append((f"/lib/{'xyz'[i % 3]}/t{i}.mz", 1000 + i, 0.0, centers[i % 3]))
            labels.append(LABELS[i % 2])
        emb = np.stack([c + 0.4 * rng.standard_normal(DIM) for *_, c in records])
        emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype("<f4")
        self.paths = [r[0] for r in records]
        self.emb = emb
        db = os.path.join(root, "seed.db")
        with Catalog(db) as cat:
            cat.put_many([{"path": p, "size": size, "mtime": mtime, "duration": 60.0, "rate": 44100, "channels": 2,
                           "tags": {"title": os.path.basename(p)}, "model": "muzip-v1", "source": "mz", "dim": DIM,
                           "embedding": e.tobytes()} for (p, size, mtime, _), e in zip(records, emb)], self.embedder)
        with open(db, "rb") as f:
            self.catalog = f.read()
        clf = io.BytesIO()
        C.save(C.train(emb, labels, self.embedder), clf, {"cv": {}, "counts": {}})
        self.classifier = clf.getvalue()
        with zipfile.ZipFile(io.BytesIO(self.classifier)) as z:
            self.members = {i.filename: z.read(i) for i in z.infolist()}
        self.bombs = {}

    def bomb(self, kind: str) -> bytes:
        """A classifier .npz of zeros declaring a large array, made once per run (deflated: a few kB)."""
        if kind not in self.bombs:
            self.bombs[kind] = _make_bomb(kind, self.members)
        return self.bombs[kind]


# Commands on a catalog, weighted: map and train are the slow ones.
CATALOG_COMMANDS = ["similar", "similar", "similar-json", "cluster", "cluster-json", "predict", "predict-json",
                    "index", "index-prune", "train", "map"]


def _catalog_command(rng, name: str, s: Seeds, db: str, clf: str, out: str) -> list[str]:
    query = _pick(rng, s.paths + ["/nowhere/missing.mz"]) if name != "ok" else _pick(rng, s.paths)
    return {"similar": ["similar", query, "--db", db],
            "similar-json": ["similar", query, "--db", db, "--json", "-n", str(int(rng.integers(1, 30)))],
            "cluster": ["cluster", "--db", db],
            "cluster-json": ["cluster", "--db", db, "--json"],
            "predict": ["classify", "predict", clf, "--db", db, "-q"],
            "predict-json": ["classify", "predict", clf, "--db", db, "--json", "-q"],
            "index": ["index", s.empty, "--db", db, "-q", "-j", "1"],
            "index-prune": ["index", s.empty, "--db", db, "-q", "-j", "1", "--prune", "--json"],
            "train": ["classify", "train", s.labelled, "-o", out, "--db", db, "-j", "1", "--json", "-q"],
            "map": ["map", "--db", db, "-o", out, "--color", _pick(rng, ["cluster", "folder"])]}


# -- running a case ------------------------------------------------------------------------------------------------
def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} in JSON output")
    return json.loads(text, parse_constant=refuse)


def _whole_classifier(args, out: str) -> bool:
    """`classify train` exits 1 when some files could not be embedded and trains on the rest, like a batch:
    its output is then a whole classifier, not a partial one."""
    from muzip.library import classify as C
    if args[:2] != ["classify", "train"]:
        return False
    try:
        C.load(out)
        return True
    except C.ClassifierError:
        return False


def _whole_map(args, out: str, err: list[str]) -> bool:
    """`map` exits 1 when it left tracks out (each named) and draws the others: a whole picture of those."""
    if args[0] != "map" or not any(line.endswith("; left out") for line in err):
        return False
    with open(out, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def _check(result, args, inputs, before, out, out_existed, case_dir, writer: bool) -> tuple[str, str]:
    """(outcome, detail) of one finished command."""
    import traceback
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
        return "FAIL-exception", f"{type(exc).__name__}: {exc} | {tb!r}"
    code = result.exit_code
    if code not in EXITS:
        return "FAIL-exit", f"exit {code}: {result.stderr[-300:]!r}"
    err = result.stderr.splitlines()
    if "Traceback" in result.output or "internal error" in result.output:
        return "FAIL-message", result.stderr[-300:]
    strays = [line for line in err if not line.startswith("muzip: ")
              and not (args[0] == "map" and line.startswith(f"{out}: "))]  # map's summary line
    if strays or (code != 0 and not err):
        return "FAIL-message", f"exit {code}, stderr {result.stderr[-300:]!r}"
    for path, fp in zip(inputs, before):
        if fp is not None and _fingerprint(path) != fp and not (writer and code == 0):
            return "FAIL-changed", f"{os.path.basename(path)} changed (exit {code})"
    if os.path.exists(os.path.join(case_dir, "UNPICKLED")):
        return "FAIL-unpickled", "an object array was unpickled"
    left = [n for n in os.listdir(case_dir) if n.endswith((".part", ".tmp", ".tmp.png"))]
    if left or (code != 0 and not out_existed and os.path.exists(out) and not _whole_classifier(args, out)
                and not _whole_map(args, out, err)):
        return "FAIL-output", f"left behind: {left or [os.path.basename(out)]}"
    if "--json" in args and result.stdout.strip():
        try:
            for line in result.stdout.splitlines():
                _strict_json(line)
        except ValueError as e:
            return "FAIL-json", f"{e}: {result.stdout[:200]!r}"
    return ("ok", "") if code == 0 else ("muzip-error", err[-1][:200])


def run_case(i: int, seed: int, s: Seeds, work: str, traced: bool = True) -> dict:
    """Build case i and run its command; -> {"case", "kind", "command", "note", "outcome", "error", "seconds", "peak"}."""
    from click.testing import CliRunner

    from muzip.cli import cli
    rng = np.random.default_rng([seed, i])
    kind = _pick(rng, KINDS)
    case_dir = os.path.join(work, f"case{i}")
    os.makedirs(case_dir)
    db, clf, out = (os.path.join(case_dir, n) for n in ("lib.db", "genre.npz", "out.png"))
    if kind in CATALOG_KINDS:
        note = CATALOG_KINDS[kind](rng, s, db)
        _write(clf, s.classifier)
        command = _pick(rng, CATALOG_COMMANDS)
        args = _catalog_command(rng, "ok" if kind == "catalog-ok" else kind, s, db, clf, out)[command]
        if command == "train":
            out = os.path.join(case_dir, "out.npz")
            args[args.index("-o") + 1] = out
    else:
        _write(db, s.catalog)
        note = CLASSIFIER_KINDS[kind](rng, s, clf, case_dir)
        command = _pick(rng, ["predict", "predict-json", "map-label"])
        args = {"predict": ["classify", "predict", clf, "--db", db, "-q"],
                "predict-json": ["classify", "predict", clf, "--db", db, "--json", "-q"],
                "map-label": ["map", "--db", db, "-o", out, "--color", "label", "--classifier", clf]}[command]
    if rng.random() < 0.1 and args[0] == "map":  # an output that exists already: refused without -f
        _write(out, b"existing")
        if rng.random() < 0.5:
            args.append("-f")
    inputs = [db, clf]
    before = [_fingerprint(p) for p in inputs]
    existing = _fingerprint(out)
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, args)
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    outcome, error = _check(result, args, inputs, before, out, existing is not None, case_dir,
                            writer=args[0] == "index")
    if outcome in ("ok", "muzip-error") and existing is not None and "-f" not in args and _fingerprint(out) != existing:
        outcome, error = "FAIL-changed", "an existing output was replaced without -f"
    if outcome in ("ok", "muzip-error"):
        if peak > MEM_LIMIT:
            outcome, error = "FAIL-memory", f"traced peak {peak >> 20} MiB"
        elif seconds > SLOW_S:
            outcome, error = "FAIL-slow", f"{seconds:.1f} s"
        elif kind in ("catalog-ok", "clf-ok") and outcome != "ok" and existing is None:
            outcome, error = "FAIL-mismatch", f"an unmodified seed failed: {error}"
    shutil.rmtree(case_dir, ignore_errors=True)
    return {"case": i, "kind": kind, "command": " ".join(a.replace(work, "W") for a in args[:2]), "note": note,
            "outcome": outcome, "error": error, "seconds": round(seconds, 3), "peak": peak}


def _warm_up(s: Seeds, work: str):
    """Import what the commands import (sklearn, matplotlib...) before memory is traced."""
    from click.testing import CliRunner

    from muzip.cli import cli
    db = os.path.join(work, "warm.db")
    _write(db, s.catalog)
    clf = os.path.join(work, "warm.npz")
    _write(clf, s.classifier)
    for args in (["cluster", "--db", db], ["map", "--db", db, "-o", os.path.join(work, "warm.png")],
                 ["classify", "predict", clf, "--db", db], ["similar", s.paths[0], "--db", db],
                 ["classify", "train", s.labelled, "-o", os.path.join(work, "warm.clf"), "--db", db, "-j", "1", "-q"]):
        CliRunner().invoke(cli, args)


def run(cases: int, seed: int, only: int | None = None, progress=None) -> dict:
    """Cases 0..cases-1 (or just `only`). -> {"cases", "seed", "kinds": {kind: {outcome: n}}, "classes":
    {outcome: n}, "failures": [{"case", "kind", "command", "note", "outcome", "error"}], "slowest", "peak_bytes",
    "wall_s"}; outcomes "ok" and "muzip-error" are passes, "FAIL-*" failures."""
    import warnings
    t_start = time.perf_counter()
    summary = {"cases": 0, "seed": seed, "kinds": {}, "classes": {}, "failures": [], "slowest": [], "peak_bytes": 0}
    work = tempfile.mkdtemp(prefix="muzip-library-fuzz-")
    tracing = tracemalloc.is_tracing()  # someone else's: paused while the cases run, then started again
    if tracing:
        tracemalloc.stop()
    try:
        s = Seeds(work)
        _warm_up(s, work)
        with warnings.catch_warnings():
            warnings.simplefilter("always")  # a warning printed by a command is a finding, every time
            for i in [only] if only is not None else range(cases):
                res = run_case(i, seed, s, work)
                if res["outcome"] == "FAIL-slow":  # tracing slows Python code several-fold: time it untraced
                    res = {**run_case(i, seed, s, work, traced=False), "peak": res["peak"]}
                summary["cases"] += 1
                kind, outcome = res["kind"], res["outcome"]
                summary["kinds"].setdefault(kind, {}).setdefault(outcome, 0)
                summary["kinds"][kind][outcome] += 1
                summary["classes"][outcome] = summary["classes"].get(outcome, 0) + 1
                summary["peak_bytes"] = max(summary["peak_bytes"], res["peak"])
                summary["slowest"] = sorted(summary["slowest"] + [res], key=lambda r: -r["seconds"])[:5]
                if outcome not in ("ok", "muzip-error"):
                    summary["failures"].append({k: res[k] for k in ("case", "kind", "command", "note", "outcome", "error")})
                if progress and (i + 1) % 100 == 0:
                    progress(i + 1, time.perf_counter() - t_start)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        if tracing:
            tracemalloc.start()
        shutil.rmtree(work, ignore_errors=True)
    summary["wall_s"] = round(time.perf_counter() - t_start, 1)
    return summary


def counts(cases: int, seed: int) -> dict:
    """{kind: {"cases", "ok", "muzip-error", "failures"}} and a "total" row: the numbers of main's table."""
    res = run(cases, seed)
    out = {}
    for kind, by in sorted(res["kinds"].items()):
        out[kind] = {"cases": sum(by.values()), "ok": by.get("ok", 0), "muzip-error": by.get("muzip-error", 0),
                     "failures": sum(n for o, n in by.items() if o not in ("ok", "muzip-error"))}
    out["total"] = {k: sum(row[k] for row in out.values()) for k in ("cases", "ok", "muzip-error", "failures")}
    return out


def table(summary: dict) -> list[str]:
    width = max([len(k) for k in summary["kinds"]] + [5])
    lines = [f"  {'kind':<{width}}  {'cases':>6}  {'ok':>6}  {'error':>6}  {'FAIL':>6}"]
    tot = [0, 0, 0, 0]
    for kind in KINDS:
        by = summary["kinds"].get(kind)
        if not by:
            continue
        row = [sum(by.values()), by.get("ok", 0), by.get("muzip-error", 0)]
        row.append(row[0] - row[1] - row[2])
        tot = [a + b for a, b in zip(tot, row)]
        lines.append(f"  {kind:<{width}}  " + "  ".join(f"{n:>6}" for n in row))
    lines.append(f"  {'total':<{width}}  " + "  ".join(f"{n:>6}" for n in tot))
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--case", type=int, default=None, help="run only this case (replay a failure)")
    ap.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    args = ap.parse_args(argv)

    def progress(done, elapsed):
        print(f"  {done} cases, {elapsed:.0f} s", file=sys.stderr)
    summary = run(args.cases, args.seed, args.case, progress)
    print(f"library inputs: {summary['cases']} cases (seed {args.seed}) in {summary['wall_s']:.0f} s; "
          f"peak traced memory per case {summary['peak_bytes'] / 2**20:.1f} MiB")
    print("\n".join(table(summary)))
    print("slowest: " + ", ".join(f"case {r['case']} ({r['kind']}, {r['command']}) {r['seconds']:.2f} s"
                                  for r in summary["slowest"][:3]))
    for f in summary["failures"][:50]:
        print(f"FAIL case {f['case']} ({f['kind']}: {f['note']}; {f['command']}): {f['outcome']}: {f['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
