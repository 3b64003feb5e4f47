"""Tight crops of one digit (edge.vision.cell): cut from form cells and grid squares."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import edge.cell_read
import edge.reader
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.vision.cell import CellInk, cell_inks, is_cell
from edge.vision.find import find_digits
from tests.edge.test_digits import SAMPLE, draw_digit, to_uint8
from training.mnist import load_split


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


@pytest.fixture(scope="module")
def reader() -> FrameReader:
    return FrameReader(load_model(None), [RegionSettings(kind="digit")], 0.9, "dev")


def nth(digits: tuple[np.ndarray, np.ndarray], digit: int, n: int = 0) -> np.ndarray:
    images, labels = digits
    return images[int(np.nonzero(labels == digit)[0][n])]


def cut_through(digits, digit: int, n: int = 0) -> np.ndarray:
    """A crop cut along the digit's box, a pixel inside it: its strokes run off the edge."""
    crop = np.full((60, 60), 210.0, np.float32)
    x, y, w, h = draw_digit(crop, nth(digits, digit, n), 6, 6, 48)
    return to_uint8(crop[y + 1 : y + h - 1, x + 1 : x + w - 1])


def in_cell(digits, digit: int, n: int = 0, margin: int = 3) -> np.ndarray:
    """A 60x60 crop of a form cell: its printed border `margin` px in, the digit inside."""
    crop = np.full((60, 60), 215.0, np.float32)
    draw_digit(crop, nth(digits, digit, n), 16, 11, 38)
    cv2.rectangle(crop, (margin, margin), (59 - margin, 59 - margin), 90.0, 2)
    return to_uint8(crop)


@pytest.mark.parametrize(("digit", "n"), [(2, 0), (5, 1), (7, 0), (9, 0)])
def test_a_digit_whose_strokes_cross_the_crop_edge_is_read(
    digits, reader, digit: int, n: int
) -> None:
    gray = cut_through(digits, digit, n)
    dark = gray < 150
    assert dark[0].any() or dark[-1].any() or dark[:, 0].any() or dark[:, -1].any()
    reading = reader.read(gray, "crop", 0)[0]
    assert (reading.status, reading.value) == ("ok", str(digit))


@pytest.mark.parametrize("digit", [1, 3, 4, 6])
def test_the_cells_printed_border_is_not_part_of_the_digit(digits, reader, digit: int) -> None:
    gray = in_cell(digits, digit)
    reading = reader.read(gray, "cell", 0)[0]
    assert (reading.status, reading.value) == ("ok", str(digit))
    x, y, w, h = reading.digits[0].box
    assert x > 5 and y > 5 and x + w < 55 and y + h < 55, "the box is the digit's, not the cell's"


def test_a_digit_touching_the_cells_border_is_still_read(digits, reader) -> None:
    crop = np.full((56, 56), 215.0, np.float32)
    draw_digit(crop, nth(digits, 0), 14, 2, 52)  # the 0 runs into the top and bottom lines
    cv2.rectangle(crop, (2, 2), (53, 53), 80.0, 2)
    reading = reader.read(to_uint8(crop), "cell", 0)[0]
    assert (reading.status, reading.value) == ("ok", "0")


def test_an_empty_cell_has_no_digit(reader) -> None:
    crop = np.full((60, 60), 215.0, np.float32)
    crop += np.random.default_rng(1).normal(0, 3, crop.shape)
    cv2.rectangle(crop, (3, 3), (56, 56), 90.0, 2)
    reading = reader.read(to_uint8(crop), "cell", 0)[0]
    assert reading.status == "no_digit"
    plain = to_uint8(np.full((50, 40), 220.0, np.float32))
    assert cell_inks(plain) == [] and reader.read(plain, "blank", 0)[0].status == "no_digit"


def test_light_writing_on_a_dark_crop_is_read(digits, reader) -> None:
    reading = reader.read(255 - cut_through(digits, 3), "inverted", 0)[0]
    assert (reading.status, reading.value) == ("ok", "3")


def felt_tip(digits, digit: int, n: int = 0) -> np.ndarray:
    """A crop cut tight around a digit written with a broad felt tip: ink covers most of it."""
    crop = np.full((60, 60), 215.0, np.float32)
    thick = cv2.dilate(nth(digits, digit, n), np.ones((3, 3), np.uint8))
    x, y, w, h = draw_digit(crop, thick, 6, 4, 52)
    return to_uint8(crop[y + 1 : y + h - 1, x + 1 : x + w - 1])


@pytest.mark.parametrize(("digit", "n"), [(0, 0), (0, 1), (3, 1), (6, 1), (8, 0), (8, 2)])
def test_a_felt_tip_digit_covering_most_of_a_tight_crop_is_read(
    digits, reader, digit: int, n: int
) -> None:
    # Paper is no longer most of the crop, so the paper between the strokes looks like light
    # ink on dark; read that way the crop is the strokes' outline, no digit at all.
    gray = felt_tip(digits, digit, n)
    assert (gray < 150).mean() > 0.55
    reading = reader.read(gray, "felt", 0)[0]
    assert (reading.status, reading.value) == ("ok", str(digit))


class DoubtfulJudge:
    """Reads every ink as a 4 with 0.99, and judges it a digit with 0.8."""

    version = "mnist-cnn-fake"
    rejects = True

    def predict(self, batch: np.ndarray) -> np.ndarray:
        probs = np.full((len(batch), 10), 0.01 / 9, np.float32)
        probs[:, 4] = 0.99
        return probs

    def scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.predict(batch), np.full(len(batch), 0.2, np.float32)


@pytest.mark.parametrize("turned", [False, True])
def test_a_crop_turned_round_is_read_only_when_the_judge_is_sure_it_is_a_digit(
    monkeypatch, turned: bool
) -> None:
    # Turned round, the paper of a framed cell is a block with the digit cut out of it, which
    # the model reads surely: it takes the judge's sureness, not its usual doubt, to publish.
    ink = np.zeros((40, 30), np.float32)
    ink[5:35, 12:18] = 1.0
    proposal = CellInk(box=(5, 5, 30, 40), ink=ink, turned=turned)
    monkeypatch.setattr(edge.cell_read, "cell_inks", lambda crop: [proposal])
    monkeypatch.setattr(edge.reader, "find_digits", lambda *a, **k: [])
    reader = FrameReader(DoubtfulJudge(), [RegionSettings(kind="digit")], 0.9, "dev")
    reading = reader.read(np.full((50, 40), 215, np.uint8), "cell", 0)[0]
    assert (reading.status, reading.value) == (("no_digit", None) if turned else ("ok", "4"))


def test_a_dark_ink_crop_is_not_turned_round(digits) -> None:
    assert not any(p.turned for p in cell_inks(in_cell(digits, 4)))
    assert any(p.turned for p in cell_inks(felt_tip(digits, 8)))


def test_only_small_images_are_read_as_crops(digits) -> None:
    assert is_cell((44, 36)) and is_cell((300, 240))
    assert not is_cell((480, 640)) and not is_cell((4, 4))
    # A photo keeps its own pipeline: a digit at its edge is someone else's writing there.
    photo = np.full((480, 640), 215.0, np.float32)
    draw_digit(photo, nth(digits, 8), 0, 200, 60)
    assert cell_inks(to_uint8(photo)) == []
    assert find_digits(to_uint8(photo), "digit") == []


def test_the_crop_box_is_in_the_callers_pixels(digits) -> None:
    gray = in_cell(digits, 4)
    proposals = cell_inks(gray)
    assert proposals
    assert sum(p.frameless for p in proposals) == 1, "one version is the cell without its frame"
    for p in proposals:
        x, y, w, h = p.box
        assert min(x, y) >= 0 and x + w <= 60 and y + h <= 60
        assert p.ink.dtype == np.float32 and p.ink.min() >= 0.0 and p.ink.max() <= 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_dark_noisy_frame_read_as_one_digit_has_none(reader, seed: int) -> None:
    # A lens cap or a night scene: sensor noise on black, then JPEG-like smoothing. Read as
    # one digit, a photo must not take its own noise for a digit (only a crop may be so
    # full of ink that the paper's level cannot be measured).
    rng = np.random.default_rng(seed)
    frame = 13.0 + rng.normal(0, 9.0, (480, 640)) + rng.poisson(3.0, (480, 640))
    gray = cv2.GaussianBlur(to_uint8(frame.astype(np.float32)), (3, 3), 0)
    reading = reader.read(gray, "night", 0)[0]
    assert reading.status == "no_digit"


def under_the_top_line(digits, digit: int, n: int = 0) -> np.ndarray:
    """A crop cut just inside a form cell: its top line runs edge to edge and the digit,
    written up to it, touches it."""
    crop = np.full((56, 44), 215.0, np.float32)
    draw_digit(crop, nth(digits, digit, n), 10, 2, 50)
    crop[1:4, :] = 85.0
    return to_uint8(crop)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_a_1_under_the_cells_top_line_is_never_published_as_a_7(digits, reader, n: int) -> None:
    # With the line the strokes are a 7, without it a 1; which one the writer meant the
    # pixels do not say, so a sure answer would be a guess.
    reading = reader.read(under_the_top_line(digits, 1, n), "cell", 0)[0]
    assert reading.value != "7"
    assert reading.status in ("ok", "low_confidence")
    if reading.status == "ok":
        assert reading.value == "1"
