"""Rate-distortion benchmark: muzip vs MP3 (LAME), Opus, Vorbis and the seed design; writes docs/RD.md + docs/rd.png.

    .venv/bin/python -m scripts.bench.rd_bench            # full run (make bench, after scripts/bench/bench.py), < ~35 min on 2 cores
    .venv/bin/python -m scripts.bench.rd_bench --quick    # smoke test: 1 track x 10 s, fewer rates, writes to a temp dir
    .venv/bin/python -m scripts.bench.rd_bench --set band # band recordings: docs/RD-band.md + docs/rd-band.png

Audio: the same excerpts as scripts/bench/bench.py (every validation track of scripts/data/corpus.py split(), 30 s from 30 s,
stereo 44.1 kHz); `--set band`: the same excerpts of the band-validation full mixes instead (corpus.band_validation(),
data/band/; docs/CORPUS.md). Every codec is run at a ladder of bitrates; the decoded audio is resampled to 44.1 kHz
(soxr) when the codec decodes at another rate, delay-compensated with muzip.metrics.align, and scored with ViSQOL v3 MOS-LQO
(muzip.evaluate.visqol_mos), DAC's multi-scale mel distance, SNR and muzip.listening's measures (rd_listening.py;
also in rd_results.json). Quality is compared at equal *actual* bitrate (file bytes, container included) by
interpolating each baseline linearly in log(bitrate), never extrapolating, and against measured points.

Codecs: muzip (RD_MODEL, muzip-v2.1, unless --model; --reference adds another muzip model, make bench: muzip-v1;
each loaded once, in process); LAME MP3 CBR (lameenc, in process, as bench.py);
Opus (ffmpeg libopus, hard CBR, Ogg) and Vorbis (ffmpeg libvorbis, Ogg), each an ffmpeg subprocess, skipped with a
note when ffmpeg is missing; the "seed design": a linear kernel-1 Conv1D autoencoder on 4-sample groups with a float32
bottleneck and no entropy coding, fitted in closed form (first principal component) on training audio.
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from scripts.bench.bench import (MAX_DELAY, SR, cpu_model, git_commit, lame_decode, lame_encode, muzip_codec,
                                 read_excerpt, to_stereo_44k)
from scripts.bench.rd_listening import excerpt_measures, point_measures, write_results
from scripts.bench.rd_report import CODEC_LABELS, append_to_benchmarks, plot, report
from scripts.data.corpus import FIRST_CORPUS_PACKAGES, VALIDATION_SETS, split, validation_set

from muzip.metrics import align, mel_distance, snr_db

ROOT = Path(__file__).resolve().parents[2]

# The published run (docs/RD.md, docs/rd.png): the best codec muzip ships, not the faster default of compress
from muzip.defaults import RD_MODEL  # noqa: E402
MUZIP_RATES = (6, 8, 12, 16, 24, 32, 48, 64, 96)
TIMED_RUNS = 2                       # each excerpt is coded this many times per rate; the fastest is timed
MP3_RATES = (16, 24, 32, 48, 64, 96, 128)
OPUS_RATES = (8, 12, 16, 24, 32, 48, 64)
VORBIS_RATES = (32, 48, 64, 96, 128)
QUICK_RATES = dict(muzip=(8, 16, 32, 64), mp3=(16, 32, 64), opus=(12, 32, 64), vorbis=(32, 64))
OPUS_RATE = 48000                    # libopus codes (and ffmpeg decodes) at 48 kHz
SEED_GROUP = 4                       # samples per group of the seed design (4x bottleneck)
SEED_FIT_TRACKS, SEED_FIT_SECONDS, SEED_FIT_SEED = 8, 20.0, 0


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
                enc_s, dec_s = math.inf, math.inf
                for _ in range(TIMED_RUNS):  # the fastest of the runs: this VM's speed drifts between seconds
                    t0 = time.perf_counter()
                    data = encode(x, kbps)
                    t1 = time.perf_counter()
                    y, sr = decode(data)
                    t2 = time.perf_counter()
                    enc_s, dec_s = min(enc_s, t1 - t0), min(dec_s, t2 - t1)
                y = to_stereo_44k(y, sr)
                r, d, delay = align(x, y, MAX_DELAY)
                m = dict(kbps=len(data) * 8 / dur / 1000, snr=snr_db(r, d), mel=mel_distance(r, d, SR),
                         visqol=visqol(r, d) if visqol else None, enc_s=enc_s, dec_s=dec_s, dur=dur,
                         delay=delay, lost=len(x) - len(r), sr=sr, excerpt=Path(path).stem)
                m.update(excerpt_measures(r, d, SR))
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
            rates=sorted({p["sr"] for p in per}), **point_measures(per), excerpts=per))
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


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke test: 1 track, 10 s, fewer rates; writes to a temp dir")
    ap.add_argument("--out-dir", help="where RD.md and rd.png go (default docs/; --quick: a new temp dir); "
                                      "a model other than the default writes RD-MODEL.md and rd-MODEL.png")
    ap.add_argument("--model", default=RD_MODEL, help=f"installed codec model (default: {RD_MODEL}, whose run is "
                                                     "docs/RD.md and docs/rd.png; another writes RD-MODEL.md, rd-MODEL.png)")
    ap.add_argument("--reference", action="append", default=[], metavar="MODEL",
                    help="another installed muzip model, measured in the same run and drawn beside --model, with "
                         "verdicts at every rate (make bench: muzip-v1); repeatable")
    ap.add_argument("--start", type=float, default=30.0, help="excerpt start, seconds (default 30)")
    ap.add_argument("--seconds", type=float, default=None, help="excerpt length, seconds (default 30; --quick 10)")
    ap.add_argument("--set", default="wesnoth", choices=VALIDATION_SETS,
                    help="validation set (scripts/data/corpus.py, docs/CORPUS.md): wesnoth, the wesnoth tracks >= "
                         "192 kbps (default; docs/RD.md), or band, the Frets on Fire band recordings' full mixes "
                         "(data/band/; writes RD-band.md and rd-band.png)")
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
    train, _ = split(packages=FIRST_CORPUS_PACKAGES)  # the seed design's fit: the tracks it was published with
    val = validation_set(args.set)
    if args.quick:
        val = val[:1]
    if args.tracks:
        val = val[: args.tracks]
    excerpts, starts = [], []
    for path in val:
        x, s = read_excerpt(path, args.start, args.seconds)
        excerpts.append((path, x))
        starts.append(s)
    log(f"{len(excerpts)} validation excerpt(s) ({args.set} set) of {args.seconds:g} s; output to {out_dir}")
    rates = QUICK_RATES if args.quick else dict(muzip=MUZIP_RATES, mp3=MP3_RATES, opus=OPUS_RATES, vorbis=VORBIS_RATES)
    visqol = None if args.no_visqol else make_visqol()

    results, notes = {}, {}
    model_name, model_info = "none", "not measured (--no-muzip)"
    reference_info = {}
    if not args.no_muzip:
        from muzip.codec import load_model
        t = time.perf_counter()
        model = load_model(args.model)
        model_name = model.name
        model_info = f"`{model.name}`, sha256 `{model.sha256}` (its identity: the model id in .mz headers, muzip/runtime/identity.py)"
        log(f"loaded model {model.name} ({model.sha256[:16]}…) in {time.perf_counter() - t:.1f} s")
        enc, dec = muzip_codec(model)
        results["muzip"], notes["muzip"] = measure("muzip", enc, dec, excerpts, rates["muzip"], visqol)
        CODEC_LABELS["muzip"] = f"muzip ({model.name})"
        for ref in args.reference:
            ref_model = load_model(ref)
            reference_info[ref] = f"`{ref_model.name}`, sha256 `{ref_model.sha256}`"
            results[ref], notes[ref] = measure(ref, *muzip_codec(ref_model), excerpts, rates["muzip"], visqol)
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
    seed_info = dict(w=seed.w, each=fit_each, seconds=sum(u[2] for u in used), tracks=len(used), energy=energy,
                     kbps=SeedCodec.bitrate_kbps(SR, 2), seed=SEED_FIT_SEED)

    suffix = "" if model_name in (RD_MODEL, "none") else f"-{model_name}"
    if args.set != "wesnoth":
        suffix += f"-{args.set}"
    md_path, png_path = out_dir / f"RD{suffix}.md", out_dir / f"rd{suffix}.png"
    commit = git_commit()
    elapsed = time.perf_counter() - t_start
    ctx = dict(args=args, results={k: v for k, v in results.items() if v}, notes=notes, excerpts=excerpts,
               starts=starts, commit=commit, model_info=model_info, ffmpeg_version=ffmpeg_version,
               load=(load_before, os.getloadavg()[0]), elapsed=elapsed, seed_info=seed_info, png=png_path.name,
               cpu=cpu_model(), max_delay=MAX_DELAY, references=list(reference_info), reference_info=reference_info)
    text = report(ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text)
    write_results(out_dir / f"rd_results{suffix}.json", ctx)
    title = (f"muzip rate–distortion{' (--quick smoke test)' if args.quick else ''} — model {model_name}, "
             f"commit {commit[:12]}{' +uncommitted' if 'uncommitted' in commit else ''}; "
             f"{len(excerpts)} {'' if args.set == 'wesnoth' else args.set + ' '}track(s) × {args.seconds:g} s")
    try:
        plot(png_path, ctx["results"], title)
    except ImportError:
        log("matplotlib not installed: rd.png not written")
    print(text)
    log(f"wrote {md_path} and {png_path} in {elapsed / 60:.1f} min")
    if not args.quick and not suffix:  # BENCHMARKS.md holds every target's verdicts
        append_to_benchmarks(out_dir / "BENCHMARKS.md", text, model_name)


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
