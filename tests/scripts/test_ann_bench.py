"""scripts/bench/ann_bench.py on a small collection: every stage runs in its own process and reports what
docs/SCALE.md quotes (build time, size, peak RSS, latency, recall against exact search)."""

from scripts.bench import ann_bench


def test_ann_bench_stages_report_recall_against_exact_search():
    res = ann_bench.run(3000, "f16", "16,256", log=lambda *a: None)
    assert res["n"] == 3000 and res["index_mb"] > 0 and res["build_peak_mb"] > 0 and res["query_peak_mb"] > 0
    assert res["append"] == 30 and res["append_s"] >= 0
    low, high = res["queries"]["16"], res["queries"]["256"]
    assert high["recall_at_10"] >= 0.98  # a wide search of 3,000 vectors is nearly exact
    assert low["recall_at_10"] <= high["recall_at_10"]
    assert 0 < high["p50_ms"] <= high["p99_ms"]


def test_the_clusters_are_seeded():
    model = ann_bench.clusters(3000, ann_bench.DIM)
    a, b = ann_bench.draw(50, model, seed=3), ann_bench.draw(50, model, seed=3)
    assert (a == b).all() and abs(float((a * a).sum(axis=1).mean()) - 1.0) < 1e-5
