"""mock_frames/lone_marks.py: the lone marks of saved frames harvested, the page judge fitted."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.vision.marks import FEATURES
from tests.conftest import load_script
from tests.edge.test_digits import SAMPLE, draw_digit, paper, to_uint8
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def lone_marks():
    return load_script("mock_lone_marks", ROOT / "mock_frames" / "lone_marks.py")


def test_a_hair_and_a_digit_are_harvested_with_what_keeping_them_gives(
    lone_marks, tmp_path: Path
) -> None:
    harvest = load_script("mock_harvest", ROOT / "mock_frames" / "harvest.py")
    hair, _ = harvest.photo("wild-flawed-blank", 276, None, 16)  # a hair read as 1
    images, labels = load_split(SAMPLE, "test")
    sheet = paper(gradient=0.3, noise=3)
    draw_digit(sheet, images[409], 280, 180, 80)  # a 1 in dark ink
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "hair.png"), hair)
    cv2.imwrite(str(folder / "one.png"), to_uint8(sheet))
    cv2.imwrite(str(folder / "chalk.png"), 255 - to_uint8(sheet))  # light on a dark board
    one_value = {"value": str(labels[409])}
    expected = {"hair.png": {"value": None}, "one.png": one_value, "chalk.png": one_value}
    (folder / "expected.json").write_text(json.dumps(expected))
    out = tmp_path / "h.json"
    assert lone_marks.main(["harvest", str(folder), "--kind", "digit", "--out", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert saved["features"] == list(FEATURES)
    records = {r["frame"]: r for r in saved["records"]}
    assert sorted(records) == ["frames/chalk.png", "frames/hair.png", "frames/one.png"]
    hair, one = records["frames/hair.png"], records["frames/one.png"]
    assert hair["wrong_if_kept"] and not hair["digit_page"]
    assert one["right_if_kept"] and one["digit_page"]
    # The reader judges light writing alone (the page's measures are of dark ink): so noted.
    assert records["frames/chalk.png"]["alone"]
    assert not hair["alone"] and not one["alone"]
    assert all(len(r["features"]) == len(FEATURES) for r in records.values())


def test_the_fit_separates_what_it_was_shown_and_prints_the_constants(
    lone_marks, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Digits: written dark (contrast 0.6); marks of empty pages faint (0.2), the judge's
    # doubt alike for both, so only the page can tell them apart.
    rng = np.random.default_rng(3)
    paths = []
    for part in range(2):
        records = []
        for i in range(200):
            digit = i % 4 != 0
            features = rng.normal(0, 1, len(FEATURES))
            features[1] = (0.6 if digit else 0.2) + rng.normal(0, 0.05)
            records.append({"frame": f"{part}/{i}", "digit_page": digit, "read": 1,
                            "doubt": 0.3, "features": features.tolist(),
                            "right_if_kept": digit, "wrong_if_kept": not digit})  # fmt: skip
        paths.append(tmp_path / f"h{part}.json")
        paths[-1].write_text(json.dumps({"features": FEATURES, "records": records}))
    sets = [json.loads(p.read_text())["records"] for p in paths]
    model = lone_marks.fit(sets[0], negative_weight=3.0)
    keep = lone_marks.kept(sets[1], model)
    assert (keep == np.array([r["digit_page"] for r in sets[1]])).mean() > 0.98
    assert lone_marks.tally(sets[1], keep)[1] <= 2  # marks of empty pages published: hardly any
    assert lone_marks.main(["fit", *map(str, paths), "--hold-out"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("held out: right / ok but wrong") == 2
    for name in ("MEANS =", "SCALES =", "WEIGHTS =", "BIAS ="):
        assert name in printed


def test_marks_judged_alone_stay_out_of_the_fit_and_are_kept_by_the_judge(lone_marks) -> None:
    rng = np.random.default_rng(5)

    def record(digit: bool, alone: bool, doubt: float) -> dict:
        features = rng.normal(0, 1, len(FEATURES))
        features[1] = (0.6 if digit else 0.2) + rng.normal(0, 0.05)
        if alone:  # light writing: its page measures lie far from any ink on paper
            features[1:] = -50.0
        return {"digit_page": digit, "doubt": doubt, "alone": alone,
                "features": features.tolist(), "right_if_kept": digit,
                "wrong_if_kept": not digit}  # fmt: skip

    weighed = [record(i % 4 != 0, False, 0.3) for i in range(200)]
    chalk = [record(True, True, 0.2), record(True, True, 0.7)]
    means, scales, weights = lone_marks.fit(weighed + chalk, negative_weight=3.0)
    alone_fit = lone_marks.fit(weighed, negative_weight=3.0)
    assert np.allclose(means, alone_fit[0]) and np.allclose(weights, alone_fit[2])
    # As the reader decides: the judge alone, whatever the (meaningless) measures say.
    assert list(lone_marks.kept(chalk, (means, scales, weights))) == [True, False]
