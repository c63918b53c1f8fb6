"""The rate-distortion benchmark's comparison and outputs: equal-bitrate verdicts, RD.md and rd.png.

Split from scripts/bench/rd_bench.py (which measures); everything here works on its result dicts:
points = [dict(codec, target, kbps, visqol, mel, snr, enc_x, dec_x, delays, lost, rates, the listening measures of
rd_listening.point_measures, excerpts), ...] per codec. Comparisons: interpolated (compare, verdict) and against
measured points (rd_listening.measured_rows), side by side; the listening tables come from rd_listening.
"""

import datetime
import math
import os
import platform
from pathlib import Path

import numpy as np

from scripts.bench.rd_listening import fnum, listening_section, measured_rows, measured_verdict

ROOT = Path(__file__).resolve().parents[2]
COMPARE_LO, COMPARE_HI = 16, 64     # muzip points (target kbps) compared at equal actual bitrate
SR = 44100
CODEC_LABELS = {"muzip": "muzip", "mp3": "MP3 (LAME CBR)", "opus": "Opus (libopus CBR)",
                "vorbis": "Vorbis (libvorbis)", "seed": "seed design (PCA 4x, float32)"}
STYLE = {"muzip": ("C3", "o"), "mp3": ("C0", "s"), "opus": ("C2", "^"), "vorbis": ("C1", "D"), "seed": ("k", "*")}
# other muzip models measured in the same run (--reference), in the order given
REFERENCE_STYLES = (("C4", "v"), ("C5", "P"), ("C6", "X"), ("C7", "<"))


# ---------------------------------------------------------------- rate-distortion interpolation

def interp_log(points, kbps):
    """Value at ``kbps`` interpolated linearly in log(bitrate) between the two neighbouring measured points.

    points: iterable of (kbps, value); values that are None are ignored. Returns None outside the measured range
    (no extrapolation) or with no usable points; an exact match returns that point's value."""
    pts = sorted((float(k), float(v)) for k, v in points if v is not None and k is not None and k > 0
                 and math.isfinite(v))
    if not pts or kbps is None or not (pts[0][0] <= kbps <= pts[-1][0]):
        return None
    for k, v in pts:
        if k == kbps:
            return v
    for (k0, v0), (k1, v1) in zip(pts, pts[1:]):
        if k0 < kbps < k1:
            t = (math.log(kbps) - math.log(k0)) / (math.log(k1) - math.log(k0))
            return v0 + t * (v1 - v0)
    return None


def bracket(points, kbps):
    """The two measured bitrates :func:`interp_log` interpolates between at ``kbps`` ((k, k) on an exact match),
    or None outside the measured range."""
    ks = sorted({float(k) for k, v in points if v is not None and k is not None and k > 0 and math.isfinite(v)})
    if not ks or kbps is None or not (ks[0] <= kbps <= ks[-1]):
        return None
    if kbps in ks:
        return kbps, kbps
    return next((k0, k1) for k0, k1 in zip(ks, ks[1:]) if k0 < kbps < k1)


def compare(muzip_pts, base_pts, metric, higher_better, lo=COMPARE_LO, hi=COMPARE_HI):
    """Rows for the muzip points with COMPARE_LO <= target <= COMPARE_HI: dict(target, kbps, muzip, base, diff,
    better, dominated). diff = muzip - baseline (interpolated at muzip's actual kbps); None when out of range.
    ``dominated``: out of the baseline's range *below* it, and muzip beats the baseline's lowest-rate point although
    that point uses more bits (a win without extrapolation, assuming quality does not fall with bitrate)."""
    rows = []
    curve = [(p["kbps"], p[metric]) for p in base_pts]
    for p in muzip_pts:
        if not (lo <= p["target"] <= hi):
            continue
        base = interp_log(curve, p["kbps"])
        diff = None if base is None or p[metric] is None else p[metric] - base
        better = None if diff is None else (diff > 0 if higher_better else diff < 0)
        dominated = False
        usable = [(k, v) for k, v in curve if v is not None]
        if base is None and usable and p[metric] is not None:
            k0, v0 = min(usable)
            if p["kbps"] <= k0 and (p[metric] > v0 if higher_better else p[metric] < v0):
                dominated = True
        rows.append(dict(target=p["target"], kbps=p["kbps"], muzip=p[metric], base=base, diff=diff,
                         better=better, dominated=dominated, between=bracket(curve, p["kbps"])))
    return rows


def verdict(rows, base_label, metric_label, lo=COMPARE_LO, hi=COMPARE_HI):
    """'muzip beats X at every point from 16 to 64 kbps on M: yes/no (...)'."""
    fails = [r for r in rows if r["better"] is False]
    na = [r for r in rows if r["better"] is None and not r["dominated"]]
    dom = [r for r in rows if r["better"] is None and r["dominated"]]
    if fails or not rows:
        answer = "**no**"
    elif na:
        answer = "**undetermined** (no point lost, but not every point is comparable)"
    else:
        answer = "**yes**"
    head = f"muzip beats {base_label} at every point from {lo:g} to {hi:g} kbps on {metric_label}: "
    parts = []
    if fails:
        parts.append("fails at " + ", ".join(f"{r['target']} kbps ({r['diff']:+.3f})" for r in fails))
    if na:
        parts.append("not comparable (outside its measured range) at " + ", ".join(f"{r['target']} kbps" for r in na))
    if dom:
        parts.append("below its lowest measured rate at " + ", ".join(f"{r['target']} kbps" for r in dom)
                     + ", where muzip uses fewer bits and still scores better than its lowest point (counted as a win)")
    if not rows:
        parts.append("no muzip points in range")
    return head + answer + (f" ({'; '.join(parts)})" if parts else "")


def gap_summary(rows, base_label, metric_label):
    d = [r["diff"] for r in rows if r["diff"] is not None]
    if not d:
        return f"Gap to {base_label} on {metric_label}: not comparable at any point."
    return (f"Gap to {base_label} on {metric_label} (muzip − {base_label}, {len(d)} comparable point(s)): "
            f"mean {np.mean(d):+.3f}, range {min(d):+.3f} … {max(d):+.3f}.")


# ---------------------------------------------------------------- outputs

def plot(path, results, title):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullLocator

    fig = Figure(figsize=(14, 5.8), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = (("visqol", "ViSQOL v3 MOS-LQO (audio mode, 48 kHz) — higher is better"),
              ("mel", "multi-scale mel distance (DAC) — lower is better"))
    all_k = []
    references = [name for name in results if name not in STYLE]
    styles = {**STYLE, **{name: REFERENCE_STYLES[i % len(REFERENCE_STYLES)] for i, name in enumerate(references)}}
    for ax, (metric, ylabel) in zip(axes, panels):
        for name, pts in results.items():
            pts = [p for p in pts if p[metric] is not None]
            if not pts:
                continue
            pts = sorted(pts, key=lambda p: p["kbps"])
            color, marker = styles[name]
            ks, vs = [p["kbps"] for p in pts], [p[metric] for p in pts]
            all_k += ks
            ax.plot(ks, vs, color=color, marker=marker, markersize=12 if marker == "*" else 6,
                    linestyle="-" if len(pts) > 1 else "none", label=f"{CODEC_LABELS.get(name, name)}")
        ax.axvspan(COMPARE_LO, COMPARE_HI, color="0.93", zorder=0, label=f"equal-bitrate comparison {COMPARE_LO}–{COMPARE_HI} kbps")
        ax.set_xscale("log")
        ticks = [t for t in (6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 705.6)
                 if all_k and min(all_k) / 1.3 <= t <= max(all_k) * 1.3]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel("actual bitrate, kbps (file bytes × 8 / duration; log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.35)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=9)
    fig.suptitle(title)
    fig.savefig(path, dpi=110, format="png")


def report(ctx):
    res, notes, args = ctx["results"], ctx["notes"], ctx["args"]
    L = []
    w = L.append
    w("# muzip rate–distortion benchmark")
    w("")
    w(f"Generated {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `scripts/bench/rd_bench.py`"
      f"{' --quick (smoke test: NOT the published numbers)' if args.quick else ''}. Re-run with `make bench` "
      "(runs `scripts/bench/bench.py`, then `scripts/bench/rd_bench.py`), or alone with `.venv/bin/python -m scripts.bench.rd_bench`.")
    w("")
    w(f"![rate–distortion curves]({ctx['png']})")
    w("")
    w(f"- Commit: `{ctx['commit']}`")
    w(f"- Model: {ctx['model_info']}")
    for ref in ctx["references"]:
        w(f"- Reference model, measured in the same run on the same excerpts and rates: {ctx['reference_info'][ref]}")
    w(f"- Machine: {len(os.sched_getaffinity(0))} CPU(s) available (nproc), {ctx['cpu']}; "
      f"Python {platform.python_version()}, {platform.system()} {platform.release()}; {ctx['ffmpeg_version']}")
    w(f"- Load average (1 min) at start / end: {ctx['load'][0]:.2f} / {ctx['load'][1]:.2f} "
      "(other work on the machine slows the speed figures down; quality figures do not depend on it)")
    w(f"- Total run time: {ctx['elapsed'] / 60:.1f} min")
    w("")

    # ---- verdicts
    w("## Verdicts (equal actual bitrate)")
    w("")
    mz = res.get("muzip")
    comps = {}
    if not mz:
        w("muzip was not measured (see the log); no verdicts.")
    else:
        for base in ("mp3", "opus", "vorbis"):
            if not res.get(base):
                continue
            comps[base] = {m: compare(mz, res[base], m, hb) for m, hb in (("visqol", True), ("mel", False))}
        label = {"mp3": "MP3", "opus": "Opus", "vorbis": "Vorbis"}
        for base, c in comps.items():
            w(f"- {verdict(c['visqol'], label[base], 'ViSQOL')}")
            w(f"- {verdict(c['mel'], label[base], 'mel distance')}")
            for metric, hb, metric_label in (("visqol", True, "ViSQOL"), ("mel", False, "mel distance")):
                c["measured_" + metric] = measured_rows(mz, res[base], metric, hb, COMPARE_LO, COMPARE_HI)
                w(f"- {measured_verdict(c['measured_' + metric], label[base], metric_label)}")
            if base == "opus":
                w(f"- {gap_summary(c['visqol'], 'Opus', 'ViSQOL')} Positive = muzip better.")
                w(f"- {gap_summary(c['mel'], 'Opus', 'mel distance')} Negative = muzip better.")
        for ref in ctx["references"]:  # another muzip model: compared at every rate both measured
            if res.get(ref):
                targets = [p["target"] for p in mz]
                for metric, hb, metric_label in (("visqol", True, "ViSQOL"), ("mel", False, "mel distance")):
                    rows = compare(mz, res[ref], metric, hb, min(targets), max(targets))
                    w(f"- {verdict(rows, ref, metric_label, min(targets), max(targets))}")
        for base in ("opus", "vorbis"):
            if base not in res:
                w(f"- {label[base]}: not measured ({notes.get(base, ['skipped'])[0]}).")
    w("")
    w(f"\"muzip beats\" verdicts and gaps: each muzip point with target {COMPARE_LO}–{COMPARE_HI} kbps is compared "
      "with each baseline interpolated linearly in log(actual bitrate) between the baseline's two neighbouring "
      "measured points, at muzip's actual bitrate. No extrapolation: outside a baseline's measured range the cell is "
      "n/a. A point below a baseline's lowest measured rate counts as a win only if muzip, with fewer bits, scores "
      "better than that lowest point. \"Against measured points\" lines use no interpolation: each muzip point "
      "against the baseline's measured point with the lowest actual bitrate at or above muzip's (the baseline "
      "spends at least as many bits). The tables below show both.")
    w("")

    # ---- comparison tables: interpolated and measured side by side
    if comps:
        w("## Equal-bitrate comparison")
        w("")
        w("Δ = muzip − baseline: positive ViSQOL Δ and negative mel Δ favour muzip. \"interp.\": the baseline "
          "interpolated at muzip's actual bitrate between the two measured points named; \"measured\": the baseline's "
          "measured point with the lowest actual bitrate at or above muzip's, not interpolated.")
        w("")
        for base, c in comps.items():
            w(f"### {CODEC_LABELS.get(base, base)}")
            w("")
            w("| muzip target | muzip kbps | interpolated between (kbps) | measured point (kbps) | muzip ViSQOL | "
              "interp. ViSQOL | Δ | measured ViSQOL | Δ | muzip mel | interp. mel | Δ | measured mel | Δ |")
            w("|---:|---:|---|---:|" + "---:|" * 10)
            for v, m, mv, mm in zip(c["visqol"], c["mel"], c["measured_visqol"], c["measured_mel"]):
                between = m["between"] or v["between"]
                between = "n/a" if between is None else f"{between[0]:.2f}–{between[1]:.2f}"
                at = "n/a" if mm["base_kbps"] is None else f"{mm['base_kbps']:.2f}"
                w(f"| {v['target']} | {v['kbps']:.2f} | {between} | {at} | {fnum(v['muzip'])} | {fnum(v['base'])} | "
                  f"{fnum(v['diff'], sign=True)} | {fnum(mv['base'])} | {fnum(mv['diff'], sign=True)} | "
                  f"{fnum(m['muzip'])} | {fnum(m['base'])} | {fnum(m['diff'], sign=True)} | {fnum(mm['base'])} | "
                  f"{fnum(mm['diff'], sign=True)} |")
            w("")

    # ---- per-codec tables
    w("## Results per codec")
    w("")
    w("Means over the excerpts. Actual kbps = encoded bytes × 8 / excerpt seconds / 1000 (container and headers "
      "included). ×RT = audio seconds / wall seconds (higher is faster).")
    w("")
    for name in ("muzip", *ctx["references"], "mp3", "opus", "vorbis", "seed"):
        w(f"### {CODEC_LABELS.get(name, name)}")
        w("")
        for n in notes.get(name, []):
            w(f"- Note: {n}")
        if notes.get(name):
            w("")
        pts = res.get(name)
        if not pts:
            w("Not measured.")
            w("")
            continue
        w("| target kbps | actual kbps | ViSQOL MOS-LQO | mel distance | SNR dB | compress ×RT | decompress ×RT | "
          "decoded rate Hz | delay found (samples) |")
        w("|---:|---:|---:|---:|---:|---:|---:|---|---|")
        for p in pts:
            tgt = "—" if p["target"] is None else f"{p['target']:g}"
            w(f"| {tgt} | {p['kbps']:.2f} | {fnum(p['visqol'])} | {fnum(p['mel'])} | {fnum(p['snr'], '.2f')} | "
              f"{p['enc_x']:.1f} | {p['dec_x']:.1f} | {', '.join(map(str, p['rates']))} | "
              f"{', '.join(map(str, p['delays']))} |")
        w("")

    L += listening_section(res, ctx["references"], CODEC_LABELS)

    # ---- speed summary
    w("## Speed")
    w("")
    w("Compress / decompress speed over all rates of a codec (total audio seconds / total wall seconds), and the "
      "slowest rate. Each call is the fastest of 2 runs; one warm-up encode+decode per codec is excluded.")
    w("")
    w("| codec | compress ×RT (all rates) | slowest compress ×RT | decompress ×RT (all rates) | slowest decompress ×RT | what is timed |")
    w("|---|---:|---:|---:|---:|---|")
    timed = {"muzip": "in-process `compress_array` / `decompress_bytes` (model loaded once)",
             "mp3": "in-process lameenc encode / libsndfile (mpg123) decode",
             "opus": "ffmpeg subprocess wall time incl. process start-up and piping (encode incl. 44.1→48 kHz resampling)",
             "vorbis": "ffmpeg subprocess wall time incl. process start-up and piping",
             "seed": "in-process numpy matrix products"}
    for name in ("muzip", *ctx["references"], "mp3", "opus", "vorbis", "seed"):
        pts = res.get(name)
        if not pts:
            continue
        # the per-point ×RT values share the same audio duration, so the harmonic mean is the aggregate
        enc = len(pts) / sum(1 / p["enc_x"] for p in pts)
        dec = len(pts) / sum(1 / p["dec_x"] for p in pts)
        w(f"| {CODEC_LABELS.get(name, name)} | {enc:.1f} | {min(p['enc_x'] for p in pts):.1f} | {dec:.1f} | "
          f"{min(p['dec_x'] for p in pts):.1f} | {timed.get(name, timed['muzip'])} |")
    w("")

    # ---- method
    w("## How it was measured")
    w("")
    source = ("`scripts/data/corpus.py` `split()`" if getattr(args, "set", "wesnoth") == "wesnoth" else
              f"the {args.set} set of `scripts/data/corpus.py` (`validation_set({args.set!r})`, docs/CORPUS.md)")
    w(f"- Audio: {len(ctx['excerpts'])} validation track(s) from {source} (never trained on), "
      f"the same excerpts as `scripts/bench/bench.py`: {args.seconds:g} s starting at {args.start:g} s, stereo 44.1 kHz float32:")
    for (path, x), s in zip(ctx["excerpts"], ctx["starts"]):
        w(f"  - `{os.path.relpath(path, ROOT)}` [{s:g} s, {s + len(x) / SR:g} s)")
    w("- muzip: `compress_array(audio, 44100, kbps, model=model)` / `decompress_bytes(data, model=model)`, in process.")
    w("- MP3: LAME via `lameenc`, CBR, quality 2, 16-bit input (LAME picks its output sample rate for low rates), "
      "decoded with libsndfile (mpg123); `bench.lame_encode` / `bench.lame_decode`.")
    w("- Opus: `ffmpeg -f f32le -ar 44100 -ac 2 -i pipe:0 -c:a libopus -b:a {k}k -vbr off -ar 48000 -f ogg pipe:1` "
      "(hard CBR; ffmpeg's swresample converts 44.1 → 48 kHz), decoded with `ffmpeg -f ogg -i pipe:0 -f f32le -ac 2 "
      "-ar 48000 pipe:1` (ffmpeg's Opus decoder, pre-skip applied), then resampled 48 → 44.1 kHz with soxr for the "
      "metrics. Actual kbps counts the whole Ogg Opus stream (headers and page overhead, ≈1 kbps at low rates).")
    w("- Vorbis: `ffmpeg … -c:a libvorbis -b:a {k}k -f ogg pipe:1` at 44.1 kHz. ffmpeg sets up libvorbis in managed "
      "mode with only the average given and then turns rate management off, so `-b:a` is a target for libvorbis's "
      "quality estimate and the actual rate follows the content; libvorbis also rejects average rates below its "
      "floor for stereo 44.1 kHz (`encoder setup failed`; ≈45 kbps here), so those rates are skipped (see the notes).")
    if ctx.get("seed_info"):
        si = ctx["seed_info"]
        w("- Seed design: waveform cut into 4-sample groups per channel; encoder = linear kernel-1 Conv1D 4 → 1 "
          "(one float32 per group), decoder = linear kernel-1 Conv1D 1 → 4; no bias, no quantisation, no entropy "
          f"coding. Bitrate 32 bits × 44100/4 groups/s × 2 channels = {si['kbps']:.1f} kbps. "
          "Weights fitted in closed form, per channel: the first principal component (uncentred: the audio is "
          "zero-mean and the layers have no bias) of the 4-sample groups of "
          f"{si['seconds']:.0f} s of training audio ({si['tracks']} training tracks of "
          "`split(packages=FIRST_CORPUS_PACKAGES)[0]`, "
          f"{si['each']:g} s each at offsets drawn with numpy seed {si['seed']}). This is the optimal "
          "linear kernel-1 autoencoder under squared error (Eckart–Young; Baldi & Hornik 1989), so no amount of "
          "training would improve this design. Fitted kernels: "
          + "; ".join(f"ch{c} [{', '.join(f'{v:.4f}' for v in row)}]" for c, row in enumerate(si["w"]))
          + f"; energy kept by the first component on the fit data: {si['energy']:.2%}.")
    w(f"- Every decoded signal is resampled to 44.1 kHz (soxr) if needed and aligned with `muzip.metrics.align` "
      f"(cross-correlation within ±{ctx['max_delay']} samples; compensates codec delay and padding); all metrics use the "
      "aligned, equal-length pair.")
    w("- ViSQOL: `muzip.evaluate.visqol_mos` — ViSQOL v3 MOS-LQO, audio mode, mono mixes resampled to 48 kHz "
      "(1–5, higher is better; identical signals ≈ 4.73). Mel: DAC's multi-scale mel distance "
      "(`muzip.metrics.mel_distance`, 7 scales, lower is better). SNR: `muzip.metrics.snr_db`. All means over tracks.")
    w("- Listening measures: `muzip.listening.listening_measures` on the same aligned pairs (docs/EVAL.md, \"Measures "
      "a listener would check\"). Every point, with its per-excerpt values, is also in the results JSON beside this "
      "file (`rd_results*.json`).")
    w("- Speed: audio seconds / wall seconds of the encode (decode) calls, summed over tracks, each call the "
      "fastest of 2 runs (deterministic codecs: the runs give the same bytes; this VM's speed drifts); one warm-up "
      "encode+decode per codec excluded. Resampling and metrics are not timed. ffmpeg times include process "
      "start-up (tens of ms per call), which weighs more on short excerpts.")
    w("")
    return "\n".join(L)


RD_MARKER = "<!-- rd_bench: appended by scripts/rd_bench.py -->"


def append_to_benchmarks(path, rd_text, model_name):
    """Put the equal-bitrate verdicts into BENCHMARKS.md too (replacing an earlier copy), so one
    document holds every target of the release; the full tables stay in RD.md."""
    if not path.exists():
        return
    keep = path.read_text().split(RD_MARKER)[0].rstrip()
    verdicts = rd_text.split("## Verdicts (equal actual bitrate)")[1].split("## Results per codec")[0]
    path.write_text(f"{keep}\n\n{RD_MARKER}\n## Rate–distortion of {model_name} against MP3, Opus and Vorbis (scripts/bench/rd_bench.py, same run)\n\n"
                    f"![rate–distortion curves](rd.png)\n\nViSQOL MOS-LQO and mel distance at equal actual bitrate; "
                    f"every codec's table, speeds and the seed design are in [RD.md](RD.md).\n\n### Verdicts"
                    f"{verdicts.rstrip()}\n")




if __name__ == "__main__":  # redraw a run's figure from its results file: python -m scripts.bench.rd_report RESULTS PNG
    import json
    import sys
    saved = json.loads(Path(sys.argv[1]).read_text())
    band = any("/band/" in e["path"] for e in saved["excerpts"])
    commit, name = saved["commit"], saved["model"].split("`")[1]
    CODEC_LABELS["muzip"] = f"muzip ({name})"
    plot(Path(sys.argv[2]), saved["results"],
         f"muzip rate–distortion — model {name}, "
         f"commit {commit[:12]}{' +uncommitted' if 'uncommitted' in commit else ''}; {len(saved['excerpts'])} "
         f"{'band ' if band else ''}track(s) × {saved['excerpts'][0]['seconds']:g} s")
