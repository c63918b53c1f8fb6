"""One long file decoded by several processes (muzip.codec.split_decode): the same samples and the same
damage reports as one process, and a clear error instead of a hang when a worker dies."""

import io
import os

import numpy as np
import pytest

from muzip.codec import compress_array, load_model
from muzip.codec.decode import ArraySink, DecodeReport, decode_frames, decompress_to
from muzip.codec.split_decode import CHUNK_FRAMES, MIN_FRAMES, split_decode_frames, split_workers
from muzip.container import ContainerReader
from muzip.errors import CorruptFileError, MuzipError

MODEL = "muzip-v2.6"
SECONDS = 70  # runs [0, 32), [32, 64), [64, 70): three runs dealt to two workers


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    rng = np.random.default_rng(11)
    t = np.arange(44100 * SECONDS) / 44100
    x = 0.1 * np.sin(2 * np.pi * 330 * t)[:, None] * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t))[:, None]
    x = (x + 0.02 * rng.standard_normal((len(t), 2))).astype(np.float32)
    model = load_model(MODEL)
    path = tmp_path_factory.mktemp("split") / "long.mz"
    path.write_bytes(compress_array(x, 44100, 12, model=model))
    return model, path


def decode(path, model, workers, **kw):
    sink = ArraySink()
    with open(path, "rb") as f:
        report = decompress_to(ContainerReader(f), model, lambda sr, ch, n: sink, workers=workers, **kw)
    return np.concatenate(sink.parts), report


def damaged_copy(path, tmp_path, frame):
    with open(path, "rb") as f:
        r = ContainerReader(f)
        assert r.load_index()
        at = r.frame_offsets[frame] + r.frame_sizes[frame] // 2
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    out = tmp_path / "damaged.mz"
    out.write_bytes(bytes(data))
    return out


def test_the_file_is_split_only_where_it_can_be(coded):
    model, path = coded
    with open(path, "rb") as f:
        r = ContainerReader(f)
        assert split_workers(r, model, 2, 0, None) == 2
        assert split_workers(r, model, 1, 0, None) == 1
        assert split_workers(r, model, 2, 0, MIN_FRAMES - 1) == 1  # too short to pay
        assert split_workers(r, model, 8, 0, None) == -(-SECONDS // CHUNK_FRAMES)  # one run per worker at most
        assert split_workers(r, load_model("muzip-v1"), 2, 0, None) == 1  # onnxruntime: no fork
    assert split_workers(ContainerReader(io.BytesIO(path.read_bytes())), model, 2, 0, None) == 1  # no file


@pytest.mark.parametrize("span", [{}, {"start": 10.5, "duration": 55.0}])
def test_two_processes_give_one_process_samples(coded, span):
    model, path = coded
    one, _ = decode(path, model, 1, **span)
    two, report = decode(path, model, 2, **span)
    assert one.shape == two.shape and np.array_equal(one, two)
    assert report.damaged == []


def test_a_damaged_frame_is_concealed_and_reported_once(coded, tmp_path):
    model, path = coded
    bad = damaged_copy(path, tmp_path, CHUNK_FRAMES)  # the first frame of a run: the run before reads it too
    one, r1 = decode(bad, model, 1)
    two, r2 = decode(bad, model, 2)
    assert len(r1.damaged) == 1 and r2.damaged == r1.damaged
    assert np.array_equal(one, two)
    with pytest.raises(CorruptFileError):
        decode(bad, model, 2, strict=True)


def test_a_worker_that_dies_is_an_error_not_a_hang(coded):
    model, path = coded

    def dying(*args):
        os._exit(3)

    with open(path, "rb") as f:
        frames = split_decode_frames(dying, DecodeReport, ContainerReader(f), model, 0, None, DecodeReport(), False, 2)
        with pytest.raises(MuzipError, match="ended unexpectedly"):
            list(frames)


def test_decode_frames_is_what_the_workers_run(coded):
    """The split reader's frames are decode_frames' own, for any run (what the byte identity rests on)."""
    model, path = coded
    with open(path, "rb") as f:
        r = ContainerReader(f)
        whole = dict(decode_frames(r, model, 0, None, DecodeReport()))
        run = dict(decode_frames(r, model, CHUNK_FRAMES, 2 * CHUNK_FRAMES, DecodeReport()))
    assert sorted(run) == list(range(CHUNK_FRAMES, 2 * CHUNK_FRAMES))
    assert all(np.array_equal(run[i], whole[i]) for i in run)
