"""A short seeded run of scripts/fuzz/library_fuzz.py: hostile catalogs and classifier files through the real
CLI commands, in-process; none may end in an exception, a stray message, a changed input or a bomb read."""

import pytest

from scripts.fuzz import library_fuzz


@pytest.fixture(scope="module")
def summary():
    return library_fuzz.run(30, seed=7)


def test_thirty_library_cases_find_nothing(summary):
    assert summary["cases"] == 30
    assert summary["failures"] == []
    assert set(summary["classes"]) <= {"ok", "muzip-error"}
    assert summary["classes"].get("muzip-error", 0) > 0  # the cases do reach the error paths
    assert summary["peak_bytes"] < library_fuzz.MEM_LIMIT


def test_every_kind_builds_an_input_and_replays(tmp_path):
    """Each kind's builder runs (the short run above draws only some of them), and a case replays alone."""
    import numpy as np
    seeds = library_fuzz.Seeds(str(tmp_path))
    rng = np.random.default_rng(0)
    for kind, build in library_fuzz.CATALOG_KINDS.items():
        build(rng, seeds, str(tmp_path / f"{kind}.db"))
    for kind, build in library_fuzz.CLASSIFIER_KINDS.items():
        if kind != "clf-bomb":  # a bomb is deflated from 64-256 MB of zeros: seconds, left to the long runs
            build(rng, seeds, str(tmp_path / f"{kind}.npz"), str(tmp_path))
    one = library_fuzz.run(1, seed=7, only=3)
    assert one["cases"] == 1 and one["failures"] == []
