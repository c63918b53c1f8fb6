"""scripts/bench/rd_listening.py and the tables it adds to RD.md (scripts/bench/rd_report.py), from a small fake
results dict: measured-point comparisons beside the interpolated ones, the listening-measure tables, the JSON.
Fast: no corpus, no model, no ffmpeg."""

import argparse
import json

import numpy as np
import pytest

from scripts.bench import rd_bench
from scripts.bench.rd_listening import (measured_rows, measured_verdict, nearest_at_or_above, point_measures,
                                        write_results)
from scripts.bench.rd_report import ROOT, bracket, report

SR = 44100


def listening(pre, rise, lsd, tonal, early=None):
    return dict(attacks=12, gaps=0 if early is None else 1, pre_attack_db=pre, rise_db=rise, source_rise_db=30.0,
                rise_loss_db=30.0 - rise, early_ms=early, mean_early_ms=early, lsd_low_db=lsd, tonality_error=tonal)


def point(codec, target, kbps, visqol, mel, **lis):
    return dict(codec=codec, target=target, kbps=kbps, visqol=visqol, mel=mel, snr=10.0, enc_x=50.0, dec_x=60.0,
                delays=[0], lost=0, rates=[SR], **lis)


def fake_results():
    return {
        "muzip": [point("muzip", 16, 15.96, 4.197, 2.644, **listening(-2.0, 27.5, 3.1, 0.05)),
                  point("muzip", 24, 23.94, 4.233, 2.136, **listening(-1.0, 28.5, 2.5, 0.04)),
                  point("muzip", 96, 95.8, 4.389, 1.307, **listening(-0.5, 29.5, 1.5, 0.02))],
        "opus": [point("opus", 12, 12.83, 3.70, 3.9, **listening(4.0, 25.0, 4.0, 0.09)),
                 point("opus", 16, 16.67, 4.25, 3.2, **listening(3.0, 26.0, 3.5, 0.08)),
                 point("opus", 24, 24.71, 4.06, 2.2, **listening(2.0, 27.0, 3.0, 0.07))],
        "mp3": [point("mp3", 16, 16.09, 1.82, 9.3, **listening(-40.0, 2.0, 9.0, 0.30, early=12.0)),
                point("mp3", 24, 24.13, 1.83, 7.9, **listening(-35.0, 4.0, 8.0, 0.25, early=3.0))],
        "seed": [point("seed", None, 705.6, 1.5, 8.0, **listening(0.0, 30.0, 0.5, 0.01))],
    }


def fake_ctx(results):
    args = argparse.Namespace(quick=True, seconds=10.0, start=30.0, set="wesnoth", model="muzip-v2.1")
    return dict(args=args, results=results, notes={"vorbis": ["ffmpeg not found on PATH: skipped"]},
                excerpts=[(str(ROOT / "data" / "a.flac"), np.zeros((SR, 2), np.float32))], starts=[30.0],
                commit="0" * 40, model_info="`muzip-v2.1`", ffmpeg_version="ffmpeg: not found", load=(0.1, 0.2),
                elapsed=60.0, seed_info=None, png="rd.png", cpu="test cpu", max_delay=4410, references=[],
                reference_info={})


def test_nearest_measured_point_at_or_above_and_bracket():
    opus = fake_results()["opus"]
    assert nearest_at_or_above(opus, 15.96)["kbps"] == 16.67
    assert nearest_at_or_above(opus, 16.67)["kbps"] == 16.67
    assert nearest_at_or_above(opus, 30.0) is None           # above the highest measured rate: none
    curve = [(p["kbps"], p["visqol"]) for p in opus]
    assert bracket(curve, 15.96) == (12.83, 16.67)
    assert bracket(curve, 16.67) == (16.67, 16.67)
    assert bracket(curve, 12.0) is None and bracket(curve, 25.0) is None


def test_measured_rows_and_verdict():
    res = fake_results()
    rows = measured_rows(res["muzip"], res["opus"], "visqol", True, 16, 64)
    assert [r["target"] for r in rows] == [16, 24]
    assert rows[0]["base_kbps"] == 16.67 and rows[0]["diff"] == pytest.approx(4.197 - 4.25) and not rows[0]["better"]
    assert rows[1]["base_kbps"] == 24.71 and rows[1]["better"]
    text = measured_verdict(rows, "Opus", "ViSQOL")
    assert "better at 1 of 2" in text and "16 kbps: muzip 4.197 at 15.96 kbps vs 4.250 at 16.67 kbps" in text
    rows = measured_rows(res["muzip"], res["opus"], "mel", False, 16, 96)
    assert rows[-1]["base"] is None
    assert "no comparable measured point for 96 kbps" in measured_verdict(rows, "Opus", "mel")


def test_point_measures_aggregate_excerpts():
    per = [dict(attacks=2, pre_attack_db=1.0, rise_db=20.0, source_rise_db=30.0, gaps=1, early_ms=4.0,
                mean_early_ms=4.0, lsd_low_db=2.0, tonality_error=0.1),
           dict(attacks=6, pre_attack_db=3.0, rise_db=24.0, source_rise_db=32.0, gaps=0, early_ms=None,
                mean_early_ms=None, lsd_low_db=4.0, tonality_error=0.3),
           dict(attacks=0, pre_attack_db=None, rise_db=None, source_rise_db=None, gaps=2, early_ms=9.0,
                mean_early_ms=6.0, lsd_low_db=None, tonality_error=None)]
    m = point_measures(per)
    assert m["attacks"] == 8 and m["gaps"] == 3
    assert m["pre_attack_db"] == pytest.approx(2.5)           # mean over all 8 attacks
    assert m["rise_loss_db"] == pytest.approx((2 * 10 + 6 * 8) / 8)
    assert m["early_ms"] == 9.0 and m["mean_early_ms"] == pytest.approx((4 + 2 * 6) / 3)
    assert m["lsd_low_db"] == pytest.approx(3.0) and m["tonality_error"] == pytest.approx(0.2)
    none = point_measures([dict(attacks=0, pre_attack_db=None, rise_db=None, source_rise_db=None, gaps=0,
                                early_ms=None, mean_early_ms=None, lsd_low_db=None, tonality_error=None)])
    assert none["pre_attack_db"] is None and none["rise_loss_db"] is None and none["early_ms"] is None


def test_report_shows_measured_points_beside_interpolated_and_listening_tables():
    text = report(fake_ctx(fake_results()))
    verdicts = text.split("## Verdicts")[1].split("## Equal-bitrate comparison")[0]
    assert ("Against measured Opus points (nearest at or above muzip's bitrate) on ViSQOL: muzip better at 1 of 2"
            in verdicts)
    assert "16 kbps: muzip 4.197 at 15.96 kbps vs 4.250 at 16.67 kbps" in verdicts
    comparison = text.split("## Equal-bitrate comparison")[1].split("## Results per codec")[0]
    opus = comparison.split("### Opus (libopus CBR)")[1]
    row16 = next(line for line in opus.splitlines() if line.startswith("| 16 |"))
    cells = [c.strip() for c in row16.strip("|").split("|")]
    assert cells[:4] == ["16", "15.96", "12.83–16.67", "16.67"]
    assert cells[4] == "4.197" and cells[7] == "4.250" and cells[8] == "-0.053"   # measured ViSQOL and its Δ
    t = np.log(15.96 / 12.83) / np.log(16.67 / 12.83)
    assert float(cells[5]) == pytest.approx(3.70 + (4.25 - 3.70) * t, abs=1e-3)   # interpolated ViSQOL
    section = text.split("## Measures a listener would check")[1].split("## Speed")[0]
    for title in ("pre-attack level", "attack rise lost", "noise before music", "fine log-spectral distance",
                  "tonality error"):
        assert f"### {title}" in section
    pre = section.split("### pre-attack level")[1].split("###")[0]
    row16 = next(line for line in pre.splitlines() if line.startswith("| 16 |"))
    assert "| -2.0 |" in row16 and "40.0 (16.09)" in row16 and "3.0 (16.67)" in row16  # MP3, Opus at or above
    row96 = next(line for line in pre.splitlines() if line.startswith("| 96 |"))
    assert row96.count("n/a") == 2                            # both baselines end below 96 kbps
    early = section.split("### noise before music")[1].split("###")[0]
    assert "12.0 (16.09)" in early
    assert "| seed design (PCA 4x, float32) | — | 705.60 | 12 |" in section
    assert "BENCHMARKS" not in section and text.count("## Measures a listener would check") == 1


def test_write_results_json(tmp_path):
    res = fake_results()
    res["muzip"][0]["snr"] = float("inf")
    res["muzip"][0]["excerpts"] = [dict(kbps=np.float64(15.9), attacks=np.int64(3))]
    path = tmp_path / "rd_results.json"
    write_results(path, fake_ctx(res))
    doc = json.loads(path.read_text())
    assert doc["results"]["muzip"][0]["snr"] is None and doc["results"]["opus"][1]["kbps"] == 16.67
    assert doc["results"]["muzip"][0]["excerpts"] == [dict(kbps=15.9, attacks=3)]
    assert doc["excerpts"][0]["seconds"] == 1.0 and doc["args"]["set"] == "wesnoth"


def test_measure_stores_listening_measures_per_point():
    """rd_bench.measure with an in-process codec (one that adds a little noise): every point carries the
    listening measures and its per-excerpt values."""
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((2 * SR, 2))).astype(np.float32)
    x[: SR // 2] = 0.0                                          # a gap of digital silence, then music

    def encode(a, kbps):
        return np.ascontiguousarray(a, "<f4").tobytes()

    def decode(data):
        y = np.frombuffer(data, "<f4").reshape(-1, 2)
        return y + np.float32(0.01) * rng.standard_normal(y.shape).astype(np.float32), SR

    points, notes = rd_bench.measure("fake", encode, decode, [("a.flac", x)], (32,), None, warmup=False)
    assert notes == [] and len(points) == 1
    p = points[0]
    assert p["gaps"] == 1 and p["early_ms"] >= 400            # -40 dBFS noise all through the 0.5-s gap
    assert p["lsd_low_db"] > 0 and p["tonality_error"] >= 0
    assert p["excerpts"][0]["excerpt"] == "a" and p["excerpts"][0]["gaps"] == 1
