"""Zoomed spectrograms of attacks: what the pre-attack and rise measures (muzip.listening) summarise, to look at.

The source's strongest attacks in the 5-16 kHz band (found as muzip.listening finds them) in a validation
excerpt, 60 ms before to 60 ms after each, for the source, muzip models and Opus at one bitrate: a 256-point
STFT at a 32-sample hop (0.7 ms), 0-16 kHz, dB re full scale. Pre-echo shows as energy left of the dashed line.

    python -m scripts.bench.attack_spectrogram [--set band] [--kbps 24] [--models muzip-v2.3 muzip-v2.4] [--out docs/attacks-band.png]
"""

import argparse
from pathlib import Path

import numpy as np

from scripts.bench.bench import SR, read_excerpt
from scripts.bench.rd_bench import MAX_DELAY, opus_decode, opus_encode
from scripts.data.corpus import VALIDATION_SETS, validation_set

ROOT = Path(__file__).resolve().parents[2]
HALF = int(0.06 * SR)  # 60 ms each side


def strongest_attacks(x, count):
    """Sample positions of the `count` largest source rises in 5-16 kHz, at least 0.5 s apart."""
    from muzip.listening import ATTACK_MIN_DB, ATTACK_RISE_DB, HIGH_BAND, HOP_44K
    n_fft, hop = 256, HOP_44K
    frames = np.lib.stride_tricks.sliding_window_view(np.mean(x, axis=1), n_fft)[::hop] * np.hanning(n_fft)
    spec = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    f = np.fft.rfftfreq(n_fft, 1 / SR)
    band = (f >= HIGH_BAND[0]) & (f < HIGH_BAND[1])
    level = 10 * np.log10(spec[:, band].sum(axis=1) / n_fft ** 2 + 1e-10)
    back = int(0.02 * SR / hop)
    rise = np.array([level[i] - level[max(0, i - back):max(1, i)].min() for i in range(len(level))])
    ok = (rise >= ATTACK_RISE_DB) & (level >= ATTACK_MIN_DB)
    picked = []
    for i in np.argsort(-np.where(ok, rise, -np.inf)):
        if not ok[i] or len(picked) == count:
            break
        p = i * hop  # the frame that first rises starts about at the attack (read off the plots)
        if HALF <= p < len(x) - HALF and all(abs(p - q) > SR // 2 for q in picked):
            picked.append(p)
    return sorted(picked)


def spectrogram(seg):
    n_fft, hop = 256, 32
    frames = np.lib.stride_tricks.sliding_window_view(np.mean(seg, axis=1), n_fft)[::hop] * np.hanning(n_fft)
    return 10 * np.log10(np.abs(np.fft.rfft(frames, axis=1)).T ** 2 / (np.hanning(n_fft).sum() ** 2 / 4) + 1e-10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", default="band", choices=VALIDATION_SETS)
    ap.add_argument("--kbps", type=float, default=24)
    ap.add_argument("--models", nargs="+", default=["muzip-v2.3", "muzip-v2.4"])
    ap.add_argument("--attacks", type=int, default=3)
    ap.add_argument("--track", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import soxr

    from muzip.codec import compress_array, decompress_bytes, load_model
    from muzip.metrics import align
    path = validation_set(args.set)[args.track]
    x = read_excerpt(path, 30.0, 10.0)[0]
    outputs = {"source": x}
    for name in args.models:
        model = load_model(name)
        outputs[name] = decompress_bytes(compress_array(x, SR, args.kbps, model=model), model=model)[0]
    y, sr = opus_decode(opus_encode(x, args.kbps))
    outputs[f"Opus {args.kbps:g} kbps"] = soxr.resample(y, sr, SR).astype(np.float32)
    for k in list(outputs)[1:]:
        _, d, _ = align(x, outputs[k], MAX_DELAY)
        outputs[k] = d
    attacks = strongest_attacks(x, args.attacks)
    fig, axes = plt.subplots(len(attacks), len(outputs), figsize=(3.2 * len(outputs), 2.6 * len(attacks)),
                             squeeze=False, sharey=True)
    for r, p in enumerate(attacks):
        for c, (label, sig) in enumerate(outputs.items()):
            s = spectrogram(sig[p - HALF:p + HALF])
            ax = axes[r, c]
            t = (np.arange(s.shape[1]) * 32 + 128 - HALF) / SR * 1000
            ax.pcolormesh(t, np.fft.rfftfreq(256, 1 / SR) / 1000, s, vmin=-100, vmax=-20, shading="auto", cmap="magma")
            ax.axvline(0, color="w", ls="--", lw=0.8)
            ax.set_ylim(0, 16)
            ax.set_title(f"{label}" + (f" ({args.kbps:g} kbps)" if label in args.models else "")
                         + f"\nattack at {p / SR:.2f} s", fontsize=8)
            if r == len(attacks) - 1:
                ax.set_xlabel("ms from the source's attack")
            if c == 0:
                ax.set_ylabel("kHz")
    fig.suptitle(f"Attacks in {Path(path).stem} ({args.set} validation set), 256-pt STFT, 0.7-ms hop, dBFS -100..-20",
                 fontsize=9)
    fig.tight_layout()
    out = Path(args.out) if args.out else ROOT / "docs" / f"attacks-{args.set}.png"
    fig.savefig(out, dpi=90)
    print(f"wrote {out} ({len(attacks)} attacks)")


if __name__ == "__main__":
    main()
