"""Hostile .mz files: a seeded run of scripts/fuzz/fuzz.py, and a regression test per finding of issue 6 §4
(extreme header values, lying index and trailer, sync spam, frame-number jumps, huge claimed lengths)."""

import io
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from muzip.audio import AudioSink
from muzip.codec import decompress_bytes, decompress_to
from muzip.container import _FRAME_HEAD, ContainerReader, read_info
from muzip.errors import CorruptFileError
from muzip.codec.verify import verify_file

from scripts.fuzz import fuzz

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "muzip-v1.mz"


@pytest.fixture(scope="module")
def golden():
    return GOLDEN.read_bytes()


@pytest.fixture(scope="module")
def honest(golden, model):
    return decompress_bytes(golden, model=model)[0]


def peak_of(fn):
    """(result, seconds, peak traced bytes) of fn()."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        result = fn()
        return result, time.perf_counter() - t0, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def all_apis(data, model):
    """Every public decode entry point on data: MuzipError subclasses only, or results."""
    read_info(io.BytesIO(data))
    read_info(io.BytesIO(data), verify=True)
    verify_file(io.BytesIO(data))
    return decompress_bytes(data, model=model)[0]


def test_seeded_fuzz_run_has_no_failures(model):
    summary = fuzz.run(200, seed=20240611, model=model)
    assert summary["cases"] == 200
    assert summary["failures"] == [], summary["failures"][:5]
    assert summary["classes"].get("ok", 0) > 100  # most mutations still decode


@pytest.mark.parametrize("rate", [0, 1, 7999, 192001, 2**31, 2**32 - 1])
def test_extreme_sample_rate_with_valid_crc_is_a_damaged_header(golden, model, rate):
    data = fuzz.set_header_fields(golden, sample_rate=rate)
    for call in (lambda: ContainerReader(io.BytesIO(data)), lambda: all_apis(data, model)):
        with pytest.raises(CorruptFileError, match="sample rate"):
            call()


@pytest.mark.parametrize("rate", [8000, 192000])
def test_edge_sample_rates_decode_and_write_wav(golden, model, rate):
    data = fuzz.set_header_fields(golden, sample_rate=rate)
    out = io.BytesIO()
    sinks = []

    def sink(sr, ch, n):
        sinks.append(AudioSink(out, sr, ch, "wav", num_samples=n))
        return sinks[0]
    decompress_to(ContainerReader(io.BytesIO(data)), model, sink)
    sinks[0].close()
    assert out.getvalue()[:4] == b"RIFF"


@pytest.mark.parametrize("field,value", [("model_rate", 48000), ("frame_samples", 22050)])
def test_header_disagreeing_with_its_model_is_damaged(golden, model, field, value):
    data = fuzz.set_header_fields(golden, **{field: value})
    assert read_info(io.BytesIO(data))[field] == value  # the container alone cannot tell
    with pytest.raises(CorruptFileError, match="does not match|model"):
        decompress_bytes(data, model=model)
    with pytest.raises(CorruptFileError):
        verify_file(io.BytesIO(data))


@pytest.mark.parametrize("total", ["+1 frame", "x1000", 2**40, 2**64 - 1, 0])
def test_lying_index_total_is_not_trusted(golden, honest, model, total):
    p = fuzz.Parsed.of(golden)
    value = {"+1 frame": p.total + 44100, "x1000": p.total * 1000}.get(total, total)
    data = p.assemble(total=value)
    info = read_info(io.BytesIO(data))
    assert not info["index_valid"] and info["total_num_samples"] != value
    audio, seconds, peak = peak_of(lambda: all_apis(data, model))
    np.testing.assert_array_equal(audio, honest)  # the header's length, from the frames
    assert peak < 64 << 20 and seconds < 5


def test_lying_index_structure_is_not_trusted(golden, honest, model):
    p = fuzz.Parsed.of(golden)
    head = fuzz.header_bytes(p.body)
    frames = b"".join(p.records)
    sizes = [len(r) for r in p.records]
    lies = [p.assemble(n=2**24), p.assemble(n=2**32 - 1), p.assemble(first=0),
            head + frames + fuzz.index_record([sizes[0] + 7, sizes[1] - 7] + sizes[2:], p.total, len(head))
            + fuzz.trailer(len(head) + len(frames)),
            # an index for 200,000 tiny frames, its total made to match them
            head + frames + fuzz.index_record([22] * 200000, 200000 * 44100, len(head)) + fuzz.trailer(len(head) + len(frames))]
    for data in lies:
        assert not ContainerReader(io.BytesIO(data)).load_index()
        audio, seconds, peak = peak_of(lambda: all_apis(data, model))
        assert len(audio) <= len(honest) and peak < 64 << 20 and seconds < 5
    np.testing.assert_array_equal(all_apis(lies[0], model), honest)


@pytest.mark.parametrize("offset", [0, 13, 2**40, 2**64 - 1, -17])
def test_lying_trailer_is_not_trusted(golden, honest, model, offset):
    data = golden[:-16] + fuzz.trailer(offset % len(golden) if offset < 0 else offset)
    assert not read_info(io.BytesIO(data))["index_valid"]
    np.testing.assert_array_equal(all_apis(data, model), honest)


@pytest.mark.parametrize("unit", [b"MZFR", b"MZIX", b"MZ",
                                  _FRAME_HEAD.pack(b"MZFR", 0, 44100, 3, 4, 1 << 20),  # fields pass, long claim
                                  _FRAME_HEAD.pack(b"MZFR", 0, 44100, 3, 4, 100),
                                  fuzz.frame_record(5, 44100, (3, 4), b""),
                                  fuzz.index_record([], 0, 0, n=3)[:16]])
def test_sync_spam_takes_linear_time(golden, honest, model, unit):
    hsize = 13 + len(fuzz.Parsed.of(golden).body)
    spam = (unit * (2**20 // len(unit) + 1))[:2**20]
    data = golden[:hsize] + spam + golden[hsize:]  # 1 MB of spam, then the real frames
    t0 = time.perf_counter()
    info = read_info(io.BytesIO(data), verify=True)
    t1 = time.perf_counter()
    audio = decompress_bytes(data, model=model)[0]
    assert t1 - t0 < 2.0 and time.perf_counter() - t1 < 2.0  # about 0.2 s each when the machine is idle
    assert info["n_frames"] == 3 and not info["truncated"]
    np.testing.assert_array_equal(audio, honest)


def _renumbered(golden, frame, jump, garbage=0):
    p = fuzz.Parsed.of(golden)
    recs = []
    for k, r in enumerate(p.records):
        _, idx, ns, lm, ls, _ = _FRAME_HEAD.unpack_from(r)
        recs.append(fuzz.frame_record((idx + jump) & 0xFFFFFFFF, ns, (lm, ls), r[18:-4]) if k >= frame else r)
    recs[frame:frame] = [bytes(garbage)] if garbage else []
    return p.assemble(records=recs)


@pytest.mark.parametrize("known_length", [True, False])
@pytest.mark.parametrize("jump", [1, 1000, 2**24 - 2, 2**32 - 2])
def test_frame_number_jump_past_the_data_is_damage(golden, model, jump, known_length):
    data = _renumbered(golden if known_length else fuzz.set_header_fields(golden, num_samples=2**64 - 1), 1, jump)
    report = []
    (_, seconds, peak) = peak_of(lambda: report.append(decompress_to(
        ContainerReader(io.BytesIO(data)), model, lambda sr, ch, n: fuzz._CountingSink(ch))))
    assert seconds < 2 and peak < 64 << 20
    assert any("skips" in m or "invalid" in m for m in report[0].damaged)
    assert read_info(io.BytesIO(data), verify=True)["n_frames"] <= 4  # frame 2 (now 3) may follow it


def test_frame_number_jump_is_concealed_as_far_as_the_skipped_bytes_reach(golden, model):
    unknown = fuzz.set_header_fields(golden, num_samples=2**64 - 1)  # no length: any frame number < 2^24
    ok = _renumbered(unknown, 1, 10, garbage=10 * 22)  # 10 lost frames could have fit there: concealed
    info = read_info(io.BytesIO(ok), verify=True)
    assert info["n_frames"] == 13 and info["damaged_frames"] == 10
    audio = decompress_bytes(ok, model=model)[0]
    assert 12 * 44100 < len(audio) <= 13 * 44100 and not audio[2 * 44100:10 * 44100].any()
    far = _renumbered(unknown, 1, 11, garbage=10 * 22)  # 11 could not: frame 12 is damage; frame 13,
    r = ContainerReader(io.BytesIO(far))                 # with frame 12's bytes skipped too, fits
    assert [e.index for e in r.frames() if e.frame] == [0, 13]


def test_huge_claimed_num_samples(golden, honest, model):
    with pytest.raises(CorruptFileError, match="num_samples"):  # more than 2^24 frames
        ContainerReader(io.BytesIO(fuzz.set_header_fields(golden, num_samples=2**40)))
    claim = 10**9  # 6.3 hours: in range, but the index says 3 s
    data = fuzz.set_header_fields(golden, num_samples=claim)
    audio, seconds, peak = peak_of(lambda: all_apis(data, model))
    np.testing.assert_array_equal(audio, honest)
    cut = data[:-100]  # no index: the claim is all there is
    audio, seconds, peak = peak_of(lambda: decompress_bytes(cut, model=model)[0])
    assert len(audio) <= len(honest) and peak < 64 << 20
    blocks = []

    class Sink:
        def write(self, block):
            blocks.append(len(block))
    report, seconds, peak = peak_of(lambda: decompress_to(ContainerReader(io.BytesIO(cut)), model,
                                                         lambda sr, ch, n: Sink(), pad_truncated=True))
    assert report.truncated and sum(blocks) == report.samples_written == claim
    assert max(blocks) <= 1 << 16 and peak < 32 << 20  # silence in bounded blocks
