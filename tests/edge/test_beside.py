"""A fainter look beside a found number (edge.vision.find.look_beside).

One digit of a pencil number pressed more lightly than the rest breaks into pieces under the
frame's ink threshold; without a second, lower threshold round the row the number goes out a
digit short. The frames are tuning-renderer photos of the shipped MNIST sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.camera.imageio import decode_image
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.fainter import shared
from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def wild_number(seed: int, index: int):
    """The index-th wild-numbers photo of a seed, drawn from the shipped MNIST sample."""
    generate = load_script("mock_generate", ROOT / "mock_frames" / "generate.py")
    images, labels = load_split(SAMPLE, "test")
    frames = generate.scenario_frames("wild-numbers", images, labels, index + 1, seed, 0)
    return list(frames)[index]


@pytest.fixture(scope="module")
def reader() -> FrameReader:
    return FrameReader(load_model(None), [RegionSettings(kind="number")], 0.9, "dev")


def test_a_lightly_pressed_first_digit_joins_its_number(reader) -> None:
    # "71211" in pencil on a grid, the 7 lighter than the rest: it was published as "1211".
    frame = wild_number(14, 8)
    reading = reader.read(decode_image(frame.data), "x", 0)[0]
    assert frame.expected["value"] == "71211"
    assert (reading.status, reading.value) == ("ok", "71211")


def test_a_light_digit_the_judge_rejects_keeps_the_number_unpublished(reader) -> None:
    # "89": the 8 broke into pieces the judge does not take for a digit even at the lower
    # threshold, and the 9 alone was published, read as 5. Now the number is incomplete.
    frame = wild_number(40, 17)
    reading = reader.read(decode_image(frame.data), "x", 0)[0]
    assert frame.expected["value"] == "89"
    assert reading.status == "low_confidence" and reading.value is None


def test_a_last_digit_under_the_frames_threshold_floor_is_not_left_out(reader) -> None:
    # "578937" on a clean page: the frame's threshold sits at its floor (against a bright
    # frame's noise) and the 7's pieces stay apart there; the look round the row goes lower
    # (row_look_min_low). It was published as "57893".
    frame = wild_number(21, 15)
    reading = reader.read(decode_image(frame.data), "x", 0)[0]
    assert frame.expected["value"] == "578937"
    assert reading.value in ("578937", None)
    assert reading.status == ("ok" if reading.value else "low_confidence")


def test_the_rest_of_a_digit_the_row_holds_a_piece_of_is_not_left_unread(reader) -> None:
    # The row's digits are left out of the lower look, so what is left of a digit of which
    # the row holds only a dark piece is a mark of its own: "7210" was published as "720"
    # (its 1 and 0 one piece), and "72104" as "72101" (the 4's upright read as a 1).
    whole = wild_number(36, 0)
    reading = reader.read(decode_image(whole.data), "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", whole.expected["value"]) == ("ok", "7210")
    piece = wild_number(15, 0)
    reading = reader.read(decode_image(piece.data), "x", 0)[0]
    assert piece.expected["value"] == "72104"
    assert reading.value in ("72104", None) and reading.value != "72101"


def test_a_shadow_edge_beside_a_number_is_no_digit_of_it(reader) -> None:
    # "12446" in pencil beside a hard shadow: at the lower threshold the shadow's edge where
    # it crosses a ruled line is a digit-sized mark on the row's line left of the 1, but its
    # darkest ink is half the digits' (row_look_min_contrast), so it does not void the number.
    frame = wild_number(8, 11)
    reading = reader.read(decode_image(frame.data), "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", frame.expected["value"]) == ("ok", "12446")


def test_shared_is_the_smaller_box_share_inside_the_other() -> None:
    assert shared((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(0.5)
    assert shared((0, 0, 100, 100), (10, 10, 5, 5)) == pytest.approx(1.0)
    assert shared((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
