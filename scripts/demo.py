"""`make demo`: compress and decompress the bundled clip with the CLI, then report sizes and quality."""

import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from muzip.metrics import mel_distance, snr_db

ROOT = Path(__file__).resolve().parent.parent

CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"
OUT = ROOT / "build" / "demo"
MUZIP = [sys.executable, "-m", "muzip"]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    mz, wav = OUT / "knolls_excerpt.mz", OUT / "knolls_excerpt.wav"
    for cmd in (["compress", str(CLIP), "-o", str(mz), "-b", "64", "-f"], ["decompress", str(mz), "-o", str(wav), "-f"],
                ["info", str(mz)], ["test", str(mz)]):
        print("$ muzip " + " ".join(os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in cmd), flush=True)
        subprocess.run(MUZIP + cmd, check=True)
    ref, sr = sf.read(CLIP, dtype="float32", always_2d=True)
    dec, sr2 = sf.read(wav, dtype="float32", always_2d=True)
    seconds = len(ref) / sr
    pcm_bytes = len(ref) * ref.shape[1] * 2
    size = mz.stat().st_size
    print()
    print(f"input     {CLIP.name}: {seconds:.1f} s, {sr} Hz, {ref.shape[1]} ch "
          f"({CLIP.stat().st_size:,} bytes Ogg Vorbis, {pcm_bytes:,} bytes as 16-bit PCM)")
    print(f"muzip     {mz.name}: {size:,} bytes, {size * 8 / seconds / 1000:.1f} kbps actual, "
          f"{pcm_bytes / size:.1f}x smaller than PCM")
    print(f"decoded   {wav.name}: {sr2} Hz, {dec.shape[1]} ch, {len(dec)} samples (input had {len(ref)})")
    print(f"quality   SNR {snr_db(ref, dec):.1f} dB, multi-scale mel distance {mel_distance(ref, dec, sr):.3f} (lower is better)")


if __name__ == "__main__":
    main()
