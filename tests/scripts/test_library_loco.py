"""The leave-one-corpus-out bench: a fold's embedder never trains on the fold's corpus; the scores' maths."""

import json

import numpy as np
import soundfile as sf

from scripts.bench import library_loco, loco_sets


def fake_corpus(root, monkeypatch):
    """data/raw/<package>/<n>.wav for three packages, and two music21 renderings under data/styles."""
    rng = np.random.default_rng(0)
    for package in ("wesnoth-1.16-music", "drascula-music", "fretsonfire-songs-muldjord"):
        (root / "data" / "raw" / package).mkdir(parents=True)
        for i in range(2):
            sf.write(root / "data" / "raw" / package / f"{i}.wav", 0.1 * rng.standard_normal(800), 8000)
    (root / "data" / "styles" / "bach").mkdir(parents=True)
    for i in range(2):
        sf.write(root / "data" / "styles" / "bach" / f"{i}.flac", 0.1 * rng.standard_normal(800), 8000)
    monkeypatch.setattr(loco_sets, "ROOT", root)


def test_a_fold_never_trains_on_its_own_corpus(tmp_path, monkeypatch):
    fake_corpus(tmp_path, monkeypatch)
    games = loco_sets.training_files("games-A")
    assert not any("wesnoth" in p for p in games)
    assert any("drascula" in p for p in games) and any("styles" in p for p in games)
    styles = loco_sets.training_files("styles")
    assert not any("/styles/" in p for p in styles)
    assert any("wesnoth" in p for p in styles) and any("fretsonfire" in p for p in styles)


def test_a_file_shipped_twice_counts_once(tmp_path, monkeypatch):
    fake_corpus(tmp_path, monkeypatch)
    src = tmp_path / "data" / "raw" / "drascula-music" / "0.wav"
    (tmp_path / "data" / "raw" / "drascula-music" / "copy").mkdir()
    (tmp_path / "data" / "raw" / "drascula-music" / "copy" / "0.wav").write_bytes(src.read_bytes())
    files = loco_sets.training_files("games-A")
    assert sum(p.endswith("0.wav") and "drascula" in p for p in files) == 1


def test_segments_are_the_excerpts_ends_and_do_not_overlap():
    x = np.arange(int(60 * loco_sets.RATE))[:, None].repeat(2, axis=1).astype(np.float32)
    a, b = loco_sets.segments(x)
    assert len(a) == len(b) == int(loco_sets.SEGMENT_S * loco_sets.RATE)
    assert a[-1, 0] < b[0, 0]


def test_scores_see_structure_and_the_summary_keeps_missing_heads_missing():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 6)
    centres = rng.standard_normal((3, 8))
    X = centres[y] + 0.05 * rng.standard_normal((18, 8))
    A = X + 0.01 * rng.standard_normal(X.shape)
    B = X + 0.01 * rng.standard_normal(X.shape)
    unit = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in (X, A, B)]
    s = library_loco.score_vectors(*unit, y)
    assert s["accuracy"] == s["accuracy_1nn"] == 1.0 and s["nmi"] > 0.9 and s["p_at_1"] > 0.5
    noise = [rng.standard_normal((18, 8)) for _ in range(3)]
    worse = library_loco.score_vectors(*[v / np.linalg.norm(v, axis=1, keepdims=True) for v in noise], y)
    assert worse["accuracy_1nn"] < 0.8 and worse["p_at_1"] < 0.3
    results = {"f1": {"methods": {"m": s, "musly": {**s, "accuracy": None}}},
               "f2": {"methods": {"m": worse, "musly": {**worse, "accuracy": None}}}}
    table = library_loco.summary(results)
    assert table["musly"]["accuracy"] is None
    mean, std = table["m"]["p_at_1"]
    assert np.isclose(mean, (s["p_at_1"] + worse["p_at_1"]) / 2) and std > 0


def test_margins_read_the_target_both_ways():
    """The margin table: per fold against the better baseline; the mean against the largest spread of the
    scores, and (paired) the mean of the fold margins against their own spread."""
    metrics = library_loco.METRICS
    def row(v):
        return {k: v for k in metrics}
    results = {"f1": {"methods": {library_loco.TARGET: row(0.9), "classical": row(0.8), "musly": row(0.7)}},
               "f2": {"methods": {library_loco.TARGET: row(0.5), "classical": row(0.3), "musly": row(0.45)}}}
    lines = library_loco.margins(results)
    assert "| f1 | " + " | ".join(["+0.100"] * len(metrics)) + " |" in lines
    assert "| f2 | " + " | ".join(["+0.050"] * len(metrics)) + " |" in lines
    mean_row = next(ln for ln in lines if ln.startswith("| mean (spread)"))
    assert "+0.125 (0.250)" in mean_row  # 0.7 - 0.575 (the better mean, Musly's); the classical scores spread 0.25
    paired = next(ln for ln in lines if ln.startswith("| paired"))
    assert paired.count("+0.075 (0.025)") == len(metrics)
    assert "Ahead in 12 of 12 fold cells" in " ".join(lines)


def test_every_models_mz_is_read_against_its_own_runs_audio(tmp_path, monkeypatch, capsys):
    """The .mz parity table: each model's means against the audio of the same run, a fall over 0.02 named,
    a model whose run is missing left out."""
    from scripts.bench import mz_parity
    metrics = mz_parity.METRICS
    shipped_runs = dict(mz_parity.RUNS)  # which models are decoded: what --runs keeps of them

    def run(model, p_at_1_drop):
        key = mz_parity._mz_key(model)
        own = "own .mz cosine" if model == "muzip-v2.7" else f"own .mz of {model} cosine"
        fold = {mz_parity.AUDIO: {m: 0.8 for m in metrics},
                key: {m: (0.8 - p_at_1_drop if m == "p_at_1" else 0.81) for m in metrics},
                own: {"mean": 0.9, "min": 0.5}}
        return {"f1": fold, "f2": fold}
    (tmp_path / "old.json").write_text(json.dumps(run("muzip-v1", 0.03)))
    (tmp_path / "new.json").write_text(json.dumps(run("muzip-v2.7", 0.01)))
    monkeypatch.setattr(mz_parity, "LOGS", tmp_path)
    monkeypatch.setattr(mz_parity, "RUNS", {("muzip-v1", 24): ("old.json", True), ("muzip-v2", 24): ("absent.json", True),
                                            ("muzip-v2.7", 24): ("new.json", False)})
    rows = [ln for ln in mz_parity.section() if ln.startswith("| muzip")]
    assert len(rows) == 2
    assert rows[0].startswith("| muzip-v1 | 24 | decoded |") and "0.770 (-0.030)" in rows[0] and rows[0].endswith("no: P@1 |")
    assert rows[1].startswith("| muzip-v2.7 | 24 | its coefficients |") and rows[1].endswith("| 0.90 | yes |")
    # another recipe's runs by a file-name pattern: the same table from those files
    (tmp_path / "variant_v1mz.json").write_text(json.dumps(run("muzip-v1", 0.0)))
    monkeypatch.setattr(mz_parity, "RUNS", shipped_runs)
    monkeypatch.setattr("sys.argv", ["mz_parity", "--runs", "variant_{tag}.json"])
    mz_parity.main()
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| muzip")]
    assert len(rows) == 1 and rows[0].startswith("| muzip-v1 | 24 | decoded |") and rows[0].endswith("| 0.90 | yes |")
    assert "0.800 (+0.000)" in rows[0], rows
