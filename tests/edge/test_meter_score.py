"""mock_frames/meter_score.py: one score for a counter model, from meter sequences and the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"
WHEELS = ROOT / "tests" / "fixtures" / "meter_wheels"
scorer = load_script("meter_score", ROOT / "mock_frames" / "meter_score.py")


def test_the_score_counts_a_wrong_reading_as_ten_right_ones(tmp_path: Path, capsys) -> None:
    out = tmp_path / "score.json"
    argv = [str(METER), "--sample", str(WHEELS), "--sim-seeds", "1", "--json", str(out)]
    assert scorer.main(argv) == 0
    result = json.loads(out.read_text())
    sequences, simulated = result["parts"]["sequences"], result["parts"]["simulated"]
    assert sum(sequences.values()) == 30 and sum(simulated.values()) == 1000
    # The bundled water meter, read in order with its rules, publishes no wrong value (and 20
    # of its 30 readings right with the shipped pair of networks; the single network before
    # it, 24: two networks are surer of fewer wheels).
    assert sequences.get("ok but wrong", 0) == 0 and sequences["right"] >= 20
    right = sequences["right"] + simulated["right"]
    wrong = sequences.get("ok but wrong", 0) + simulated.get("ok but wrong", 0)
    assert result["score"] == right - 10 * wrong
    assert f"score (right - 10 x ok but wrong): {result['score']:g}" in capsys.readouterr().out
    # The weight is the user's to set; a wrong reading costs what it says.
    assert scorer.main([*argv, "--wrong-weight", "0"]) == 0
    assert json.loads(out.read_text())["score"] == right


def test_a_stricter_threshold_publishes_fewer_right_readings(tmp_path: Path) -> None:
    counts = []
    for threshold in ("0.9", "0.999"):
        out = tmp_path / f"{threshold}.json"
        argv = [str(METER), "--sim-seeds", "", "--min-confidence", threshold, "--json", str(out)]
        assert scorer.main(argv) == 0
        counts.append(json.loads(out.read_text())["parts"]["sequences"])
    assert counts[1]["right"] < counts[0]["right"], counts


def test_seeds_are_given_as_ranges_and_a_run_needs_its_crops() -> None:
    assert scorer.seed_list("1-3,7") == [1, 2, 3, 7] and scorer.seed_list("") == []
    with pytest.raises(SystemExit):
        scorer.main([str(METER)])  # the run's crops: --meter-data or --sample
    with pytest.raises(SystemExit):
        scorer.main(["--sim-seeds", ""])  # nothing to score
