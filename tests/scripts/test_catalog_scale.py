"""scripts/bench/catalog_scale.py on a catalog just past the ANN threshold (here 5,000 tracks, a quarter of
search.EXACT_MAX's: the bench runs at a million): the nightly run projects only its new tracks and updates the
index in place, and `similar` answers from a new process."""

from muzip.library import search
from scripts.bench import catalog_scale


def test_catalog_scale_reports_a_nightly_update_and_a_query(monkeypatch):
    monkeypatch.setattr(search, "EXACT_MAX", 5000)
    res = catalog_scale.run(6000, log=lambda *a: None)
    assert res["nightly"] == 60 and res["nightly_projected"] == 60 and res["nightly_index_churn"] == 0
    assert all(res[k] > 0 for k in ("build_write_s", "build_project_s", "build_index_s", "nightly_index_s",
                                    "similar_cli_median_s", "similar_cli_peak_mb", "catalog_mb"))
    assert 0 < res["nearest_p50_ms"] <= res["nearest_p99_ms"]
