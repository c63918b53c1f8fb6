"""Write the golden .mz for every installed model that has none (tests/data/golden/NAME.mz + NAME.json).

Golden files are never regenerated: they prove that files made by each shipped model keep decoding
to the same integer symbols (tests/codec/test_golden.py). Run after shipping a new model.
"""

import json
from pathlib import Path

import soundfile as sf

from muzip.codec import compress_array
from muzip.codec import installed_models, load_model
from muzip.codec.verify import symbol_digest

ROOT = Path(__file__).resolve().parents[2]

GOLDEN = ROOT / "tests" / "data" / "golden"
CLIP = ROOT / "tests" / "data" / "knolls_excerpt.ogg"


def main():
    GOLDEN.mkdir(parents=True, exist_ok=True)
    audio, sr = sf.read(CLIP, dtype="float32", always_2d=True, frames=3 * 44100)
    for name in installed_models("codec"):
        mz, meta = GOLDEN / f"{name}.mz", GOLDEN / f"{name}.json"
        if mz.exists():
            print(f"{name}: golden file exists, kept")
            continue
        model = load_model(name)
        data = compress_array(audio, sr, 32, model=model, tags={"title": "golden"})
        mz.write_bytes(data)
        with open(mz, "rb") as f:
            digest = symbol_digest(f)
        meta.write_text(json.dumps({"model": name, "model_sha256": model.sha256, "symbol_sha256": digest,
                                    "sample_rate": sr, "channels": audio.shape[1], "num_samples": len(audio),
                                    "bitrate_kbps": 32}, indent=1) + "\n")
        print(f"{name}: wrote {mz.relative_to(ROOT)} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
