"""Faint pencil in a digit region.

An unsure digit is read again with the fainter ink round it joined (edge.vision.fainter.grown_ink,
FrameReader.grown): pencil pressed unevenly leaves part of a digit under the frame's ink
threshold (the top of a 9's loop, the left of a 0), the rest reads unsurely and the reading
was `low_confidence`. A large digit wholly too faint for the contrast rule is read alone
(faint_single). The frames are tuning-renderer photos of the shipped MNIST sample.
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
from edge.vision.find import find_digits
from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def wild_single(seed: int, index: int):
    """The index-th wild-single photo of a seed, drawn from the shipped MNIST sample."""
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    images, labels = load_split(SAMPLE, "test")
    return list(generate.scenario_frames("wild-single", images, labels, index + 1, seed, 0))[index]


@pytest.fixture(scope="module")
def model():
    return load_model(None)


def read(model, frame, kind: str):
    reader = FrameReader(model, [RegionSettings(kind=kind)], 0.9, "dev")
    # The lone digit judged by the model alone: these pencil digits in dim light are as faint
    # on their page as a hair, and weighed with it (edge.vision.marks) the 0 below is no digit
    # at all, one of the single digits that judge costs (README, "Weighed with its page").
    reader.weigh_page = False
    return reader.read(decode_image(frame.data), "x", 0)[0]


@pytest.mark.parametrize(
    ("seed", "index", "digit"),
    [
        (13, 41, "7"),  # the 7 alone read 0.66 sure
        (36, 28, "0"),  # ruled, pencil, dim: read as a 3 (0.33) without the 0's left side
    ],
)
def test_a_digit_with_a_lightly_pressed_part_is_read_whole(model, seed, index, digit) -> None:
    frame = wild_single(seed, index)
    assert frame.expected["value"] == digit
    reading = read(model, frame, "digit")
    assert (reading.status, reading.value) == ("ok", digit)
    assert reading.digits[0].confidence >= 0.9
    # The published box is the grown digit's, as tall as the written digit.
    _, _, _, h = reading.digits[0].box
    _, _, _, written = frame.expected["digit_boxes"][0]
    assert h >= 0.9 * written


def test_a_number_region_does_not_grow_its_digits(model) -> None:
    # A photo whose digit grows to a sure 0 in a digit region stays unpublished read as a
    # number: in numbers the second reading put out a wrong number for every two or three
    # right ones on the tuning frames.
    frame = wild_single(36, 28)
    reading = read(model, frame, "number")
    # Its unsure 3 (the 0 without its left side) is not published; being the number's one
    # digit, the lone-digit judge (FrameReader.lone_check) also finds it no digit at all.
    assert reading.status == "no_digit" and reading.value is None
    assert read(model, frame, "digit").value == "0"


def test_fainter_ink_touching_a_digit_joins_it_and_paper_grain_does_not() -> None:
    # A 7 drawn on clean paper: its stem dark, its bar just under the frame's ink threshold
    # (the threshold sits at its floor of 24 on a clean page; the bar's contrast is about 20).
    page = np.full((240, 240), 230, np.uint8)
    cv2.line(page, (120, 70), (100, 170), 40, 5)
    cv2.line(page, (80, 72), (120, 72), 212, 5)
    rng = np.random.default_rng(0)
    specks = rng.integers(0, 240, size=(40, 2))
    for x, y in specks:  # faint grain away from the digit
        if abs(int(x) - 100) > 60 or abs(int(y) - 120) > 80:
            page[y, x] = 215
    [candidate] = find_digits(page, "digit", judge=lambda inks: np.ones(len(inks)))
    assert candidate.grow is not None
    grown = candidate.grow()
    assert grown is not None
    x, _, w, _ = candidate.box
    gx, _, gw, _ = grown.box
    assert gx <= 82 < x  # the bar's left end is in the grown digit, not in the stem alone
    assert gx + gw <= x + w + 2  # and nothing from the grain far to the side


@pytest.mark.parametrize(
    ("seed", "index", "digit"),
    [
        (13, 13, "0"),  # ruled paper in shadow, dim: its strokes 0.69 of the contrast rule's level
        (53, 7, "9"),  # plain paper in shadow, blurred: 0.62 of it
    ],
)
def test_a_large_faint_digit_alone_in_a_digit_region_is_read(model, seed, index, digit) -> None:
    # A pencil digit too faint for the contrast rule, and for the 0.7 of it a lone faint mark
    # needs: as wide as a digit, it is no scrap of a ruled line, so 0.55 of the level is
    # enough (edge.vision.faint.faint_single, faint_wide_contrast). It was no_digit.
    frame = wild_single(seed, index)
    assert frame.expected["value"] == digit
    reading = read(model, frame, "digit")
    assert (reading.status, reading.value) == ("ok", digit)
