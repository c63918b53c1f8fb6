"""Benchmark muzip against LAME MP3 on the validation tracks; writes docs/BENCHMARKS.md (and prints it).

    .venv/bin/python -m scripts.bench.bench            # full run (make bench), < ~25 min on 2 cores
    .venv/bin/python -m scripts.bench.bench --quick    # smoke test: one track, 10 s, no RSS; prints only

Quality: a fixed excerpt of every validation track (scripts/data/corpus.py split(); 30 s starting at 30 s,
stereo 44.1 kHz) is coded at each bitrate; the decoded audio is delay-compensated with
muzip.metrics.align (LAME adds encoder delay/padding) and compared with SNR, multi-scale mel distance
(DAC settings) and log-spectral distance. Speed = audio seconds / wall seconds of the in-process calls
(model loaded once, one warm-up call per codec excluded). Whole commands (start-up included), long files,
peak RSS and batches are measured against ffmpeg + LAME by scripts/bench/cli_bench.py, embedded in the report.
"""

import argparse
import datetime
import io
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from scripts.bench import cli_bench
from scripts.data.corpus import split

from muzip.metrics import align, log_spectral_distance, mel_distance, snr_db

ROOT = Path(__file__).resolve().parents[2]

SR = 44100
BITRATES = (12, 24, 32, 48, 64)
MAX_DELAY = 8192          # LAME's delay is ~1105 samples at its output rate (6091 at 44.1 kHz for 8 kHz MP3)
SPEED_TARGET = 30.0       # x real time
RSS_MINUTES = 60  # the long file of scripts/bench/cli_bench.py

def to_stereo_44k(x, sr):
    x = np.asarray(x, np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] == 1:
        x = np.repeat(x, 2, axis=1)
    elif x.shape[1] > 2:
        x = x[:, :2]
    if sr != SR:
        x = soxr.resample(x, sr, SR).astype(np.float32)
    return x


def read_excerpt(path, start_s, seconds):
    with sf.SoundFile(path) as f:
        sr, n = f.samplerate, f.frames
        want = int(round(seconds * sr))
        first = min(int(round(start_s * sr)), max(0, n - want))
        f.seek(first)
        x = f.read(want, dtype="float32", always_2d=True)
    return to_stereo_44k(x, sr), first / sr


# ---------------------------------------------------------------- codecs: encode(x, kbps) -> bytes; decode(bytes) -> (x, sr)

def lame_encode(x, kbps):
    import lameenc
    enc = lameenc.Encoder()
    enc.set_bit_rate(int(kbps))
    enc.set_in_sample_rate(SR)
    enc.set_channels(x.shape[1])
    enc.set_quality(2)
    pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2")
    return bytes(enc.encode(pcm.tobytes())) + bytes(enc.flush())


def lame_decode(data):
    try:
        return sf.read(io.BytesIO(data), dtype="float32", always_2d=True)  # libsndfile >= 1.1 reads MP3 (mpg123)
    except sf.LibsndfileError:  # older libsndfile: ffmpeg (no gapless trimming either; align handles the delay)
        p = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "f32le", "-ac", "2", "-ar", str(SR), "pipe:1"],
                           input=data, capture_output=True, check=True)
        return np.frombuffer(p.stdout, np.float32).reshape(-1, 2), SR


def muzip_codec(model):
    from muzip.codec import compress_array, decompress_bytes

    def encode(x, kbps):
        return compress_array(x, SR, kbps, model=model)

    def decode(data):
        return decompress_bytes(data, model=model)
    return encode, decode


def run_codec(name, encode, decode, excerpts, bitrates, log):
    """Per-bitrate means over tracks. Speed is total audio seconds / total wall seconds."""
    x0 = excerpts[0][1]
    decode(encode(x0, bitrates[-1]))  # warm-up (graph building, caches): not timed
    rows = []
    for kbps in bitrates:
        per = []
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
                     lsd=log_spectral_distance(r, d, SR), enc_s=t1 - t0, dec_s=t2 - t1, dur=dur, delay=delay,
                     lost=len(x) - len(r))
            per.append(m)
            log(f"  {name:5s} {kbps:3d} kbps  {Path(path).stem:24s} actual {m['kbps']:6.2f} kbps  SNR {m['snr']:6.2f} dB  "
                f"mel {m['mel']:6.3f}  LSD {m['lsd']:5.2f} dB  enc {dur / m['enc_s']:6.1f}x  dec {dur / m['dec_s']:6.1f}x  delay {delay}")
        total = sum(p["dur"] for p in per)
        rows.append(dict(
            codec=name, target=kbps, kbps=np.mean([p["kbps"] for p in per]),
            snr=np.mean([p["snr"] for p in per]), mel=np.mean([p["mel"] for p in per]),
            lsd=np.mean([p["lsd"] for p in per]),
            enc_x=total / sum(p["enc_s"] for p in per), dec_x=total / sum(p["dec_s"] for p in per),
            delays=sorted({p["delay"] for p in per}), lost=max(p["lost"] for p in per)))
    return rows


# ---------------------------------------------------------------- report

def git_commit():
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        # Documents (this report among them, model cards) do not change what is measured.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)*.md",
                                ":(exclude)docs"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "") if head else "unknown"
    except OSError:
        return "unknown"


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(v, spec):
    return "inf" if v == float("inf") else format(v, spec)


def report(args, model_info, excerpts, starts, rows, rss, load_before, load_after, elapsed):
    L = []
    w = L.append
    w("# muzip benchmarks")
    w("")
    w(f"Generated {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `scripts/bench/bench.py`"
      f"{' --quick (smoke test)' if args.quick else ''}. Re-run with `make bench` "
      f"(= `.venv/bin/python -m scripts.bench.bench`).")
    w("")
    w(f"- Commit: `{git_commit()}`")
    w(f"- Model: {model_info}")
    w(f"- Machine: {len(os.sched_getaffinity(0))} CPU(s) available (nproc), {cpu_model()}; "
      f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    w(f"- Load average (1 min) at start / end: {load_before:.2f} / {load_after:.2f} "
      f"(other work on the machine slows the speed figures down)")
    w(f"- Total benchmark time: {elapsed / 60:.1f} min")
    w("")
    w("## Method")
    w("")
    w(f"- Audio: {len(excerpts)} validation track(s) from `scripts/data/corpus.py` `split()` (never trained on), "
      f"a fixed excerpt of {args.seconds:g} s starting at {args.start:g} s of each, stereo 44.1 kHz float32:")
    for (path, x), s in zip(excerpts, starts):
        w(f"  - `{os.path.relpath(path, ROOT)}` [{s:g} s, {s + len(x) / SR:g} s)")
    w("- muzip: `compress_array(audio, 44100, kbps, model=model)` / `decompress_bytes(data, model=model)` in process.")
    w("- MP3: LAME via `lameenc` (CBR, quality 2, 16-bit input; LAME picks its output sample rate for the "
      "bitrate), decoded with libsndfile (mpg123), resampled back to 44.1 kHz with soxr when needed.")
    w(f"- Every decoded signal is aligned to the original with `muzip.metrics.align` (cross-correlation, "
      f"within ±{MAX_DELAY} samples), which compensates LAME's encoder delay/padding; metrics are on the "
      "aligned, equal-length pair.")
    w("- Actual kbps = compressed bytes × 8 / excerpt seconds / 1000 (container/frame overhead included).")
    w("- SNR: 10·log10(Σref² / Σ(ref−deg)²) over both channels (higher is better). Mel: multi-scale mel distance "
      "as DAC's `MelSpectrogramLoss` (windows 32…2048, 5…320 mels, hop w/4, L1 of log10(clamp(mel,1e-5)²), "
      "summed over 7 scales; lower is better; see `muzip/metrics.py`). LSD: log-spectral distance in dB "
      "(STFT 2048/512; lower is better). All are means over tracks.")
    w("- Speed: audio seconds / wall seconds of the encode (decode) calls summed over tracks, model loaded "
      "once beforehand and one warm-up encode+decode per codec excluded; MP3 decode time includes libsndfile's "
      "MP3 decoding but not the soxr resampling.")
    w("")
    w("## Quality and speed")
    w("")
    w("| codec | target kbps | actual kbps | SNR dB | mel distance | LSD dB | compress × RT | decompress × RT | delay found (samples) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        w(f"| {r['codec']} | {r['target']} | {r['kbps']:.2f} | {fmt(r['snr'], '.2f')} | {r['mel']:.3f} | "
          f"{r['lsd']:.2f} | {r['enc_x']:.1f} | {r['dec_x']:.1f} | {', '.join(map(str, r['delays']))} |")
    w("")
    if any(r["codec"] == "mp3" and r["target"] == 12 for r in rows):
        w("Note: MP3 has no 12 kbps CBR rate (MPEG-2.5 Layer III offers 8, 16, 24 …); LAME falls back to "
          "8 kbps at 8 kHz, as the actual-kbps column shows.")
        w("")
    w("## Verdict")
    w("")
    by = {(r["codec"], r["target"]): r for r in rows}
    mz, mp3 = by.get(("muzip", 64)), by.get(("mp3", 64))
    if mz and mp3:
        ok = mz["mel"] <= mp3["mel"]
        w(f"- Quality at 64 kbps: muzip mel distance {mz['mel']:.3f} vs LAME {mp3['mel']:.3f} "
          f"(lower is better) → **{'meets target' if ok else 'misses target'}** (muzip ≤ LAME).")
        ok = min(mz["enc_x"], mz["dec_x"]) >= SPEED_TARGET
        w(f"- Speed at 64 kbps: compress {mz['enc_x']:.1f}× and decompress {mz['dec_x']:.1f}× real time vs the "
          f"{SPEED_TARGET:g}× target → **{'meets target' if ok else 'misses target'}** "
          f"(on {len(os.sched_getaffinity(0))} CPU(s), load {load_before:.2f} at start).")
    else:
        w("- muzip was not measured (see the log); no verdict.")
    w("")
    w("## Command line against ffmpeg + LAME (speed, memory, batches)")
    w("")
    w(cli_bench.markdown(rss) if rss else "Skipped (--quick or --no-rss).")
    w("")
    return "\n".join(L)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: one track, 10 s excerpt, no RSS; prints only unless --out")
    ap.add_argument("--out", help="report path (default docs/BENCHMARKS.md; --quick: none)")
    ap.add_argument("--model", default=None, help="installed model name (default: the shipped default model)")
    ap.add_argument("--start", type=float, default=30.0, help="excerpt start, seconds (default 30)")
    ap.add_argument("--seconds", type=float, default=None, help="excerpt length, seconds (default 30; --quick 10)")
    ap.add_argument("--no-muzip", action="store_true", help="MP3 only (to develop/debug the harness)")
    ap.add_argument("--no-rss", action="store_true", help="skip the long-file memory measurement")
    ap.add_argument("--rss-minutes", type=float, default=RSS_MINUTES, help=f"long-file length (default {RSS_MINUTES})")
    args = ap.parse_args(argv)
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    out = args.out or (None if args.quick else str(ROOT / "docs" / "BENCHMARKS.md"))
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    t_start = time.perf_counter()
    load_before = os.getloadavg()[0]
    os.chdir(ROOT)  # corpus paths are relative to the repository root
    _, val = split()
    if args.quick:
        val = val[:1]
    excerpts, starts = [], []
    for path in val:
        x, s = read_excerpt(path, args.start, args.seconds)
        excerpts.append((path, x))
        starts.append(s)
    log(f"{len(excerpts)} validation excerpt(s) of {args.seconds:g} s")

    rows, model_info = [], "not measured (--no-muzip)"
    if not args.no_muzip:
        from muzip.codec import load_model
        t = time.perf_counter()
        model = load_model(args.model)
        model_info = f"`{model.name}`, sha256 `{model.sha256}`"
        log(f"loaded model {model.name} ({model.sha256[:16]}…) in {time.perf_counter() - t:.1f} s")
        enc, dec = muzip_codec(model)
        rows += run_codec("muzip", enc, dec, excerpts, BITRATES, log)
    rows += run_codec("mp3", lame_encode, lame_decode, excerpts, BITRATES, log)

    rss = None
    if not (args.quick or args.no_rss or args.no_muzip):
        log(f"command line against ffmpeg + LAME ({args.rss_minutes:g}-minute long file):")
        rss = cli_bench.run(args.rss_minutes, log=log)

    text = report(args, model_info, excerpts, starts, rows, rss, load_before, os.getloadavg()[0],
                  time.perf_counter() - t_start)
    print(text)
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        log(f"wrote {out}")


if __name__ == "__main__":
    main()
