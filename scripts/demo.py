"""`make demo`: compress and decompress the bundled clip with the CLI, with the default model and with
the model the rate-distortion benchmark publishes (better, slower), then report sizes, bitrates, times and quality."""

import os
import subprocess
import sys
import time
from pathlib import Path

import soundfile as sf

from muzip.defaults import DEFAULT_MODEL, RD_MODEL
from muzip.metrics import mel_distance, snr_db

ROOT = Path(__file__).resolve().parent.parent

CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"
OUT = ROOT / "build" / "demo"
MUZIP = [sys.executable, "-m", "muzip"]
MODELS = list(dict.fromkeys([DEFAULT_MODEL, RD_MODEL]))  # the default first; once if it is the RD model
KBPS = "64"


def muzip(*args) -> float:
    """Run `muzip ARGS` as a user would, echoing the command line; -> wall seconds (start-up included)."""
    shown = [os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in args]
    print("$ muzip " + " ".join(shown), flush=True)
    t0 = time.monotonic()
    subprocess.run(MUZIP + list(args), check=True)
    return time.monotonic() - t0


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ref, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    seconds = len(ref) / sr
    pcm_bytes = len(ref) * ref.shape[1] * 2
    rows = []
    for model in MODELS:
        mz, wav = OUT / f"knolls_excerpt.{model}.mz", OUT / f"knolls_excerpt.{model}.wav"
        t_enc = muzip("compress", str(CLIP), "-o", str(mz), "-b", KBPS, "--model", model, "-f")
        t_dec = muzip("decompress", str(mz), "-o", str(wav), "-f")
        if model == MODELS[0]:
            muzip("info", str(mz))
            muzip("test", str(mz))
        dec, sr2 = sf.read(wav, dtype="float32", always_2d=True)
        assert (sr2, dec.shape) == (sr, ref.shape), (model, sr2, dec.shape)
        rows.append((model, mz.stat().st_size, t_enc, t_dec, snr_db(ref, dec), mel_distance(ref, dec, sr)))
    print()
    print(f"input  {CLIP.name}: {seconds:.1f} s, {sr} Hz, {ref.shape[1]} ch ({CLIP.stat().st_size:,} bytes Ogg Vorbis, "
          f"{pcm_bytes:,} bytes as 16-bit PCM); -b {KBPS}; decoded to the same rate, channels and length")
    print(f"{'model':<22} {'bytes':>8} {'kbps':>6} {'vs PCM':>7} {'compress':>15} {'decompress':>15} "
          f"{'SNR dB':>7} {'mel':>6}")
    for model, size, t_enc, t_dec, snr, mel in rows:
        name = model + (" (default)" if model == DEFAULT_MODEL else "")
        print(f"{name:<22} {size:>8,} {size * 8 / seconds / 1000:>6.1f} {pcm_bytes / size:>6.1f}x "
              f"{t_enc:>5.2f} s {seconds / t_enc:>5.1f}x {t_dec:>5.2f} s {seconds / t_dec:>5.1f}x {snr:>7.1f} {mel:>6.3f}")
    print("times: whole commands (process start-up and model loading included), x = times real time; "
          "mel: multi-scale mel distance, lower is better")


if __name__ == "__main__":
    main()
