"""mock_frames/meter_covers.py: one wheel of a meter frame hidden, and the readings counted."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.meter.printed import cell_boxes
from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"
covers = load_script("meter_covers", ROOT / "mock_frames" / "meter_covers.py")


def first_frame() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    expected = json.loads((METER / "expected.json").read_text())
    name = sorted(expected)[0]
    gray = cv2.imread(str(METER / name), cv2.IMREAD_GRAYSCALE)
    region = expected[name]["region"]
    return gray, cell_boxes(tuple(region["box"]), region["digits"])


def six_frames(folder: Path) -> None:
    """The bundled meter's first six frames and their expectations, copied into `folder`."""
    expected = json.loads((METER / "expected.json").read_text())
    names = sorted(expected)[:6]
    for name in names:
        (folder / name).write_bytes((METER / name).read_bytes())
    (folder / "expected.json").write_text(json.dumps({n: expected[n] for n in names}))


@pytest.mark.parametrize("how", ["glare", "sticker", "smudge"])
def test_a_cover_hides_the_middle_of_its_wheel_and_leaves_the_others(how: str) -> None:
    gray, cells = first_frame()
    for seed in range(5):
        x, y, w, h = cells[2]
        out = covers.cover(gray, cells[2], how, np.random.default_rng(seed))
        middle = out[y + h // 3 : y + 2 * h // 3, x + w // 3 : x + 2 * w // 3].astype(int)
        if how == "glare":
            assert np.median(middle) >= 240  # burnt out
        elif how == "smudge":
            assert np.median(middle) <= 80  # dark over the wheel's face
        else:
            assert middle.max() - middle.min() <= 40  # a flat card, the digit gone
        for k in (0, 4, 5):  # wheels two away and more are untouched
            cx, cy, cw, ch = cells[k]
            assert np.array_equal(out[cy : cy + ch, cx : cx + cw], gray[cy : cy + ch, cx : cx + cw])
    with pytest.raises(ValueError, match="one of glare"):
        covers.cover(gray, cells[0], "fog", np.random.default_rng(0))


def test_covered_frames_are_counted_per_cover_and_the_bare_frames_publish_no_wrong_value(
    tmp_path: Path,
) -> None:
    six_frames(tmp_path)
    out = tmp_path / "counts.json"
    assert covers.main([str(tmp_path), "--json", str(out)]) == 0
    counts = json.loads(out.read_text())
    assert set(counts) == {"glare", "sticker", "smudge", "none"}
    for tally in counts.values():
        outcomes = {k: v for k, v in tally.items() if k != "covered wheel sure"}
        assert sum(outcomes.values()) == 6
    # As the bundled meter replays: with nothing covered, no wrong value is published.
    assert counts["none"].get("ok but wrong", 0) == 0
    assert counts["none"].get("right", 0) >= 4


def test_a_glare_spell_is_counted_before_during_and_after_it(tmp_path: Path) -> None:
    six_frames(tmp_path)
    out = tmp_path / "spell.json"
    argv = [str(tmp_path), "--glare-from", "2", "--glare-to", "3", "--json", str(out)]
    assert covers.main(argv) == 0
    counts = json.loads(out.read_text())
    # Six frames bare, then each of the six wheels glared on frames 2-3: 12 before, 12
    # during, 12 after.
    assert sum(counts["bare"].values()) == 6
    assert [sum(counts[p].values()) for p in ("before", "during", "after")] == [12, 12, 12]
    assert counts["bare"].get("ok but wrong", 0) == 0
    with pytest.raises(SystemExit):
        covers.main([str(tmp_path), "--glare-from", "2"])
