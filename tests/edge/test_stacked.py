"""A number read as nothing but 1s whose boxes stand over one another is not published."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import RegionSettings
from edge.model import load_model
from edge.number_read import stacked_ones
from edge.reader import FrameReader
from edge.reading import Digit
from tests.conftest import load_script
from tests.edge.test_digits import SAMPLE
from tests.edge.test_reader import number_frame
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return load_model(None)


def ones(*boxes: tuple[int, int, int, int], digits: str | None = None) -> list[Digit]:
    return [
        Digit(int(d), 1.0, box) for d, box in zip(digits or "1" * len(boxes), boxes, strict=True)
    ]


def test_overlapping_slices_read_as_1s_are_found() -> None:
    # Slices of one blob: each box shares more than half of its neighbour's width.
    row = ones((100, 50, 30, 80), (110, 48, 40, 82), (130, 50, 30, 80))
    assert stacked_ones(row) == row
    # Only the pair that overlaps, of three.
    row = ones((100, 50, 20, 80), (160, 50, 20, 80), (170, 50, 20, 80))
    assert stacked_ones(row) == row[1:]


@pytest.mark.parametrize(
    ("boxes", "digits"),
    [
        (((100, 50, 20, 80), (140, 50, 20, 80)), "11"),  # side by side
        (((100, 50, 20, 80), (112, 50, 20, 80)), "11"),  # sharing 8 of 20 px: 0.4
        (((100, 50, 30, 80), (110, 48, 40, 82)), "17"),  # not all 1s (touching, cut apart)
        (((100, 50, 30, 80),), "1"),  # one digit
    ],
)
def test_written_1s_and_other_digits_are_not(boxes, digits: str) -> None:
    assert stacked_ones(ones(*boxes, digits=digits)) == []


def test_marks_standing_over_one_another_on_a_blank_page_are_not_published_as_111(
    model, monkeypatch
) -> None:
    # An empty page of the tuning renderer (wild-flawed-blank, seed 71): punched holes on
    # ruled paper leave slices over one another that each read as a 1.
    harvest = load_script("mock_harvest", ROOT / "mock_frames" / "harvest.py")
    gray, expected = harvest.photo("wild-flawed-blank", 103, None, 71)
    assert expected["value"] is None and "holes" in expected["conditions"]
    reader = FrameReader(model, [RegionSettings(kind="number")], 0.95, "dev")
    reading = reader.read(gray, "x", 0)[0]
    assert (reading.status, reading.value) == ("low_confidence", None)
    assert "".join(str(d.digit) for d in reading.digits) == "111"
    monkeypatch.setattr("edge.number_read.STACKED_SHARE", 9.0)  # the rule off
    before = reader.read(gray, "x", 0)[0]
    assert (before.status, before.value) == ("ok", "111")


def test_glare_on_squared_paper_reads_nothing(model) -> None:
    # The page this rule was first made for (seed 67: glare on squared paper, cut along a
    # slant into four slices that each read as a 1, "1111"): since the polarity test takes a
    # glare's soft edge out of the light ink, the page is no dark board and nothing is read.
    harvest = load_script("mock_harvest", ROOT / "mock_frames" / "harvest.py")
    gray, expected = harvest.photo("wild-flawed-blank", 30, None, 67)
    assert expected["value"] is None and "glare" in expected["conditions"]
    reader = FrameReader(model, [RegionSettings(kind="number")], 0.95, "dev")
    reading = reader.read(gray, "x", 0)[0]
    assert (reading.status, reading.value, reading.digits) == ("no_digit", None, [])


def test_a_written_11_is_still_read(model) -> None:
    images, labels = load_split(SAMPLE, "test")
    probs = model.predict((images[:200] / 255.0).astype(np.float32)[:, None])
    sure = [i for i in range(200) if labels[i] == 1 and probs[i][1] > 0.99][:3]
    reader = FrameReader(model, [RegionSettings(kind="number")], 0.95, "dev")
    for first, second in ((sure[0], sure[1]), (sure[1], sure[2])):
        reading = reader.read(number_frame(images, [first, second]), "x", 0)[0]
        assert (reading.status, reading.value) == ("ok", "11")
