"""`level = true` on a counter region: its cells levelled by the wheels that stand still."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.config import RegionSettings
from edge.meter.level import LEVEL_MAX_SHARE, Leveller, still_offset
from edge.reading import Digit
from tests.edge.test_app import run_daemon

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"
EXPECTED = json.loads((METER / "expected.json").read_text())


def wheels(*positions: float) -> list[Digit]:
    box = (0, 0, 10, 20)
    return [Digit(digit=int(p) % 10, confidence=1.0, box=box, position=p) for p in positions]


def test_the_still_wheels_offset_is_the_middle_of_all_but_the_last() -> None:
    # A box too high: the left wheels read a tenth or two low; the last wheel turns freely.
    assert still_offset(wheels(9.8, 9.9, 0.9, 7.9, 3.4)) == pytest.approx(-1.0)
    assert still_offset(wheels(0.1, 2.2, 5.0, 6.6)) == pytest.approx(1.0)
    assert still_offset(wheels(4.0, 7.3)) is None  # one still wheel says too little


def test_the_cells_move_after_three_readings_agree_and_no_further_than_a_quarter() -> None:
    leveller = Leveller()
    for _ in range(2):
        leveller.observe("water", wheels(9.91, 9.91, 0.91, 7.91, 3.4), 99)
        assert leveller.dy("water") == 0  # two readings are not enough
    leveller.observe("water", wheels(9.91, 9.91, 0.91, 7.91, 3.4), 99)
    assert leveller.dy("water") == 7  # 0.9 tenths low: 0.9 x 2.4/32 x 99 px down
    for _ in range(5):  # level now: nothing moves
        leveller.observe("water", wheels(0.0, 0.0, 1.0, 8.0, 3.4), 99)
    assert leveller.dy("water") == 7
    for _ in range(30):  # half-way wheels every time: the cells stop at a quarter of a cell
        leveller.observe("water", wheels(9.5, 9.5, 0.5, 7.5, 3.4), 99)
    assert abs(leveller.dy("water")) == round(LEVEL_MAX_SHARE * 99)
    assert leveller.dy("other") == 0


def test_level_is_for_counters_only() -> None:
    assert RegionSettings(name="m", kind="counter", digits=6, level=True).level
    with pytest.raises(ValidationError, match="level: only for counter regions"):
        RegionSettings(name="m", kind="display", digits=6, level=True)
    with pytest.raises(ValidationError, match="only for regions of kind counter or display"):
        RegionSettings(name="m", kind="number", level=True)


def replay(tmp_path: Path, region: dict) -> tuple[Counter[str], list[list[int] | None]]:
    proc = run_daemon(
        tmp_path, METER, None, "--once", extra_env={"DIGITCAM_REGIONS": json.dumps([region])}
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    readings = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    tally: Counter[str] = Counter()
    for r in readings:
        want = EXPECTED[r["frame"]["source"].split("/")[-1]]["value"]
        right = r["status"] == "ok" and r["value"] == want
        tally["right" if right else "wrong" if r["status"] == "ok" else r["status"]] += 1
    return tally, [r.get("shift") for r in readings]


def test_a_box_set_8_pixels_too_low_is_levelled_by_the_daemon(tmp_path: Path) -> None:
    # The bundled water meter's 30 frames, the box 8 px lower than the wheels' windows: read
    # as set, the wheels read high and the last one is published a tenth high now and then.
    region = dict(EXPECTED[sorted(EXPECTED)[0]]["region"])
    x, y, w, h = region["box"]
    region["box"] = [x, y + 8, w, h]
    as_set, _ = replay(tmp_path / "as-set", region)
    levelled, shifts = replay(tmp_path / "levelled", {**region, "level": True})
    assert levelled["right"] > as_set["right"] and levelled["wrong"] < as_set["wrong"]
    assert shifts[:3] == [None, None, None]  # three readings weighed before the first move
    assert all(s is not None and s[0] == 0 and -9 <= s[1] <= -5 for s in shifts[3:])
