"""entropy.compiled: the class-banded coder's compiled loops (the C build and numba's) give constriction's
words, byte for byte, and decode any payload, damaged or not, to the same latents or the same error."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

from muzip.codec import decompress_bytes, load_model
from muzip.codec.entropy import compiled
from muzip.codec.entropy.banded import BandedCoder
from muzip.errors import CorruptFileError
from scripts.fuzz.compiled_coder import latents

BACKENDS = compiled.backends()
BANDED = ["muzip-v2.4", "muzip-v2.6"]


@pytest.fixture(params=["c", "numba"])
def loops(request):
    """Each build of the loops in turn; the C build must be there wherever a C compiler is (pip builds it)."""
    if request.param not in BACKENDS:
        if request.param == "c" and shutil.which("cc"):
            pytest.fail("the C loops are not built although a compiler is here: run `make install` again")
        pytest.skip(f"{request.param} loops unavailable here")
    return BACKENDS[request.param]


def coder(name) -> BandedCoder:
    c = load_model(name).coder
    assert isinstance(c, BandedCoder)
    return c


def both(loops, fn):
    """fn() with constriction, then with `loops` (each as a value or the CorruptFileError's text)."""
    out = []
    for backend in (None, loops):
        with compiled.using(backend):
            try:
                out.append(fn())
            except CorruptFileError as exc:
                out.append(str(exc))
    return out


def test_fast_cdf_is_count_based_and_strictly_increasing():
    counts = np.array([[1, (1 << 24) - 3, 1, 1]], np.uint32)
    cdf = compiled.fast_cdf(counts)
    assert cdf[0, 0] == 0 and cdf[0, -1] == 1 << 24 and np.all(np.diff(cdf.astype(np.int64)) >= 1)
    with pytest.raises(ValueError):
        compiled.fast_cdf(np.array([[1, 2, 3]]))


@pytest.mark.parametrize("name", BANDED)
def test_words_and_latents_match_constriction(name, loops):
    c, rng = coder(name), np.random.default_rng(7)
    for trial in range(40):
        channels, n = (int(rng.integers(1, 3)), int(rng.integers(1, 55))) if trial else (2, 1)
        q = latents(rng, channels, n) if trial else np.zeros((2, 1, c.channels), np.int32)
        ref, new = both(loops, lambda: c.encode(q, [9] * channels))
        assert ref == new
        dec_ref, dec_new = both(loops, lambda: c.decode(new, n, [9] * channels))
        assert dec_ref.dtype == dec_new.dtype
        np.testing.assert_array_equal(dec_ref, q)
        np.testing.assert_array_equal(dec_new, q)


@pytest.mark.parametrize("name", BANDED)
def test_rate_estimates_are_the_same_to_the_bit(name, loops):
    """The rate search's estimate (entropy.banded.estimate_bits) through the loop, once they are loaded:
    the same float as numpy's, or the encoder's choices, and so its bytes, would differ."""
    c, rng = coder(name), np.random.default_rng(13)
    for trial in range(30):
        q = latents(rng, 1, int(rng.integers(1, 55)))[0]
        if trial % 3 == 0:
            q[0, 0], q[-1, -1] = -(c.radius + 1), 3 * c.radius  # escapes at both signs
        values = both(loops, lambda: c.estimate_bits(q, trial % 2, 9))
        assert values[0] == values[1]


def test_damaged_payloads_give_the_same_latents_or_the_same_error(loops):
    c, rng = coder("muzip-v2.6"), np.random.default_rng(11)
    refused = 0
    for trial in range(300):
        channels, n = int(rng.integers(1, 3)), int(rng.integers(1, 40))
        data = bytearray(c.encode(latents(rng, channels, n), [9] * channels))
        if trial % 3 == 0 and data:
            data[rng.integers(0, len(data))] ^= 1 << int(rng.integers(0, 8))
        elif trial % 3 == 1:
            del data[len(data) - 4 * int(rng.integers(0, 1 + len(data) // 4)):]
        else:
            data = bytearray(rng.integers(0, 256, 4 * int(rng.integers(0, 40)), dtype=np.uint8).tobytes())
        if trial == 2:
            data = bytearray(b"\x01\x00\x00\x00\x00\x00\x00\x00")  # ends in a zero word: constriction refuses it
        ref, new = both(loops, lambda: c.decode(bytes(data), n, [9] * channels))
        if isinstance(ref, str) or isinstance(new, str):
            assert ref == new
            refused += 1
        else:
            np.testing.assert_array_equal(ref, new)
    assert 0 < refused < 300


@pytest.mark.parametrize("name", BANDED)
def test_a_file_decodes_to_the_same_samples(name, loops):
    from muzip.codec import compress_array
    rng = np.random.default_rng(3)
    t = np.arange(4 * 44100) / 44100
    x = np.stack([np.sin(2 * np.pi * 440 * t), np.sign(np.sin(2 * np.pi * 3 * t))], 1) * 0.3
    x = (x + 0.05 * rng.standard_normal(x.shape)).astype(np.float32)
    model = load_model(name)
    data, other = both(loops, lambda: compress_array(x, 44100, 24, model=model))
    assert data == other
    ref, new = both(loops, lambda: decompress_bytes(data, model=model)[0])
    np.testing.assert_array_equal(ref, new)


@pytest.mark.parametrize("name", BANDED + ["muzip-v2.5"])
def test_golden_files_decode_to_their_recorded_symbols_through_the_loops(name, loops):
    import json
    from pathlib import Path
    from muzip.codec.verify import symbol_digest
    golden = Path(__file__).resolve().parents[1] / "data" / "golden" / f"{name}.mz"
    with open(golden, "rb") as f, compiled.using(loops):
        assert symbol_digest(f) == json.loads(golden.with_suffix(".json").read_text())["symbol_sha256"]


def _python(code: str) -> str:
    """What a fresh interpreter running `code` prints (it must exit 0)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_a_short_clip_does_not_import_numba():
    """numba's import and first call cost ~0.45 s: a clip is coded by the C loops (or constriction), and where
    the C build is there it codes from the first frame."""
    code = ("import sys, numpy as np\n"
            "from muzip.codec import compress_array, decompress_bytes, load_model\n"
            "from muzip.codec.entropy import compiled\n"
            "m = load_model('muzip-v2.6')\n"
            "x = (np.random.default_rng(0).standard_normal((10 * 44100, 2)) * 0.1).astype(np.float32)\n"
            "y, sr = decompress_bytes(compress_array(x, 44100, 24, model=m), model=m)\n"
            "print('numba' in sys.modules, compiled.kernels() is compiled.native())\n")
    assert _python(code) == ("False True" if "c" in BACKENDS else "False False")


def test_preload_pays_the_loops_one_time_cost_without_switching_to_numba():
    """For the fuzz harness: numba's one-time cost paid up front, short files still through constriction;
    nothing to pay where the C build is there (it codes every frame)."""
    code = ("import sys\n"
            "from muzip.codec.entropy import compiled\n"
            "compiled.preload()\n"
            "print('numba' in sys.modules, compiled.loaded())\n")
    assert _python(code) == ("False True" if "c" in BACKENDS else "True False")


def test_without_working_loops_constriction_codes_everything(monkeypatch):
    """No C build, numba missing or unable to build the loops: the coder falls back, the same bytes."""
    c, q = coder("muzip-v2.6"), latents(np.random.default_rng(5), 2, 20)
    with compiled.using(None):
        ref = c.encode(q, [9, 9])

    def broken(k):
        raise RuntimeError("no LLVM here")
    monkeypatch.setattr(compiled, "_kernels", None)
    monkeypatch.setattr(compiled, "_native", False)
    monkeypatch.setattr(compiled, "_first_calls", broken)
    monkeypatch.setattr(compiled, "ENCODE_AFTER_FRAMES", -1)
    monkeypatch.setattr(compiled, "DECODE_AFTER_FRAMES", -1)
    assert compiled.kernels() is None and not compiled.warm() and not compiled.loaded()
    assert c.encode(q, [9, 9]) == ref
    np.testing.assert_array_equal(c.decode(ref, 20, [9, 9]), q)


def test_an_index_error_in_the_loop_is_a_damaged_payload():
    """The decoder's loop checks its indices; should one ever fail, the payload is damaged, not a traceback."""
    c = coder("muzip-v2.6")
    with compiled.using(None):
        data = c.encode(np.zeros((1, 3, c.channels), np.int32), [9])

    class Broken:
        @staticmethod
        def decode_banded(*args):
            raise IndexError("index 9999 is out of bounds")
    with compiled.using(Broken), pytest.raises(CorruptFileError, match="damaged"):
        c.decode(data, 3, [9])


def test_the_c_decoder_refuses_an_index_outside_its_tables():
    """Its own checks (numba's are boundscheck): a band past the latents' end is status 3, not a wild read."""
    if "c" not in BACKENDS:
        pytest.skip("the C loops are not built here")
    c = coder("muzip-v2.6")
    with compiled.using(None):
        data = c.encode(latents(np.random.default_rng(2), 1, 4), [9])
    lat, cls, starts, widths, ctx_of_sum, class_of_peak = c._compiled("decode")
    out = np.empty((1, 4, c.channels), np.int32)
    words = np.frombuffer(data, "<u4").astype(np.uint32)
    args = (words, lat, cls, starts, widths, ctx_of_sum, class_of_peak, c.radius, out)
    assert BACKENDS["c"].decode_banded(*args) == 0
    bad = starts.copy()
    bad[-1] = c.channels  # the last band would read past each vector
    assert BACKENDS["c"].decode_banded(words, lat, cls, bad, *args[4:]) == 3
    with pytest.raises(CorruptFileError, match="damaged"):
        compiled.raise_for(3)


def test_a_c_build_of_another_version_is_not_used(monkeypatch):
    """A checkout updated without `make install` keeps its old library: its ABI version is checked, and a
    mismatch falls back to the other loops rather than calling functions of another signature."""
    if "c" not in BACKENDS:
        pytest.skip("the C loops are not built here")
    from muzip.codec.entropy import native_loops
    monkeypatch.setattr(native_loops, "_lib", None)
    monkeypatch.setattr(native_loops, "ABI", native_loops.ABI + 1)
    assert native_loops.load() is None
    monkeypatch.setattr(native_loops, "_lib", None)
    monkeypatch.setattr(native_loops, "ABI", native_loops.ABI - 1)
    assert native_loops.load() is native_loops
