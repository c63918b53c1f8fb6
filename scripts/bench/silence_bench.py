"""Digital silence before music: does the decoded file stay silent until the music resumes? Writes docs/SILENCE.md.

    .venv/bin/python -m scripts.bench.silence_bench [--model NAME] [--out docs/SILENCE.md] [--quick]

Issue 24's target: "digital silence before an attack stays silent to within 5 ms". The validation excerpts hold no
digital silence (docs/RD.md's gap rows are n/a), so this bench makes some: 12 s of each excerpt of both validation
sets (as scripts/bench/rd_bench.py: wesnoth split() and the band mixes, from 30 s) cut into four 3-s pieces with
GAP_S of digital silence between them, so the music stops dead and comes back mid-phrase three times (a break, a
track that starts after a pause). Every codec codes the whole signal at each of its rates; the decoded audio is
resampled to 44.1 kHz and aligned as in rd_bench (muzip.metrics.align), and muzip.listening.silence_onset_ms
measures each gap: for how many ms before the music comes back the output is already above -60 dBFS (1.45-ms
frames). Reported: the worst gap over all excerpts and the mean. Codecs: muzip (the compress default unless
--model), Opus hard CBR and LAME MP3 at rd_bench's measured rates (their own points, nothing interpolated).
"""

import argparse
import datetime
import sys
from pathlib import Path

import numpy as np

from scripts.bench.bench import MAX_DELAY, SR, lame_decode, lame_encode, muzip_codec, read_excerpt, to_stereo_44k
from scripts.bench.rd_bench import MP3_RATES, MUZIP_RATES, OPUS_RATES, ffmpeg_path, git_commit, opus_decode, opus_encode
from scripts.data.corpus import validation_set

from muzip.listening import silence_onset_ms
from muzip.metrics import align

ROOT = Path(__file__).resolve().parents[2]
PIECE_S, PIECES, GAP_S, START_S = 3.0, 4, 0.5, 30.0
TARGET_MS = 5.0


def gapped(x: np.ndarray) -> np.ndarray:
    """PIECES consecutive PIECE_S pieces of x with GAP_S of digital silence between them."""
    n, gap = int(PIECE_S * SR), np.zeros((int(GAP_S * SR), x.shape[1]), np.float32)
    parts = []
    for i in range(PIECES):
        parts += [x[i * n:(i + 1) * n]] + ([gap] if i < PIECES - 1 else [])
    return np.concatenate(parts)


def measure(encode, decode, signals, rates, log):
    """{kbps: (actual kbps, worst early ms, mean early ms over the gaps, gaps)} over the signals."""
    out = {}
    for kbps in rates:
        per, bits = [], 0  # (worst, mean, gaps) of each signal that has gaps
        for x in signals:
            data = encode(x, kbps)
            y, sr = decode(data)
            r, d, _ = align(x, to_stereo_44k(y, sr), MAX_DELAY)
            m = silence_onset_ms(r, d, SR)
            bits += len(data) * 8
            if m["gaps"]:
                per.append((m["early_ms"], m["mean_early_ms"], m["gaps"]))
        gaps = sum(p[2] for p in per)
        worst = max(p[0] for p in per) if per else None
        mean = sum(p[1] * p[2] for p in per) / gaps if per else None
        out[kbps] = (bits / (sum(len(x) for x in signals) / SR) / 1000, worst, mean, gaps)
        log(f"  {kbps:5g} kbps: worst {worst} ms, mean {mean} ms over {gaps} gaps")
    return out


def table(results: dict) -> list[str]:
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"  # noqa: E731
    lines = ["| codec | target kbps | actual kbps | gaps | worst gap, ms early | mean, ms early | within 5 ms |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for codec, points in results.items():
        for kbps, (actual, worst, mean, gaps) in points.items():
            ok = "n/a" if worst is None else ("yes" if worst <= TARGET_MS else "**no**")
            lines.append(f"| {codec} | {kbps:g} | {actual:.2f} | {gaps} | {fmt(worst)} | {fmt(mean)} | {ok} |")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="muzip model (default: the compress default)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "SILENCE.md"))
    ap.add_argument("--quick", action="store_true", help="one excerpt per set, three rates; prints only")
    args = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    from muzip.codec import load_model
    model = load_model(args.model)
    enc, dec = muzip_codec(model)
    codecs = [(model.name, enc, dec, MUZIP_RATES), ("mp3", lame_encode, lame_decode, MP3_RATES)]
    if ffmpeg_path():
        codecs.insert(1, ("opus", opus_encode, opus_decode, OPUS_RATES))
    L = ["# Digital silence before music", "",
         f"Generated {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} by `python -m scripts.bench.silence_bench` "
         f"(`make bench`), commit `{git_commit()}`, model `{model.name}` (sha256 `{model.sha256[:16]}...`).", "",
         f"Each validation excerpt ({PIECES * PIECE_S:g} s from {START_S:g} s) cut into {PIECES} pieces of {PIECE_S:g} s "
         f"with {GAP_S:g} s of digital silence between them: the music stops dead and comes back mid-phrase. "
         "Early ms: for how long before the music comes back a codec's output is already above -60 dBFS "
         f"(`muzip.listening.silence_onset_ms`, 1.45-ms frames); target: within {TARGET_MS:g} ms. Every codec at its "
         "own measured rates; nothing interpolated." + ("" if ffmpeg_path() else " Opus skipped: no ffmpeg."), ""]
    for name in ("wesnoth", "band"):
        paths = validation_set(name)[:1 if args.quick else None]
        signals = [gapped(read_excerpt(p, START_S, PIECES * PIECE_S)[0]) for p in paths]
        results = {}
        for codec, encode, decode, rates in codecs:
            log(f"{name}: {codec}")
            results[codec] = measure(encode, decode, signals, rates[::3] if args.quick else rates, log)
        L += [f"## {name} ({len(signals)} excerpts, {sum(v[3] for v in results[model.name].values()) // max(len(results[model.name]), 1)} gaps)",
              "", *table(results), ""]
    text = "\n".join(L)
    print(text)
    if not args.quick:
        Path(args.out).write_text(text)
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
