"""The frame's border: the paper's brightness there, and light reaching it.

The paper level is a closing of the frame, padded beyond its border so that light fading
towards the border is followed. A stroke near the border must not be reflected into false
light there: paper estimated too bright makes plain paper look inked, the ink joins the digit
to the border and the digit is thrown away as something the frame cuts.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.imageio import decode_image
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.binarize import extrapolate, ink_map
from tests.conftest import load_script
from tests.edge.test_digits import draw_digit, paper, to_uint8
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def test_a_stroke_near_the_border_is_not_reflected_into_light() -> None:
    row = np.full((1, 40), 95, np.uint8)
    row[0, 33:37] = 17  # a dark stroke 3 px from the right border
    padded = extrapolate(np.repeat(row, 5, axis=0), 8)
    assert padded[:, -8:].max() <= 95  # the old point reflection made 2 * 95 - 17 = 173


def test_light_fading_towards_the_border_is_continued() -> None:
    row = np.linspace(200, 150, 40).astype(np.uint8)[None]  # darker towards the right
    padded = extrapolate(np.repeat(row, 5, axis=0), 8)
    right = padded[2, -8:].astype(int)
    assert (np.diff(right) < 0).all() and right[-1] < 150  # keeps darkening, not flat


def test_a_crop_still_reflects_both_ways() -> None:
    row = np.full((1, 40), 95, np.uint8)
    row[0, 33:37] = 17
    padded = extrapolate(np.repeat(row, 5, axis=0), 8, brighten=True)
    assert padded[:, -8:].max() > 95


@pytest.fixture(scope="module")
def wild_single() -> dict[int, list]:
    """The first 50 wild-single frames of each seed, drawn from the shipped MNIST sample."""
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    images, labels = load_split(SAMPLE, "test")
    return {
        seed: list(generate.scenario_frames("wild-single", images, labels, 50, seed, 0))
        for seed in (2, 3, 8)
    }


@pytest.mark.parametrize(("seed", "index"), [(2, 13), (3, 28), (3, 31), (3, 49), (8, 32)])
def test_wild_photos_of_one_digit_are_read(wild_single, seed: int, index: int) -> None:
    """Tuning-renderer photos (pencil, shadows, dim) that an inflated paper level lost."""
    frame = wild_single[seed][index]
    gray = decode_image(frame.data)
    for kind in ("number", "digit"):
        reader = FrameReader(load_model(None), [RegionSettings(kind=kind)], 0.9, "dev")
        reading = reader.read(gray, "x", 0)[0]
        assert (reading.status, reading.value) == ("ok", frame.expected["value"]), kind


@pytest.mark.parametrize("depth", [10, 36])
def test_a_sunlit_strip_along_the_border_does_not_turn_the_page_into_a_board(depth: int) -> None:
    """A page in shadow but for a bright wedge along its top edge: still dark writing."""
    images, labels = load_split(SAMPLE, "test")
    sheet = paper(level=70, noise=3)
    for x in range(320):  # deepest at the left, gone half way across
        sheet[: int(depth * (1 - x / 320)), x] = 210
    sheet = cv2.GaussianBlur(sheet, (0, 0), 1.5)
    draw_digit(sheet, images[int(np.nonzero(labels == 9)[0][0])], 300, 220, 40)
    frame = to_uint8(sheet)
    assert not ink_map(frame).light_on_dark
    reader = FrameReader(load_model(None), [RegionSettings(kind="digit")], 0.9, "dev")
    reading = reader.read(frame, "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", "9")
