"""Pieces of lines the line search missed (edge.vision.lines.continues_as_line): the sides of a
grid's squares seen askew are not 1s, and a 1 standing on the page still is, faint or not."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from edge.camera.imageio import decode_image
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.lines import continues_as_line
from tests.conftest import load_script
from tests.edge.test_digits import SAMPLE, draw_digit, paper, to_uint8
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]


def piece_of(contrast: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """continues_as_line for the ink of `contrast` inside `box` (ink level 50)."""
    x, y, w, h = box
    own = (contrast[y : y + h, x : x + w] >= 50).astype(np.uint8)
    return continues_as_line(own, (x, y), contrast, 50.0)


def test_a_piece_of_a_long_line_continues_and_a_stroke_alone_does_not() -> None:
    contrast = np.zeros((200, 200), np.uint8)
    cv2.line(contrast, (40, 0), (46, 199), 120, 2)  # a grid's side, a little askew
    assert piece_of(contrast, (38, 80, 12, 40))
    stroke = np.zeros((200, 200), np.uint8)
    cv2.line(stroke, (100, 80), (104, 120), 120, 2)  # a 1: paper past both ends
    assert not piece_of(stroke, (97, 78, 10, 44))
    cv2.line(stroke, (0, 121), (199, 121), 120, 2)  # standing on a ruled line
    assert not piece_of(stroke, (97, 78, 10, 42))
    over = np.zeros((200, 200), np.uint8)
    cv2.line(over, (60, 0), (60, 199), 60, 2)  # a faint grid line
    cv2.line(over, (60, 80), (60, 120), 200, 2)  # a pen's 1 written over it
    assert not piece_of(over, (57, 78, 7, 44))
    at_edge = np.zeros((200, 200), np.uint8)
    cv2.line(at_edge, (120, 0), (124, 199), 120, 2)  # a piece reaching the frame's bottom
    assert piece_of(at_edge, (119, 158, 8, 41))
    hanging = np.zeros((200, 200), np.uint8)
    cv2.line(hanging, (150, 0), (150, 120), 120, 2)  # goes on upwards only
    assert not piece_of(hanging, (147, 80, 6, 41))


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return load_script("mock_generate", ROOT / "mock_frames" / "generate.py")


@pytest.fixture(scope="module")
def reader() -> FrameReader:
    return FrameReader(load_model(None), [RegionSettings(kind="number")], 0.9, "dev")


def blank_page(generate: ModuleType, seed: int, n: int) -> tuple[np.ndarray, dict]:
    """Frame n of the wild-blank tuning scenario of `seed` (each frame is made from (seed, n))."""
    wild = generate.wild
    rng = np.random.default_rng([seed, wild.SCENARIOS.index("wild-blank"), n])
    frame, expected, quality = wild.blank_photo(rng)
    return decode_image(generate.render.jpeg(frame, quality)), expected


# Grid and ruled pages whose vertical lines the line search lost between the crossings: the
# pieces were published as "11" and "1". The last one's grid crossing, a 7 to the judge, stays
# unread too: the pieces tell it is a grid's debris (edge.vision.faint.faint_single).
@pytest.mark.parametrize(("seed", "n"), [(16, 363), (16, 382), (16, 522), (17, 70)])
def test_a_blank_page_with_lines_seen_askew_has_no_digit(
    generate: ModuleType, reader: FrameReader, seed: int, n: int
) -> None:
    gray, expected = blank_page(generate, seed, n)
    assert {"grid", "ruled"} & set(expected["conditions"])
    reading = reader.read(gray, f"wild-blank {seed}/{n}", 0)[0]
    assert (reading.status, reading.value) == ("no_digit", None)


def faint_one(n: int) -> np.ndarray:
    """The sample's n-th 1, in light pencil on a dim, grainy page, a little out of focus."""
    images, labels = load_split(SAMPLE, "test")
    sheet = paper(level=120, noise=4.0, seed=n)
    draw_digit(sheet, images[int(np.nonzero(labels == 1)[0][n])], 300, 200, 40, ink=0.8)
    return cv2.GaussianBlur(to_uint8(sheet), (3, 3), 0)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_a_faint_thin_1_alone_is_read_in_a_digit_region_only(n: int) -> None:
    # Too faint for the contrast rule; a digit region holds one digit, and now that pieces of
    # lines are told apart a thin faint mark the judge is sure of is that digit. A number
    # region may hold several faint digits of which this is one: it stays unread there.
    # Judged by the model alone: weighed with its page, a stroke this faint and thin alone is
    # what a hair looks like, and is no digit (tests/edge/test_lone.py).
    gray = faint_one(n)
    model = load_model(None)
    reader = FrameReader(model, [RegionSettings(kind="digit")], 0.9, "dev")
    reader.weigh_page = False
    digit = reader.read(gray, "1", 0)[0]
    assert (digit.status, digit.value) == ("ok", "1")
    number = FrameReader(model, [RegionSettings(kind="number")], 0.9, "dev").read(gray, "1", 0)
    assert number[0].status == "no_digit"


def test_a_hard_shadows_edge_on_a_blank_page_is_no_1_in_a_digit_region(
    generate: ModuleType,
) -> None:
    # The thin faint mark a digit region may read as a 1 (above) must not be the edge of a
    # shadow: one side of it is darker than the other.
    gray, expected = blank_page(generate, 20, 578)
    assert "shadow" in expected["conditions"]
    reader = FrameReader(load_model(None), [RegionSettings(kind="digit")], 0.9, "dev")
    reading = reader.read(gray, "wild-blank 20/578", 0)[0]
    assert (reading.status, reading.value) == ("no_digit", None)
