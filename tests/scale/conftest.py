"""One local Ray for every test in this package (ray.init(num_cpus=2)), and a folder of songs with a corrupt one."""

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import CLIP

ray = pytest.importorskip("ray")


@pytest.fixture(scope="package")
def local_ray():
    """Shut down after this package's tests: a process holding Ray's threads must not be forked by the
    tests that run after (the batch CLI's -j workers fork)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR",
             runtime_env={"env_vars": {"MUZIP_THREADS": "1"}})
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="session")
def songs(tmp_path_factory):
    """Five songs of 5-20 s in two folders, and one corrupt WAV among them."""
    root = tmp_path_factory.mktemp("songs")
    x, sr = sf.read(str(CLIP))
    (root / "b").mkdir()
    for i in range(5):
        song = np.tile(np.roll(x, 3000 * i, axis=0), (2, 1))[: sr * (5 + 4 * i)]
        sf.write(str(root / ("b" if i % 2 else ".") / f"s{i}.wav"), song, sr)
    (root / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    return root


