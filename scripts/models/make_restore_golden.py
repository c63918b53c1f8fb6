"""Golden files of a shipped restorer: an MP3 input and what the restorer made of it (made once, never remade).

    .venv/bin/python -m scripts.models.make_restore_golden restore-v1

tests/restore/test_restore.py restores the input again through `muzip restore` and compares it with the
recorded output (float16, left channel), so a change to the runtime or the model files shows.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden" / "restore"


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "restore-v1"
    mp3, out = GOLDEN / f"{name}.mp3", GOLDEN / f"{name}.npz"
    if mp3.exists() and out.exists():
        raise SystemExit(f"{name}: golden files exist; they are never remade")
    from muzip.restore.pairs import mp3_bytes
    x, sr = sf.read(ROOT / "tests" / "data" / "knolls_excerpt.ogg", dtype="float32", always_2d=True)
    mp3.write_bytes(mp3_bytes(x[2 * sr:4 * sr], sr, 24))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "r.wav"
        subprocess.run([sys.executable, "-m", "muzip", "restore", "-q", "--model", name, str(mp3), "-o", str(wav)],
                       check=True, cwd=ROOT)
        y, rate = sf.read(wav, dtype="float32", always_2d=True)
    np.savez_compressed(out, left=y[:, 0].astype(np.float16), rate=np.int64(rate), channels=np.int64(y.shape[1]))
    print(f"{mp3} ({mp3.stat().st_size} bytes), {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
