"""The rate-distortion benchmark's listening measures (muzip.listening: pre-echo, attack rise, noise before
music after silence, fine LSD below 8 kHz, tonality) and its comparisons against *measured* baseline points.

Split from scripts/bench/rd_bench.py (which calls :func:`excerpt_measures` and :func:`point_measures`) and
scripts/bench/rd_report.py (which adds :func:`listening_section` to RD.md); :func:`write_results` writes the
results JSON beside RD.md.
"""

import json
import math

import numpy as np

from muzip.listening import listening_measures

SR = 44100
BASELINES = (("mp3", "MP3"), ("opus", "Opus"), ("vorbis", "Vorbis"))
# (key in a point, table title, format); rise_loss_db = source_rise_db - rise_db
MEASURES = (
    ("pre_attack_db", "pre-attack level, dB (deg − ref in the 20…4 ms before each attack, 5–16 kHz; "
                      "0 = none, positive = pre-echo)", ".1f"),
    ("rise_loss_db", "attack rise lost, dB (source rise − decoded rise, 5–16 kHz; 0 = as sharp as the source, "
                     "positive = smeared or softened)", ".1f"),
    ("early_ms", "noise before music after digital silence, ms (worst gap; target ≤ 5)", ".1f"),
    ("lsd_low_db", "fine log-spectral distance below 8 kHz, dB (≈11 Hz bins; 0 = identical)", ".2f"),
    ("tonality_error", "tonality error 2–8 kHz (mean |flatness difference|; 0 = same tonality)", ".3f"),
)


def fnum(v, spec=".3f", sign=False):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return format(v, ("+" if sign else "") + spec)


# ---------------------------------------------------------------- measurement

def excerpt_measures(r, d, sr=SR):
    """The listening measures of one aligned (ref, deg) excerpt pair (muzip.listening.listening_measures)."""
    return listening_measures(r, d, sr)


def _weighted(per, key, weight):
    pairs = [(p[weight], p[key]) for p in per if p.get(key) is not None and p[weight]]
    n = sum(w for w, _ in pairs)
    return float(sum(w * v for w, v in pairs) / n) if n else None


def point_measures(per):
    """A codec point's measures from its excerpts' dicts: attacks and gaps summed; pre-attack and rises the
    mean over all attacks; early_ms the worst gap, mean_early_ms the mean over gaps; lsd_low_db and
    tonality_error the mean over excerpts (those with a value)."""
    out = dict(attacks=int(sum(p["attacks"] for p in per)), gaps=int(sum(p["gaps"] for p in per)))
    for key in ("pre_attack_db", "rise_db", "source_rise_db"):
        out[key] = _weighted(per, key, "attacks")
    out["rise_loss_db"] = None if out["rise_db"] is None else out["source_rise_db"] - out["rise_db"]
    early = [p["early_ms"] for p in per if p["early_ms"] is not None]
    out["early_ms"] = float(max(early)) if early else None
    out["mean_early_ms"] = _weighted(per, "mean_early_ms", "gaps")
    for key in ("lsd_low_db", "tonality_error"):
        vals = [p[key] for p in per if p[key] is not None]
        out[key] = float(np.mean(vals)) if vals else None
    return out


# ---------------------------------------------------------------- measured points

def nearest_at_or_above(points, kbps):
    """The measured point with the lowest actual bitrate >= ``kbps``, or None (above the codec's highest measured
    rate). Never interpolated; its values may be None (not measured, nothing to measure)."""
    usable = [p for p in points if p["kbps"] >= kbps]
    return min(usable, key=lambda p: p["kbps"]) if usable else None


def measured_rows(muzip_pts, base_pts, metric, higher_better, lo, hi):
    """Rows for the muzip points with lo <= target <= hi: dict(target, kbps, muzip, base_kbps, base, diff, better)
    against the nearest measured baseline point at or above muzip's actual bitrate."""
    rows = []
    for p in muzip_pts:
        if p["target"] is None or not (lo <= p["target"] <= hi):
            continue
        b = nearest_at_or_above(base_pts, p["kbps"])
        base = None if b is None else b.get(metric)
        diff = None if base is None or p.get(metric) is None else p[metric] - base
        rows.append(dict(target=p["target"], kbps=p["kbps"], muzip=p.get(metric), base_kbps=b and b["kbps"],
                         base=base, diff=diff,
                         better=None if diff is None else (diff > 0 if higher_better else diff < 0)))
    return rows


def measured_verdict(rows, base_label, metric_label):
    """'Against measured Opus points on ViSQOL: muzip better at 4 of 5 (worse at 16 kbps: ...)'."""
    cmp = [r for r in rows if r["better"] is not None]
    head = f"Against measured {base_label} points (nearest at or above muzip's bitrate) on {metric_label}: "
    if not cmp:
        return head + "no comparable point."
    text = head + f"muzip better at {sum(r['better'] for r in cmp)} of {len(cmp)}"
    worse = [r for r in cmp if not r["better"]]
    if worse:
        text += " (worse at " + ", ".join(f"{r['target']:g} kbps: muzip {fnum(r['muzip'])} at {r['kbps']:.2f} kbps vs "
                                          f"{fnum(r['base'])} at {r['base_kbps']:.2f} kbps" for r in worse) + ")"
    none = [r for r in rows if r["better"] is None]
    if none:
        text += "; no comparable measured point for " + ", ".join(f"{r['target']:g}" for r in none) + " kbps"
    return text + "."


# ---------------------------------------------------------------- RD.md section

def listening_section(res, references=(), labels=None):
    """Markdown lines: every codec's listening measures, then one table per measure at each muzip target against
    the nearest measured baseline point at or above muzip's actual bitrate."""
    L = ["## Measures a listener would check", "",
         "Defined in docs/EVAL.md (`muzip.listening`), on the same aligned excerpts as ViSQOL and mel; per point: "
         "attacks and gaps summed over the excerpts, pre-attack level and rises averaged over all attacks, the worst "
         "gap's early ms, LSD and tonality averaged over excerpts. Attacks are the reference's, so every codec is "
         "judged on the same ones. A codec that drops the 5–16 kHz band shows a very negative pre-attack level and a "
         "large rise loss: read the two together.", ""]
    w = L.append
    w("| codec | target kbps | actual kbps | attacks | pre-attack dB | rise dB | source rise dB | gaps | "
      "early ms (worst) | LSD < 8 kHz dB | tonality error |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("muzip", *references, "mp3", "opus", "vorbis", "seed"):
        for p in res.get(name) or []:
            if "attacks" not in p:
                continue
            tgt = "—" if p["target"] is None else f"{p['target']:g}"
            w(f"| {(labels or {}).get(name, name)} | {tgt} | {p['kbps']:.2f} | {p['attacks']} | "
              f"{fnum(p['pre_attack_db'], '.1f', True)} | {fnum(p['rise_db'], '.1f')} | {fnum(p['source_rise_db'], '.1f')} | {p['gaps']} | "
              f"{fnum(p['early_ms'], '.1f')} | {fnum(p['lsd_low_db'], '.2f')} | {fnum(p['tonality_error'])} |")
    w("")
    mz = [p for p in res.get("muzip") or [] if "attacks" in p]
    bases = [(b, label) for b, label in BASELINES if res.get(b)]
    if not mz or not bases:
        return L
    if not any(p["gaps"] for p in mz):
        w("The excerpts hold no digital silence of 100 ms or more followed by music: early ms is n/a throughout.")
        w("")
    w("Against the baselines' measured points: for each muzip target, the baseline point with the lowest actual "
      "bitrate at or above muzip's (its actual kbps in brackets), never interpolated; n/a above the baseline's "
      "highest measured rate.")
    w("")
    for key, title, spec in MEASURES:
        w(f"### {title}")
        w("")
        w("| muzip target | muzip kbps | muzip | " + " | ".join(label for _, label in bases) + " |")
        w("|---:|---:|---:|" + "---:|" * len(bases))
        for p in mz:
            cells = []
            for b, _ in bases:
                q = nearest_at_or_above(res[b], p["kbps"])
                cells.append("n/a" if q is None else f"{fnum(q.get(key), spec)} ({q['kbps']:.2f})")
            w(f"| {p['target']:g} | {p['kbps']:.2f} | {fnum(p[key], spec)} | " + " | ".join(cells) + " |")
        w("")
    return L


# ---------------------------------------------------------------- results JSON

def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (np.integer, np.floating)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None  # +inf SNR of identical signals, NaN: null
    return v


def write_results(path, ctx):
    """Every point (with its per-excerpt values) and the run's context as JSON; non-finite numbers are null."""
    doc = dict(commit=ctx["commit"], model=ctx["model_info"], references=ctx["reference_info"],
               ffmpeg=ctx["ffmpeg_version"], args=dict(vars(ctx["args"])),
               excerpts=[dict(path=str(p), start=s, seconds=len(x) / SR)
                         for (p, x), s in zip(ctx["excerpts"], ctx["starts"])],
               elapsed_s=ctx["elapsed"], notes=ctx["notes"], results=ctx["results"],
               seed=ctx.get("seed_info"))
    path.write_text(json.dumps(_plain(doc), indent=1, allow_nan=False) + "\n")
