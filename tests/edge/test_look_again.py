"""An unsure digit of a number read again from shifted views (FrameReader.looked_again).

The network is not indifferent to where a digit sits in its 28x28 field: a digit read
unsurely where it was centred may read surely a pixel off, and a digit the views disagree
on stays unsure. Only unsure digits of number regions are read again, in one model call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge.config import RegionSettings
from edge.model import load_model
from edge.number_read import LOOK_AGAIN_SHIFTS
from edge.reader import FrameReader
from edge.vision.normalise import shifted
from tests.edge.test_digits import SAMPLE, draw_digit, paper, to_uint8
from training.mnist import load_split

SEVEN, TWO = 0, 1  # sample digits the shipped model reads surely
NINE = 359  # a 9 the shipped model reads 94% sure where it was centred, surely a pixel off


class Counting:
    """The shipped model, counting the images of each `predict` call."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[int] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.calls.append(len(batch))
        return self.model.predict(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_split(SAMPLE, "test")
    assert (labels[SEVEN], labels[TWO], labels[NINE]) == (7, 2, 9)
    return images, labels


@pytest.fixture(scope="module")
def shipped():
    return load_model(None)


def number(images: np.ndarray, middle: int) -> np.ndarray:
    """A 7, the sample's digit `middle` and a 2 written on a page, 30 pixels apart."""
    sheet = paper(gradient=0.2, noise=2)
    x = 80
    for digit in (images[SEVEN], images[middle], images[TWO]):
        box = draw_digit(sheet, digit, x, 180, 70)
        x = box[0] + box[2] + 30
    return to_uint8(sheet)


def reader(model: Any, kind: str = "number", look_again: bool = True) -> FrameReader:
    out = FrameReader(model, [RegionSettings(kind=kind)], 0.95, "dev")
    out.look_again = look_again
    return out


def test_an_unsure_digit_that_reads_surely_a_pixel_off_is_published(sample, shipped) -> None:
    images, _ = sample
    frame = number(images, NINE)
    once = reader(shipped, look_again=False).read(frame, "x", 0)[0]
    assert once.status == "low_confidence"
    assert [d.digit for d in once.digits] == [7, 9, 2]
    assert once.digits[1].confidence < 0.95
    counting = Counting(shipped)
    again = reader(counting).read(frame, "x", 0)[0]
    assert (again.status, again.value) == ("ok", "792")
    assert again.digits[1].confidence >= 0.95
    # The two sure digits are not read again: one call with the 9's four shifted views.
    assert counting.calls == [len(LOOK_AGAIN_SHIFTS)]


def test_sure_digits_and_digit_regions_are_read_once(sample, shipped) -> None:
    images, _ = sample
    counting = Counting(shipped)
    sure = reader(counting).read(number(images, TWO), "x", 0)[0]
    assert (sure.status, sure.value) == ("ok", "722")
    assert counting.calls == []
    # A digit region's unsure digit is left as it is read.
    sheet = paper(gradient=0.2, noise=2)
    draw_digit(sheet, images[NINE], 280, 180, 70)
    frame = to_uint8(sheet)
    alone = reader(counting, kind="digit").read(frame, "x", 0)[0]
    off = reader(shipped, kind="digit", look_again=False).read(frame, "x", 0)[0]
    assert alone.digits[0].confidence == off.digits[0].confidence
    assert counting.calls == []


def test_views_are_the_input_moved_with_paper_filling_in() -> None:
    image = np.zeros((28, 28), np.float32)
    image[10:18, 12:16] = 1.0
    down = shifted(image, 1, 0)
    assert down[11:19, 12:16].all() and down.sum() == image.sum()
    left = shifted(image[None], 0, -1)[0]
    assert left[10:18, 11:15].all() and left.sum() == image.sum()
    edge = np.zeros((28, 28), np.float32)
    edge[:, 27] = 1.0  # a stroke on the field's edge moves out of it, nothing wraps round
    assert shifted(edge, 0, 1).sum() == 0.0
    assert shifted(edge, 0, -1)[:, 26].all()
    # A meter's grey crop has no one paper level: there the edge's own pixels come in.
    crop = np.arange(32 * 20, dtype=np.float32).reshape(1, 1, 32, 20)
    right = shifted(crop, 0, 1, edge=True)
    assert (right[..., 0] == crop[..., 0]).all() and (right[..., 1:] == crop[..., :-1]).all()
    up = shifted(crop, -1, 0, edge=True)
    assert (up[..., -1, :] == crop[..., -1, :]).all()
    assert (up[..., :-1, :] == crop[..., 1:, :]).all()
