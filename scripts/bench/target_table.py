"""Issue 24's quality targets, read from the rd_bench runs (docs/rd_results.json, docs/rd_results-band.json):
the measured model against Opus's measured points (the lowest actual bitrate at or above muzip's, never
interpolated) at 12-64 kbps, and against a reference model (muzip-v2.1) at every rate, on the six measures
a listener would check. Prints a markdown table per set and, per set, every cell where the model is behind.

    python -m scripts.bench.target_table [--reference muzip-v2.1] [--results docs/rd_results.json ...]
"""

import argparse
import json
from pathlib import Path

from scripts.bench.rd_listening import nearest_at_or_above

ROOT = Path(__file__).resolve().parents[2]
# (key, label, higher is better, format)
MEASURES = (("visqol", "ViSQOL", True, ".3f"), ("mel", "mel", False, ".3f"), ("lsd_low_db", "fine LSD", False, ".2f"),
            ("tonality_error", "tonality error", False, ".3f"), ("pre_attack_db", "pre-attack dB", False, "+.1f"),
            ("rise_db", "rise dB", True, ".1f"))
OPUS_RATES = (12, 16, 24, 32, 48, 64)


def cells(point) -> str:
    return " / ".join("n/a" if point.get(k) is None else format(point[k], f) for k, _, _, f in MEASURES)


def behind(mine, theirs) -> list[str]:
    """Labels of the measures on which `mine` is worse than `theirs` (ties are not behind)."""
    out = []
    for key, label, higher, fmt in MEASURES:
        a, b = mine.get(key), theirs.get(key)
        if a is None or b is None:
            continue
        a, b = float(format(a, fmt)), float(format(b, fmt))  # as printed: a tie in the table is a tie
        if (a < b) if higher else (a > b):
            out.append(f"{label} {format(mine[key], fmt)} vs {format(theirs[key], fmt)}")
    return out


def report(path: Path, reference: str) -> list[str]:
    data = json.loads(path.read_text())
    res, name = data["results"], data["model"].split("`")[1]
    label = "band" if "band" in path.name else "validation"
    lines = [f"### {label} ({path.name}; {name})", "",
             f"| kbps | {name} | {reference} | Opus (measured point) |", "|---:|---|---|---|"]
    gaps = []
    refs = {p["target"]: p for p in res.get(reference, [])}
    for p in res["muzip"]:
        opus = nearest_at_or_above(res["opus"], p["kbps"]) if p["target"] in OPUS_RATES else None
        ref = refs.get(p["target"])
        lines.append(f"| {p['target']:g} | {cells(p)} | {cells(ref) if ref else 'n/a'} | "
                     + (f"{cells(opus)} ({opus['kbps']:.2f})" if opus else "n/a") + " |")
        if opus:
            gaps += [f"{label} {p['target']:g} kbps, behind Opus: {b}" for b in behind(p, opus)]
        if ref:
            gaps += [f"{label} {p['target']:g} kbps, behind {reference}: {b}" for b in behind(p, ref)]
    return lines + ["", f"Measures: {' / '.join(m[1] for m in MEASURES)}.", ""] + [f"- {g}" for g in gaps] + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reference", default="muzip-v2.1")
    ap.add_argument("--results", nargs="+", default=["docs/rd_results.json", "docs/rd_results-band.json"])
    args = ap.parse_args()
    for path in args.results:
        print("\n".join(report((ROOT / path).resolve(), args.reference)))


if __name__ == "__main__":
    main()
