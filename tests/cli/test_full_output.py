"""An output that takes no more (`-c > /dev/full`, a full disk) is named in the one-line error: the codec
commands named the input as if it had failed (a first-use review, session 50)."""

import os
import subprocess
import sys

import pytest
import soundfile as sf

from conftest import sine


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_compress_and_decompress_into_a_full_stdout_say_so(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, sine(440.0, 2.0, 44100, channels=2), 44100, subtype="PCM_16")
    mz = tmp_path / "a.mz"
    assert subprocess.run([sys.executable, "-m", "muzip", "compress", "-q", str(wav), "-o", str(mz)],
                          timeout=120).returncode == 0
    for command, src in (("compress", wav), ("decompress", mz)):
        with open("/dev/full", "w") as full:
            r = subprocess.run([sys.executable, "-m", "muzip", command, "-q", "-c", str(src)], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=120)
        assert (r.returncode, r.stderr) == (1, f"muzip: {src}: cannot write standard output (No space left on "
                                               "device)\n")
