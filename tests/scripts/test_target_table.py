"""scripts/bench/target_table.py: the issue-24 targets read from rd_bench results, against Opus's measured
point at or above muzip's bitrate (never interpolated) and against a reference model."""

import json

from scripts.bench.target_table import behind, report


def _point(target, kbps, visqol, mel, tonality=0.02, pre=0.0, rise=18.0, lsd=5.0):
    return {"target": target, "kbps": kbps, "visqol": visqol, "mel": mel, "lsd_low_db": lsd,
            "tonality_error": tonality, "pre_attack_db": pre, "rise_db": rise}


def test_behind_compares_as_printed_and_each_measure_in_its_direction():
    mine = _point(24, 24.0, 4.2504, 2.0, tonality=0.03, pre=0.5, rise=17.0)
    theirs = _point(24, 24.7, 4.2496, 2.1, tonality=0.02, pre=-0.5, rise=18.0)
    got = behind(mine, theirs)
    assert [g.split(" ")[0] for g in got] == ["tonality", "pre-attack", "rise"]  # ViSQOL ties as printed (4.250)
    assert behind(theirs, theirs) == []


def test_report_uses_the_measured_opus_point_at_or_above_and_lists_every_gap(tmp_path):
    data = {"model": "`muzip-vX`, sha256 `00`", "results": {
        "muzip": [_point(6, 5.9, 3.5, 3.0), _point(24, 23.9, 4.0, 2.5)],
        "muzip-v2.1": [_point(6, 5.9, 3.6, 3.1), _point(24, 23.9, 3.9, 2.6)],
        "opus": [_point(None, 16.7, 3.8, 3.0), _point(None, 23.5, 4.5, 1.0), _point(None, 24.7, 3.9, 2.6)]}}
    path = tmp_path / "rd_results-band.json"
    path.write_text(json.dumps(data))
    text = "\n".join(report(path, "muzip-v2.1"))
    assert "### band (rd_results-band.json; muzip-vX)" in text
    assert "(24.70)" in text and "(23.50)" not in text  # the point below muzip's bitrate is not the yardstick
    assert "- band 6 kbps, behind muzip-v2.1: ViSQOL 3.500 vs 3.600" in text
    assert "behind Opus" not in text  # 24 kbps: ahead of Opus's 24.7-kbps point on both
