"""Pieces of one digit joined in a number (edge.number_read.join_pieces, edge.vision.find.joined).

A digit whose strokes did not meet (a 0 as two arcs, a 4 as a 2 beside a 1) is found as two
marks; each reads unsurely, and the number went out with a digit too many, `low_confidence`.
Two neighbours of a number, one of them unsure, that read surely as one digit together
become that digit, when the row reader, reading the row whole, reads the joined number.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.config import ModelSettings, RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from edge.rows_model import RowRead, rows_for
from edge.vision.find import find_digits
from tests.edge.test_digits import SAMPLE, draw_digit, paper, to_uint8
from training.mnist import load_split

SEVEN, TWO = 0, 1  # sample digits the shipped model reads surely
ZERO, FOUR = 3, 85


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_split(SAMPLE, "test")
    assert (labels[SEVEN], labels[TWO], labels[ZERO], labels[FOUR]) == (7, 2, 0, 4)
    return images, labels


@pytest.fixture(scope="module")
def model():
    return load_model(None)


@pytest.fixture(scope="module")
def rows():
    return rows_for(ModelSettings(), [RegionSettings(kind="number")])


def broken(digit: np.ndarray, gap: int = 3) -> np.ndarray:
    """The MNIST digit with a band of columns through its middle taken out: two pieces."""
    columns = np.nonzero(digit.max(axis=0) > 0)[0]
    middle = (int(columns[0]) + int(columns[-1])) // 2 - gap // 2
    out = digit.copy()
    out[:, middle : middle + gap] = 0
    count, _ = cv2.connectedComponents((out > 40).astype(np.uint8))
    assert count - 1 == 2, "the digit must come apart in two"
    return out


def number(images: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """A 7, the `middle` digit and a 2 written on a page, 30 pixels apart."""
    sheet = paper(gradient=0.2, noise=2)
    x = 80
    for digit in (images[SEVEN], middle, images[TWO]):
        box = draw_digit(sheet, digit, x, 180, 70)
        x = box[0] + box[2] + 30
    return to_uint8(sheet)


@pytest.mark.parametrize(("index", "value"), [(ZERO, "702"), (FOUR, "742")])
def test_a_digit_whose_strokes_did_not_meet_is_read_as_one_digit(
    sample, model, rows, index: int, value: str
) -> None:
    images, _ = sample
    frame = number(images, broken(images[index]))
    reading = FrameReader(model, [RegionSettings()], 0.95, "dev", rows=rows).read(frame, "x", 0)[0]
    assert (reading.status, reading.value) == ("ok", value)
    assert len(reading.digits) == 3
    # Without the row reader nothing vouches for a join: the pieces stay two unsure digits.
    alone = FrameReader(model, [RegionSettings()], 0.95, "dev").read(frame, "x", 0)[0]
    assert alone.status == "low_confidence"
    assert len(alone.digits) == 4


class Otherwise:
    """A row reader that reads every row as `text`, not sure of it."""

    version = "rows-otherwise"

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self, gray: np.ndarray, boxes) -> RowRead:
        return RowRead(self.text)


def test_pieces_are_not_joined_when_the_row_reader_reads_the_row_otherwise(sample, model) -> None:
    images, _ = sample
    frame = number(images, broken(images[ZERO]))
    reader = FrameReader(model, [RegionSettings()], 0.95, "dev", rows=Otherwise("7112"))
    reading = reader.read(frame, "x", 0)[0]
    assert reading.status == "low_confidence"
    assert len(reading.digits) == 4  # the digits as found


def test_only_neighbours_that_fit_one_digit_are_offered_as_one(sample, model) -> None:
    images, _ = sample
    frame = number(images, broken(images[ZERO]))
    reader = FrameReader(model, [RegionSettings()], 0.95, "dev")
    found = find_digits(frame, "number", judge=lambda inks: reader.is_digit(inks, {}))
    assert len(found) == 4
    seven, left, right, _ = found
    assert seven.join is not None
    union = seven.join(left, right)
    assert union is not None
    x, _, w, h = union.box
    assert (x, x + w) == (left.box[0], right.box[0] + right.box[2])
    assert w <= 1.4 * h
    # A 7 and the 0's left arc 30 pixels apart are wider together than any digit.
    assert seven.join(seven, left) is None
    # Digit regions offer no joins.
    (single,) = find_digits(frame[:, :200], "digit", judge=lambda inks: reader.is_digit(inks, {}))
    assert single.join is None


def test_a_four_the_finder_cut_in_two_is_joined_not_read_whole(model, rows) -> None:
    """MNIST's 2, 0 and 4 (sample indices 258, 742, 379) written in a row: the finder cuts
    the 4 in two, read as an unsure 6 and 1; joined, they are a sure 4 in its own place,
    with the view of it a correction makes a training example of."""
    from tests.edge.test_rows import write

    images, labels = load_split(SAMPLE, "test")
    assert "".join(str(int(labels[i])) for i in (258, 742, 379)) == "204"
    frame = write(images, [258, 742, 379], [100, 170, 240], [200] * 3, [70] * 3)
    reader = FrameReader(model, [RegionSettings()], 0.95, "dev", rows=rows)
    reading = reader.read(frame, "x", 0)[0]
    assert (reading.status, reading.value, reading.read_whole) == ("ok", "204", False)
    four = reading.digits[2]
    assert four.image is not None and 230 <= four.box[0] <= 250


def test_sure_pieces_are_joined_only_into_the_number_the_row_reader_reads(sample, model) -> None:
    """Both arcs of the broken 0 are sure enough for a region that asks for 0.3: they are
    joined only when the row reader reads one digit fewer, the joined digit in its place."""
    images, _ = sample
    frame = number(images, broken(images[ZERO]))
    region = [RegionSettings(min_confidence=0.3)]

    def read(text: str):
        reader = FrameReader(model, region, 0.95, "dev", rows=Otherwise(text))
        return reader.read(frame, "x", 0)[0]

    assert (read("7172").status, read("7172").value) == ("ok", "7172")  # the same count
    assert (read("702").status, read("702").value) == ("ok", "702")
    assert read("742").value == "7172", "the arcs together read 0, not the row reader's 4"
