"""The fuzzer's report for scripts/fuzz/fuzz.py: the table of outcomes per case kind and model (and the
library's kinds), and the lines main() prints after a run (per-model totals, the slowest calls, failures).
"""

from __future__ import annotations


def _cell(counts: dict) -> str:
    ok, err = counts.get("ok", 0), counts.get("muzip-error", 0)
    return f"{ok}/{err}/{sum(counts.values()) - ok - err}"


def table(result: dict) -> list[str]:
    """Lines: one row per case kind, one column per model (and the library's kinds below): ok/muzip-error/FAIL."""
    columns = dict(result["models"])
    lib = result.get("library")
    kinds = sorted({k for s in columns.values() for k in s["kinds"]})
    width = max([len(k) for k in kinds] + [len("library: ") + len(k) for k in (lib or {}).get("kinds", {})] + [5])
    colw = max([len(n) for n in columns] + [12])
    lines = ["cases ok/muzip-error/FAIL per kind and model:",
             f"  {'kind':<{width}}  " + "  ".join(f"{n:>{colw}}" for n in columns)]
    for kind in kinds:
        lines.append(f"  {kind:<{width}}  " + "  ".join(f"{_cell(s['kinds'].get(kind, {})):>{colw}}"
                                                        for s in columns.values()))
    lines.append(f"  {'total':<{width}}  " + "  ".join(f"{_cell(s['classes']):>{colw}}" for s in columns.values()))
    if lib is not None:
        for kind, counts in sorted(lib["kinds"].items()):
            lines.append(f"  {'library: ' + kind:<{width}}  {_cell(counts):>{colw}}")
        lines.append(f"  {'library total':<{width}}  {_cell(lib['classes']):>{colw}}")
    else:
        lines.append("  (library inputs not fuzzed: scripts/fuzz/library_fuzz.py absent, --no-library, or one --case)")
    return lines


def report(result: dict, cases: int, seed: int, seconds: float) -> list[str]:
    """Lines for run_all()'s result: the case count and time, the table, each model's totals and bounds, the
    slowest calls, and the first 50 failures."""
    total = sum(s["cases"] for s in result["models"].values())
    lines = [f"{total} cases ({cases} per model, seed {seed}) in {seconds:.0f} s"]
    lines += table(result)
    for name, s in result["models"].items():
        lines.append(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(s["classes"].items()))
                     + f"; worst s/MB on inputs >= 100 kB {s['worst_s_per_mb_large']:.3f}; peak traced memory per "
                     f"call {s['peak_bytes'] / 2**20:.1f} MiB (worst {100 * s['worst_mem_ratio']:.0f}% of its bound); "
                     f"{s['wall_s']:.0f} s")
    lines.append("slowest calls:")
    slowest = sorted((e for s in result["models"].values() for e in s["slowest"]), key=lambda e: -e["seconds"])
    for e in slowest[:5]:
        lines.append(f"  {e['model']} case {e['case']} ({e['kind']}, {e['seed']}, {e['size']} bytes) {e['call']}: "
                     f"{e['seconds']:.3f} s, {e['s_per_mb']:.2f} s/MB")
    for f in result["failures"][:50]:
        lines.append(f"FAIL {f.get('model', '?')} case {f.get('case')} ({f.get('kind')}, {f.get('seed', '-')}): "
                     f"{f.get('call', '-')}: {f.get('outcome')}: {f.get('error')}")
    return lines
