"""scripts/fuzz/fuzz.py covers every shipped codec model (issue 23): a few seeded cases each, the coder-level
mutations (`payload`, `gains`, `envelope`, `fill`), the table, and the hook for scripts/fuzz/library_fuzz.py."""

import io
import sys
import types

import numpy as np
import pytest

from muzip.codec.verify import verify_file
from scripts.fuzz import fuzz
from scripts.fuzz.fuzz_cases import KINDS, m_envelope, m_fill, m_gains, make_seeds

SHIPPED = ("muzip-v1", "muzip-v2", "muzip-v2.1", "muzip-v2.2", "muzip-v2.3", "muzip-v2.4", "muzip-v2.5", "muzip-v2.6", "muzip-v2.7")


def test_every_shipped_codec_model_is_fuzzed():
    assert set(SHIPPED) <= set(fuzz.shipped_models())
    assert {"payload", "gains", "envelope", "fill"} <= set(KINDS)


@pytest.fixture(scope="module")
def few_cases():
    """12 cases per model, the library hook left out (it has its own tests)."""
    return fuzz.run_all(12, seed=23, models=SHIPPED, library=False)


def test_a_few_cases_per_model_have_no_failures(few_cases):
    assert list(few_cases["models"]) == list(SHIPPED)
    for name, summary in few_cases["models"].items():
        assert summary["model"] == name and summary["cases"] == 12
        assert summary["failures"] == [], summary["failures"][:3]
        assert summary["classes"].get("ok", 0) >= 6  # most mutations still decode
    assert few_cases["failures"] == []
    lines = fuzz.table(few_cases)
    assert lines[1].split()[1:] == list(SHIPPED) and lines[-2].split()[0] == "total"
    assert "library inputs not fuzzed" in lines[-1]  # library=False


def test_forged_envelopes_and_gains_of_v22_are_damage_never_a_crash():
    """The `envelope` mutation re-codes muzip-v2.2's temporal envelope (the `gains` one keeps it and forges
    the band gains after it): both are damaged frames, never a crash."""
    seeds = make_seeds(fuzz.load("muzip-v2.2"))
    small = [s for s in seeds if s.parsed.records and s.name != "golden"]
    seen = set()
    for i in range(32):
        rng = np.random.default_rng([7, i])
        mutate = m_envelope if i % 2 == 0 else m_gains
        result = verify_file(io.BytesIO(mutate(rng, small[i % len(small)], seeds)))
        seen.update(p.split(": ", 1)[1].split(" (")[0] for p in result.problems)
    assert {"temporal envelope is damaged", "band gains are damaged"} <= seen, seen


def test_forged_fill_levels_of_v25_decode_or_are_damage_and_the_other_forgeries_keep_them():
    """Any fill byte is a legal level: `fill` files with all bytes there decode clean, cut ones are damaged.
    The `gains` and `envelope` mutations keep v2.5's fill bytes ahead of what they forge, so they still
    reach the band gains and the envelope."""
    seeds = make_seeds(fuzz.load("muzip-v2.5"))
    small = [s for s in seeds if s.parsed.records and s.name != "golden"]
    seen, clean = set(), 0
    for i in range(36):
        rng = np.random.default_rng([11, i])
        mutate = (m_fill, m_gains, m_envelope)[i % 3]
        result = verify_file(io.BytesIO(mutate(rng, small[i % len(small)], seeds)))
        seen.update(p.split(": ", 1)[1].split(" (")[0] for p in result.problems)
        clean += mutate is m_fill and not result.problems
    assert clean >= 3
    assert {"temporal envelope is damaged", "band gains are damaged"} <= seen, seen


@pytest.fixture(scope="module")
def v21_seeds():
    return make_seeds(fuzz.load("muzip-v2.1"))


def test_forged_band_gains_are_damage_never_a_crash(v21_seeds):
    """The `gains` mutation re-codes muzip-v2.1 gain symbols: those past the encoder's cap are damaged frames."""
    seen = set()
    small = [s for s in v21_seeds if s.parsed.records and s.name != "golden"]  # frames to forge, quick to check
    for i in range(24):
        rng = np.random.default_rng([5, i])
        seed = small[i % len(small)]
        data = m_gains(rng, seed, v21_seeds)
        result = verify_file(io.BytesIO(data))
        seen.update(p.split(": ", 1)[1].split(" (")[0] for p in result.problems)
    assert "band gains are damaged" in seen


def test_library_hook_adds_the_library_counts(monkeypatch, few_cases):
    calls = []

    def run(cases, seed):
        calls.append((cases, seed))
        return {"kinds": {"catalog": {"ok": 3, "muzip-error": 1}, "classifier": {"FAIL-exception": 1}},
                "failures": [{"case": 4, "kind": "classifier", "outcome": "FAIL-exception", "error": "boom"}]}
    monkeypatch.setitem(sys.modules, "scripts.fuzz.library_fuzz", types.SimpleNamespace(run=run))
    lib = fuzz.library_counts(7, 1)
    assert calls == [(7, 1)] and lib["classes"] == {"ok": 3, "muzip-error": 1, "FAIL-exception": 1}
    lines = fuzz.table({**few_cases, "library": lib})
    assert any("library: catalog" in ln and "3/1/0" in ln for ln in lines)
    assert any("library: classifier" in ln and "0/0/1" in ln for ln in lines)
    assert any("library total" in ln and "3/1/1" in ln for ln in lines)


def test_library_hook_is_skipped_only_when_the_module_is_missing(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def missing(name, *args, **kw):
        if name == "scripts.fuzz.library_fuzz":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kw)
    monkeypatch.delitem(sys.modules, "scripts.fuzz.library_fuzz", raising=False)
    monkeypatch.setattr(builtins, "__import__", missing)
    assert fuzz.library_counts(5, 1) is None

    def broken(name, *args, **kw):  # the module is there, but what it imports is not: an error, not a skip
        if name == "scripts.fuzz.library_fuzz":
            raise ModuleNotFoundError("No module named 'usearch'", name="usearch")
        return real_import(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(ModuleNotFoundError, match="usearch"):
        fuzz.library_counts(5, 1)
