"""FrameReader.lone_check: a reading of one digit asked again of the model's stricter judge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from tests.conftest import load_script
from tests.edge.test_digits import SAMPLE, draw_digit, paper, to_uint8
from tests.edge.test_reader import confident_indices, number_frame
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
# Blank flawed pages of the tuning renderer (wild-flawed-blank, seed 61) whose one mark the
# model's usual judge lets through as a digit, published `ok`.
FLAWED_SEED = 61
MARKS = {47: "a hair", 176: "punched holes", 212: "a coffee stain's arc", 383: "the page's edge"}


class UsualJudgeOnly:
    """The shipped model without its lone-digit judge: what the reader did before it."""

    judges_lone = False

    def __init__(self, model) -> None:
        self._model = model

    def __getattr__(self, name: str):
        return getattr(self._model, name)


class StrictestJudge(UsualJudgeOnly):
    """The shipped model with a lone-digit judge that calls everything no digit; counts calls."""

    judges_lone = True

    def __init__(self, model) -> None:
        super().__init__(model)
        self.asked: list[tuple[int, ...]] = []

    def lone_not_digit(self, batch: np.ndarray) -> np.ndarray:
        self.asked.append(batch.shape)
        return np.ones(len(batch), np.float32)

    def judge_scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Not asked along with the judge: the reader asks lone_not_digit when it needs to.
        return (*self._model.scores(batch), np.full(len(batch), np.nan, np.float32))


class CountingJudge(UsualJudgeOnly):
    """The shipped model, counting the model calls made for the lone-digit judge alone."""

    judges_lone = True

    def __init__(self, model) -> None:
        super().__init__(model)
        self.alone = 0

    def lone_not_digit(self, batch: np.ndarray) -> np.ndarray:
        self.alone += 1
        return self._model.lone_not_digit(batch)


@pytest.fixture(scope="module")
def model():
    return load_model(None)


@pytest.fixture(scope="module")
def harvest():
    return load_script("mock_harvest", ROOT / "mock_frames" / "harvest.py")


def read(model, gray: np.ndarray, kind: str):
    return FrameReader(model, [RegionSettings(kind=kind)], 0.95, "dev").read(gray, "x", 0)[0]


def test_the_shipped_model_has_a_lone_digit_judge(model) -> None:
    assert model.judges_lone
    doubt = model.lone_not_digit(np.zeros((3, 1, 28, 28), np.float32))
    assert doubt.shape == (3,) and ((doubt >= 0) & (doubt <= 1)).all()


@pytest.mark.parametrize("kind", ["number", "digit"])
@pytest.mark.parametrize("index", sorted(MARKS))
def test_a_mark_on_an_empty_page_is_no_digit(model, harvest, kind: str, index: int) -> None:
    gray, expected = harvest.photo("wild-flawed-blank", index, None, FLAWED_SEED)
    assert expected["value"] is None
    reading = read(model, gray, kind)
    assert (reading.status, reading.value, reading.digits) == ("no_digit", None, [])
    # The usual judge alone publishes that mark as a digit.
    before = read(UsualJudgeOnly(model), gray, kind)
    assert before.status == "ok" and before.value in {"1", "8"}, MARKS[index]


def test_a_digit_written_alone_is_still_read(model) -> None:
    images, labels = load_split(SAMPLE, "test")
    chosen = confident_indices(model, images, labels, 30)
    misses = []
    for i in chosen:
        sheet = paper(gradient=0.3, noise=3)
        draw_digit(sheet, images[i], 280, 180, 80)
        reading = read(model, to_uint8(sheet), "digit")
        if (reading.status, reading.value) != ("ok", str(labels[i])):
            misses.append((i, reading.status, reading.value))
    assert len(chosen) == 30 and misses == []


def test_only_a_reading_of_one_digit_is_asked(model) -> None:
    images, labels = load_split(SAMPLE, "test")
    chosen = confident_indices(model, images, labels, 3)
    strict = StrictestJudge(model)
    reading = read(strict, number_frame(images, chosen, left=60, height=80), "number")
    assert reading.value == "".join(str(labels[i]) for i in chosen) and strict.asked == []
    sheet = paper(gradient=0.3, noise=3)
    draw_digit(sheet, images[chosen[0]], 280, 180, 80)
    alone = to_uint8(sheet)
    assert read(UsualJudgeOnly(model), alone, "number").value == str(labels[chosen[0]])
    assert read(strict, alone, "number").status == "no_digit"
    assert strict.asked == [(1, 1, 28, 28)]


def test_a_tight_crop_read_as_a_cell_is_not_asked(model) -> None:
    # A cell's digit comes with bits of its lines, which the stricter judge takes for the
    # marks of a page (it cost 2-3% of the tuning crops and stopped no wrong reading there).
    images, labels = load_split(SAMPLE, "test")
    chosen = confident_indices(model, images, labels, 1)[0]
    sheet = paper(gradient=0.0, noise=2)
    x, y, w, h = draw_digit(sheet, images[chosen], 300, 200, 50)
    cell = to_uint8(sheet)[y - 12 : y + h + 12, x - 15 : x + w + 15]
    strict = StrictestJudge(model)
    reading = read(strict, cell, "digit")
    assert (reading.status, reading.value) == ("ok", str(labels[chosen])) and strict.asked == []
    photo = to_uint8(sheet)  # the same digit on the whole page is a lone digit of a photo
    assert read(strict, photo, "digit").status == "no_digit" and strict.asked == [(1, 1, 28, 28)]


def test_the_lone_digit_judge_answers_in_the_judges_model_call(model) -> None:
    # A digit found on a photo was shown to the judge, which asked both judges at once.
    images, labels = load_split(SAMPLE, "test")
    chosen = confident_indices(model, images, labels, 1)[0]
    sheet = paper(gradient=0.3, noise=3)
    draw_digit(sheet, images[chosen], 280, 180, 80)
    counting = CountingJudge(model)
    reading = read(counting, to_uint8(sheet), "digit")
    assert (reading.status, reading.value, counting.alone) == ("ok", str(labels[chosen]), 0)
    probs, not_digit, lone = model.judge_scores(reading.digits[0].image[None, None])
    assert np.allclose(probs, model.scores(reading.digits[0].image[None, None])[0])
    assert lone[0] < 0.5 and lone.shape == not_digit.shape == (1,)
