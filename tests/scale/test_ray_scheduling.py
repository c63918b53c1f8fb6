"""How `--ray` hands out work: the largest files first (the short ones fill the pool's tail), and a Ray the
caller already holds is left running when a batch ends."""

import pytest

from muzip.scale import ray_engine

ray = pytest.importorskip("ray")


def test_files_go_largest_first_and_a_missing_one_last(tmp_path):
    sizes = {"a.wav": 10, "b.wav": 3000, "c.wav": 200, "d.wav": 3000}
    paths = []
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
        paths.append(str(tmp_path / name))
    paths.append(str(tmp_path / "missing.wav"))
    sizes = [ray_engine.file_bytes(p) for p in paths]
    assert ray_engine._largest_first(sizes) == [1, 3, 2, 0, 4]  # ties keep the listed order


def test_a_batch_leaves_a_ray_it_did_not_start(local_ray):
    held = ray_engine.connect(None, num_cpus=2)
    ray_engine.disconnect(held)
    assert ray.is_initialized()
