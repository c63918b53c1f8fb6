"""Rate-distortion benchmark: muzip vs MP3 (LAME), Opus, Vorbis and the seed design; writes docs/RD.md + docs/rd.png.

    .venv/bin/python scripts/rd_bench.py            # full run (make bench, after scripts/bench.py), < ~35 min on 2 cores
    .venv/bin/python scripts/rd_bench.py --quick    # smoke test: 1 track x 10 s, fewer rates, writes to a temp dir

Audio: the same excerpts as scripts/bench.py (every validation track of scripts/corpus.py split(), 30 s from 30 s,
stereo 44.1 kHz). Every codec is run at a ladder of bitrates; the decoded audio is resampled to 44.1 kHz (soxr) when
the codec decodes at another rate, delay-compensated with muzip.metrics.align, and scored with ViSQOL v3 MOS-LQO
(muzip.evaluate.visqol_mos), DAC's multi-scale mel distance and SNR. Quality is compared at equal *actual* bitrate
(file bytes, container included) by interpolating each baseline linearly in log(bitrate), never extrapolating.

Codecs: muzip (shipped default model, loaded once, in process); LAME MP3 CBR (lameenc, in process, as bench.py);
Opus (ffmpeg libopus, hard CBR, Ogg) and Vorbis (ffmpeg libvorbis, Ogg), each an ffmpeg subprocess, skipped with a
note when ffmpeg is missing; the "seed design": a linear kernel-1 Conv1D autoencoder on 4-sample groups with a float32
bottleneck and no entropy coding, fitted in closed form (first principal component) on training audio.
"""

import argparse
import datetime
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from bench import (MAX_DELAY, SR, cpu_model, git_commit, lame_decode, lame_encode, muzip_codec,  # noqa: E402
                   read_excerpt, to_stereo_44k)

from muzip.metrics import align, mel_distance, snr_db  # noqa: E402

MUZIP_RATES = (6, 8, 12, 16, 24, 32, 48, 64, 96)
MP3_RATES = (16, 24, 32, 48, 64, 96, 128)
OPUS_RATES = (8, 12, 16, 24, 32, 48, 64)
VORBIS_RATES = (32, 48, 64, 96, 128)
QUICK_RATES = dict(muzip=(8, 16, 32, 64), mp3=(16, 32, 64), opus=(12, 32, 64), vorbis=(32, 64))
COMPARE_LO, COMPARE_HI = 16, 64     # muzip points (target kbps) compared at equal actual bitrate
OPUS_RATE = 48000                    # libopus codes (and ffmpeg decodes) at 48 kHz
SEED_GROUP = 4                       # samples per group of the seed design (4x bottleneck)
SEED_FIT_TRACKS, SEED_FIT_SECONDS, SEED_FIT_SEED = 8, 20.0, 0
CODEC_LABELS = {"muzip": "muzip", "mp3": "MP3 (LAME CBR)", "opus": "Opus (libopus CBR)",
                "vorbis": "Vorbis (libvorbis)", "seed": "seed design (PCA 4x, float32)"}
STYLE = {"muzip": ("C3", "o"), "mp3": ("C0", "s"), "opus": ("C2", "^"), "vorbis": ("C1", "D"), "seed": ("k", "*")}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- ffmpeg codecs (Ogg Opus / Ogg Vorbis)

class FFmpegError(RuntimeError):
    """ffmpeg exited non-zero (e.g. libvorbis rejecting a bitrate); the message is ffmpeg's stderr tail."""


def ffmpeg_path():
    return shutil.which("ffmpeg")


def _ffmpeg(args, data):
    exe = ffmpeg_path()
    if exe is None:
        raise FFmpegError("ffmpeg not found on PATH")
    p = subprocess.run([exe, "-nostdin", "-hide_banner", "-v", "error", *args], input=data, capture_output=True)
    if p.returncode != 0:
        raise FFmpegError(" ".join(p.stderr.decode(errors="replace").split())[-400:] or f"exit status {p.returncode}")
    return p.stdout


def ffmpeg_encode(x, codec_args, out_rate):
    """float32 (n, ch) at 44.1 kHz -> Ogg bytes (raw PCM piped in; ffmpeg resamples to out_rate if needed)."""
    x = np.asarray(x, np.float32)
    pcm = np.ascontiguousarray(x, "<f4").tobytes()
    return _ffmpeg(["-f", "f32le", "-ar", str(SR), "-ac", str(x.shape[1]), "-i", "pipe:0", *codec_args,
                    "-ar", str(out_rate), "-f", "ogg", "pipe:1"], pcm)


def ffmpeg_decode(data, rate, channels=2):
    raw = _ffmpeg(["-f", "ogg", "-i", "pipe:0", "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "pipe:1"], data)
    return np.frombuffer(raw, "<f4").reshape(-1, channels).copy(), rate


def opus_encode(x, kbps):
    return ffmpeg_encode(x, ["-c:a", "libopus", "-b:a", f"{kbps:g}k", "-vbr", "off"], OPUS_RATE)


def opus_decode(data):
    """-> (float32 (n, 2), 48000); ffmpeg applies the Ogg Opus pre-skip and end trimming."""
    return ffmpeg_decode(data, OPUS_RATE)


def vorbis_encode(x, kbps):
    return ffmpeg_encode(x, ["-c:a", "libvorbis", "-b:a", f"{kbps:g}k"], SR)


def vorbis_decode(data):
    return ffmpeg_decode(data, SR)


# ---------------------------------------------------------------- the seed design

class SeedCodec:
    """The seed design: waveform cut into 4-sample groups; encoder = linear kernel-1 Conv1D 4 -> 1 (one float32 per
    group), decoder = linear kernel-1 Conv1D 1 -> 4; per channel, no bias, no quantisation, no entropy coding.

    ``w`` is (channels, 4): row c is the encoder kernel of channel c and (transposed) its decoder kernel. Fitted by
    :meth:`fit` as the first principal component (uncentred; audio is zero-mean) of the channel's 4-sample groups,
    which is the optimal linear kernel-1 autoencoder under squared error (Eckart-Young / Baldi & Hornik 1989)."""

    def __init__(self, w):
        self.w = np.asarray(w, np.float32)
        if self.w.ndim != 2 or self.w.shape[1] != SEED_GROUP:
            raise ValueError(f"seed weights must be (channels, {SEED_GROUP}), got {self.w.shape}")

    @classmethod
    def fit(cls, audios):
        """audios: iterable of float (n, ch) arrays with the same channel count."""
        audios = [np.asarray(a, np.float64) for a in audios]
        ch = audios[0].shape[1]
        w = np.zeros((ch, SEED_GROUP))
        for c in range(ch):
            cov = np.zeros((SEED_GROUP, SEED_GROUP))
            for a in audios:
                g = a[: len(a) // SEED_GROUP * SEED_GROUP, c].reshape(-1, SEED_GROUP)
                cov += g.T @ g
            vals, vecs = np.linalg.eigh(cov)
            v = vecs[:, int(np.argmax(vals))]
            w[c] = v if v.sum() >= 0 else -v
        return cls(w)

    @staticmethod
    def bitrate_kbps(sample_rate=SR, channels=2):
        """Nominal rate: 32 bits per group, sample_rate / 4 groups per second, per channel."""
        return 32 * sample_rate / SEED_GROUP * channels / 1000.0

    def encode(self, x, kbps=None):
        """(n, ch) -> raw little-endian float32 bottleneck values, (groups, ch) row-major (zero-padded to 4)."""
        del kbps  # the seed design has a single rate
        x = np.asarray(x, np.float32)
        pad = (-len(x)) % SEED_GROUP
        if pad:
            x = np.concatenate([x, np.zeros((pad, x.shape[1]), np.float32)])
        groups = x.reshape(-1, SEED_GROUP, x.shape[1])            # (G, 4, ch)
        z = np.einsum("gkc,ck->gc", groups, self.w)                 # encoder Conv1D, kernel 1, 4 -> 1
        return np.ascontiguousarray(z, "<f4").tobytes()

    def decode(self, data):
        ch = self.w.shape[0]
        z = np.frombuffer(data, "<f4").reshape(-1, ch)
        y = np.einsum("gc,ck->gkc", z, self.w)                      # decoder Conv1D, kernel 1, 1 -> 4
        return y.reshape(-1, ch).astype(np.float32), SR


def seed_training_audio(train_files, tracks=SEED_FIT_TRACKS, seconds=SEED_FIT_SECONDS, seed=SEED_FIT_SEED):
    """A seeded sample of training audio: ``tracks`` files, a ``seconds`` excerpt of each at a random offset."""
    import soundfile as sf
    rng = np.random.default_rng(seed)
    files = list(train_files)
    picks = rng.choice(len(files), size=min(tracks, len(files)), replace=False)
    out, used = [], []
    for i in sorted(int(i) for i in picks):
        path = files[i]
        try:
            dur = sf.info(path).duration
            start = float(rng.uniform(0.0, max(0.0, dur - seconds)))
            x, s = read_excerpt(path, start, seconds)
        except Exception as exc:  # an unreadable training file: use the others
            log(f"  seed fit: skipping {path} ({exc})")
            continue
        out.append(x)
        used.append((path, s, len(x) / SR))
    if not out:
        raise SystemExit("seed design: no readable training audio")
    return out, used


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


def compare(muzip_pts, base_pts, metric, higher_better):
    """Rows for the muzip points with COMPARE_LO <= target <= COMPARE_HI: dict(target, kbps, muzip, base, diff,
    better, dominated). diff = muzip - baseline (interpolated at muzip's actual kbps); None when out of range.
    ``dominated``: out of the baseline's range *below* it, and muzip beats the baseline's lowest-rate point although
    that point uses more bits (a win without extrapolation, assuming quality does not fall with bitrate)."""
    rows = []
    curve = [(p["kbps"], p[metric]) for p in base_pts]
    for p in muzip_pts:
        if not (COMPARE_LO <= p["target"] <= COMPARE_HI):
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
                         better=better, dominated=dominated))
    return rows


def verdict(rows, base_label, metric_label):
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
    head = f"muzip beats {base_label} at every point from {COMPARE_LO} to {COMPARE_HI} kbps on {metric_label}: "
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


# ---------------------------------------------------------------- measurement

def measure(name, encode, decode, excerpts, rates, visqol, warmup=True):
    """Per-rate means over the excerpts. Returns (points, notes). A rate the encoder rejects (FFmpegError) is
    skipped with a note. Speed = total audio seconds / total wall seconds of the encode (decode) calls."""
    points, notes = [], []
    if warmup:  # graph building, caches, page cache for the ffmpeg binary: not timed
        x0 = excerpts[0][1]
        for kbps in reversed(rates):
            try:
                decode(encode(x0[: min(len(x0), 2 * SR)], kbps))
                break
            except FFmpegError:
                continue
    for kbps in rates:
        per = []
        try:
            for path, x in excerpts:
                dur = len(x) / SR
                t0 = time.perf_counter()
                data = encode(x, kbps)
                t1 = time.perf_counter()
                y, sr = decode(data)
                t2 = time.perf_counter()
                y = to_stereo_44k(y, sr)
                r, d, delay = align(x, y, MAX_DELAY)
                m = dict(kbps=len(data) * 8 / dur / 1000, snr=snr_db(r, d), mel=mel_distance(r, d, SR),
                         visqol=visqol(r, d) if visqol else None, enc_s=t1 - t0, dec_s=t2 - t1, dur=dur,
                         delay=delay, lost=len(x) - len(r), sr=sr)
                per.append(m)
                vq = "n/a" if m["visqol"] is None else f"{m['visqol']:.3f}"
                log(f"  {name:6s} {kbps:5g} kbps  {Path(path).stem:22s} actual {m['kbps']:7.2f} kbps  ViSQOL {vq:>5s}  "
                    f"mel {m['mel']:6.3f}  SNR {m['snr']:6.2f} dB  enc {dur / m['enc_s']:7.1f}x  "
                    f"dec {dur / m['dec_s']:7.1f}x  delay {delay}")
        except FFmpegError as exc:
            notes.append(f"{kbps:g} kbps rejected by ffmpeg: {exc}")
            log(f"  {name:6s} {kbps:5g} kbps  rejected: {exc}")
            continue
        total = sum(p["dur"] for p in per)
        vqs = [p["visqol"] for p in per]
        points.append(dict(
            codec=name, target=kbps, kbps=float(np.mean([p["kbps"] for p in per])),
            visqol=None if any(v is None for v in vqs) else float(np.mean(vqs)),
            mel=float(np.mean([p["mel"] for p in per])), snr=float(np.mean([p["snr"] for p in per])),
            enc_x=total / max(sum(p["enc_s"] for p in per), 1e-9), dec_x=total / max(sum(p["dec_s"] for p in per), 1e-9),
            delays=sorted({p["delay"] for p in per}), lost=max(p["lost"] for p in per),
            rates=sorted({p["sr"] for p in per})))
    return points, notes


def make_visqol(log_fn=log):
    """visqol(ref, deg) at 44.1 kHz, or None (with a log line) when visqol-python is missing."""
    from muzip.evaluate import have_visqol, visqol_mos
    if not have_visqol():
        log_fn("ViSQOL: visqol-python not installed; ViSQOL columns will be n/a")
        return None

    def visqol(r, d):
        try:
            return visqol_mos(r, d, SR)
        except ValueError as exc:  # shorter than ViSQOL's patches (~1 s)
            log_fn(f"  ViSQOL failed: {exc}")
            return None
    return visqol


# ---------------------------------------------------------------- outputs

def fnum(v, spec=".3f", sign=False):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, float) and math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return format(v, ("+" if sign else "") + spec)


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
    for ax, (metric, ylabel) in zip(axes, panels):
        for name, pts in results.items():
            pts = [p for p in pts if p[metric] is not None]
            if not pts:
                continue
            pts = sorted(pts, key=lambda p: p["kbps"])
            color, marker = STYLE.get(name, ("grey", "o"))
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
    w(f"Generated {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `scripts/rd_bench.py`"
      f"{' --quick (smoke test: NOT the published numbers)' if args.quick else ''}. Re-run with `make bench` "
      "(runs `scripts/bench.py`, then `scripts/rd_bench.py`), or alone with `.venv/bin/python scripts/rd_bench.py`.")
    w("")
    w(f"![rate–distortion curves]({ctx['png']})")
    w("")
    w(f"- Commit: `{ctx['commit']}`")
    w(f"- Model: {ctx['model_info']}")
    w(f"- Machine: {len(os.sched_getaffinity(0))} CPU(s) available (nproc), {cpu_model()}; "
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
            if base == "opus":
                w(f"- {gap_summary(c['visqol'], 'Opus', 'ViSQOL')} Positive = muzip better.")
                w(f"- {gap_summary(c['mel'], 'Opus', 'mel distance')} Negative = muzip better.")
        for base in ("opus", "vorbis"):
            if base not in res:
                w(f"- {label[base]}: not measured ({notes.get(base, ['skipped'])[0]}).")
    w("")
    w(f"Each muzip point with target {COMPARE_LO}–{COMPARE_HI} kbps is compared with each baseline interpolated "
      "linearly in log(actual bitrate) between the baseline's two neighbouring measured points, at muzip's actual "
      "bitrate. No extrapolation: outside a baseline's measured range the cell is n/a. A point below a baseline's "
      "lowest measured rate counts as a win only if muzip, with fewer bits, scores better than that lowest point.")
    w("")

    # ---- comparison table
    if comps:
        w("## Equal-bitrate comparison")
        w("")
        w("ΔViSQOL = muzip − baseline (positive: muzip better). Δmel = muzip − baseline (negative: muzip better). "
          "The baseline value is interpolated at muzip's actual bitrate.")
        w("")
        hdr = "| muzip target | muzip actual kbps | muzip ViSQOL | muzip mel |"
        sep = "|---:|---:|---:|---:|"
        for base in comps:
            hdr += f" {base} ViSQOL | ΔViSQOL vs {base} | {base} mel | Δmel vs {base} |"
            sep += "---:|---:|---:|---:|"
        w(hdr)
        w(sep)
        first = next(iter(comps.values()))
        for i, r in enumerate(first["visqol"]):
            row = f"| {r['target']} | {r['kbps']:.2f} | {fnum(r['muzip'])} | {fnum(first['mel'][i]['muzip'])} |"
            for c in comps.values():
                v, m = c["visqol"][i], c["mel"][i]
                row += (f" {fnum(v['base'])} | {fnum(v['diff'], sign=True)} | {fnum(m['base'])} | "
                        f"{fnum(m['diff'], sign=True)} |")
            w(row)
        w("")

    # ---- per-codec tables
    w("## Results per codec")
    w("")
    w("Means over the excerpts. Actual kbps = encoded bytes × 8 / excerpt seconds / 1000 (container and headers "
      "included). ×RT = audio seconds / wall seconds (higher is faster).")
    w("")
    for name in ("muzip", "mp3", "opus", "vorbis", "seed"):
        w(f"### {CODEC_LABELS[name]}")
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

    # ---- speed summary
    w("## Speed")
    w("")
    w("Compress / decompress speed over all rates of a codec (total audio seconds / total wall seconds), and the "
      "slowest rate. One warm-up encode+decode per codec is excluded.")
    w("")
    w("| codec | compress ×RT (all rates) | slowest compress ×RT | decompress ×RT (all rates) | slowest decompress ×RT | what is timed |")
    w("|---|---:|---:|---:|---:|---|")
    timed = {"muzip": "in-process `compress_array` / `decompress_bytes` (model loaded once)",
             "mp3": "in-process lameenc encode / libsndfile (mpg123) decode",
             "opus": "ffmpeg subprocess wall time incl. process start-up and piping (encode incl. 44.1→48 kHz resampling)",
             "vorbis": "ffmpeg subprocess wall time incl. process start-up and piping",
             "seed": "in-process numpy matrix products"}
    for name in ("muzip", "mp3", "opus", "vorbis", "seed"):
        pts = res.get(name)
        if not pts:
            continue
        # the per-point ×RT values share the same audio duration, so the harmonic mean is the aggregate
        enc = len(pts) / sum(1 / p["enc_x"] for p in pts)
        dec = len(pts) / sum(1 / p["dec_x"] for p in pts)
        w(f"| {CODEC_LABELS[name]} | {enc:.1f} | {min(p['enc_x'] for p in pts):.1f} | {dec:.1f} | "
          f"{min(p['dec_x'] for p in pts):.1f} | {timed[name]} |")
    w("")

    # ---- method
    w("## How it was measured")
    w("")
    w(f"- Audio: {len(ctx['excerpts'])} validation track(s) from `scripts/corpus.py` `split()` (never trained on), "
      f"the same excerpts as `scripts/bench.py`: {args.seconds:g} s starting at {args.start:g} s, stereo 44.1 kHz float32:")
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
          f"coding. Bitrate 32 bits × 44100/4 groups/s × 2 channels = {SeedCodec.bitrate_kbps(SR, 2):.1f} kbps. "
          "Weights fitted in closed form, per channel: the first principal component (uncentred: the audio is "
          "zero-mean and the layers have no bias) of the 4-sample groups of "
          f"{si['seconds']:.0f} s of training audio ({si['tracks']} training tracks of `split()[0]`, "
          f"{si['each']:g} s each at offsets drawn with numpy seed {SEED_FIT_SEED}). This is the optimal "
          "linear kernel-1 autoencoder under squared error (Eckart–Young; Baldi & Hornik 1989), so no amount of "
          "training would improve this design. Fitted kernels: "
          + "; ".join(f"ch{c} [{', '.join(f'{v:.4f}' for v in row)}]" for c, row in enumerate(si["w"]))
          + f"; energy kept by the first component on the fit data: {si['energy']:.2%}.")
    w(f"- Every decoded signal is resampled to 44.1 kHz (soxr) if needed and aligned with `muzip.metrics.align` "
      f"(cross-correlation within ±{MAX_DELAY} samples; compensates codec delay and padding); all metrics use the "
      "aligned, equal-length pair.")
    w("- ViSQOL: `muzip.evaluate.visqol_mos` — ViSQOL v3 MOS-LQO, audio mode, mono mixes resampled to 48 kHz "
      "(1–5, higher is better; identical signals ≈ 4.73). Mel: DAC's multi-scale mel distance "
      "(`muzip.metrics.mel_distance`, 7 scales, lower is better). SNR: `muzip.metrics.snr_db`. All means over tracks.")
    w("- Speed: audio seconds / wall seconds of the encode (decode) calls, summed over tracks; one warm-up "
      "encode+decode per codec excluded. Resampling and metrics are not timed. ffmpeg times include process "
      "start-up (tens of ms per call), which weighs more on short excerpts.")
    w("")
    return "\n".join(L)


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 track, 10 s, fewer rates; writes to a temp dir")
    ap.add_argument("--out-dir", help="where RD.md and rd.png go (default docs/; --quick: a new temp dir); "
                                      "a model other than the default writes RD-MODEL.md and rd-MODEL.png")
    ap.add_argument("--model", default=None, help="installed model name (default: the shipped default model)")
    ap.add_argument("--start", type=float, default=30.0, help="excerpt start, seconds (default 30)")
    ap.add_argument("--seconds", type=float, default=None, help="excerpt length, seconds (default 30; --quick 10)")
    ap.add_argument("--tracks", type=int, default=None, help="use only the first N validation tracks")
    ap.add_argument("--no-muzip", action="store_true", help="baselines only (to develop/debug the harness)")
    ap.add_argument("--no-visqol", action="store_true", help="skip ViSQOL (faster; ViSQOL columns n/a)")
    args = ap.parse_args(argv)
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    out_dir = Path(args.out_dir) if args.out_dir else (
        Path(tempfile.mkdtemp(prefix="muzip-rd-")) if args.quick else ROOT / "docs")

    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    os.chdir(ROOT)  # corpus paths are relative to the repository root
    from corpus import split
    train, val = split()
    if args.quick:
        val = val[:1]
    if args.tracks:
        val = val[: args.tracks]
    excerpts, starts = [], []
    for path in val:
        x, s = read_excerpt(path, args.start, args.seconds)
        excerpts.append((path, x))
        starts.append(s)
    log(f"{len(excerpts)} validation excerpt(s) of {args.seconds:g} s; output to {out_dir}")
    rates = QUICK_RATES if args.quick else dict(muzip=MUZIP_RATES, mp3=MP3_RATES, opus=OPUS_RATES, vorbis=VORBIS_RATES)
    visqol = None if args.no_visqol else make_visqol()

    results, notes = {}, {}
    model_name, model_info = "none", "not measured (--no-muzip)"
    if not args.no_muzip:
        from muzip.runtime import load_model
        t = time.perf_counter()
        model = load_model(args.model)
        model_name = model.name
        model_info = f"`{model.name}`, sha256 `{model.sha256}` (sha256 of its SHA256SUMS: the model id in .mz headers)"
        log(f"loaded model {model.name} ({model.sha256[:16]}…) in {time.perf_counter() - t:.1f} s")
        enc, dec = muzip_codec(model)
        results["muzip"], notes["muzip"] = measure("muzip", enc, dec, excerpts, rates["muzip"], visqol)
    results["mp3"], notes["mp3"] = measure("mp3", lame_encode, lame_decode, excerpts, rates["mp3"], visqol)
    if any(p["target"] == 16 and p["rates"] != [SR] for p in results["mp3"]):
        notes["mp3"].append("LAME resamples low rates (e.g. 16 kbps is coded at a lower sample rate); the decoded "
                            "audio is resampled back to 44.1 kHz with soxr before the metrics.")

    ffmpeg = ffmpeg_path()
    ffmpeg_version = "ffmpeg: not found"
    if ffmpeg is None:
        for name in ("opus", "vorbis"):
            notes[name] = ["ffmpeg not found on PATH: skipped"]
        log("ffmpeg not found: Opus and Vorbis skipped")
    else:
        try:
            ffmpeg_version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()[0]
            ffmpeg_version = " ".join(ffmpeg_version.split()[:3])
        except (OSError, IndexError):
            ffmpeg_version = "ffmpeg (version unknown)"
        for name, enc, dec in (("opus", opus_encode, opus_decode), ("vorbis", vorbis_encode, vorbis_decode)):
            pts, nts = measure(name, enc, dec, excerpts, rates[name], visqol)
            notes[name] = nts
            if pts:
                results[name] = pts
            elif not nts:
                notes[name] = ["no rate could be measured"]

    log("seed design: fitting the first principal component on training audio")
    fit_each = 10.0 if args.quick else SEED_FIT_SECONDS
    fit_audio, used = seed_training_audio(train, tracks=3 if args.quick else SEED_FIT_TRACKS, seconds=fit_each)
    seed = SeedCodec.fit(fit_audio)
    energy = np.mean([seed_energy(fit_audio, seed.w, c) for c in range(seed.w.shape[0])])
    pts, nts = measure("seed", seed.encode, seed.decode, excerpts, (0,), visqol)  # single rate (kbps ignored)
    for p in pts:
        p["target"] = None
    results["seed"], notes["seed"] = pts, nts
    seed_info = dict(w=seed.w, each=fit_each, seconds=sum(u[2] for u in used), tracks=len(used), energy=energy)

    from muzip.runtime.store import DEFAULT_MODEL
    suffix = "" if model_name in (DEFAULT_MODEL, "none") else f"-{model_name}"
    md_path, png_path = out_dir / f"RD{suffix}.md", out_dir / f"rd{suffix}.png"
    commit = git_commit()
    elapsed = time.perf_counter() - t_start
    ctx = dict(args=args, results={k: v for k, v in results.items() if v}, notes=notes, excerpts=excerpts,
               starts=starts, commit=commit, model_info=model_info, ffmpeg_version=ffmpeg_version,
               load=(load_before, os.getloadavg()[0]), elapsed=elapsed, seed_info=seed_info, png=png_path.name)
    text = report(ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text)
    title = (f"muzip rate–distortion{' (--quick smoke test)' if args.quick else ''} — model {model_name}, "
             f"commit {commit[:12]}{' +uncommitted' if 'uncommitted' in commit else ''}; "
             f"{len(excerpts)} track(s) × {args.seconds:g} s")
    try:
        plot(png_path, ctx["results"], title)
    except ImportError:
        log("matplotlib not installed: rd.png not written")
    print(text)
    log(f"wrote {md_path} and {png_path} in {elapsed / 60:.1f} min")
    if not args.quick and not suffix:  # BENCHMARKS.md holds the default model's verdicts
        append_to_benchmarks(out_dir / "BENCHMARKS.md", text)


RD_MARKER = "<!-- rd_bench: appended by scripts/rd_bench.py -->"


def append_to_benchmarks(path, rd_text):
    """Put the equal-bitrate verdicts into BENCHMARKS.md too (replacing an earlier copy), so one
    document holds every target of the release; the full tables stay in RD.md."""
    if not path.exists():
        return
    keep = path.read_text().split(RD_MARKER)[0].rstrip()
    verdicts = rd_text.split("## Verdicts (equal actual bitrate)")[1].split("## Results per codec")[0]
    path.write_text(f"{keep}\n\n{RD_MARKER}\n## Rate–distortion against MP3, Opus and Vorbis (scripts/rd_bench.py, same run)\n\n"
                    f"![rate–distortion curves](rd.png)\n\nViSQOL MOS-LQO and mel distance at equal actual bitrate; "
                    f"every codec's table, speeds and the seed design are in [RD.md](RD.md).\n\n### Verdicts"
                    f"{verdicts.rstrip()}\n")


def seed_energy(audios, w, c):
    """Fraction of channel c's 4-sample-group energy kept by its first principal component."""
    num = den = 0.0
    for a in audios:
        g = np.asarray(a[: len(a) // SEED_GROUP * SEED_GROUP, c], np.float64).reshape(-1, SEED_GROUP)
        num += float(np.sum((g @ w[c].astype(np.float64)) ** 2))
        den += float(np.sum(g ** 2))
    return num / den if den else float("nan")


if __name__ == "__main__":
    main()
