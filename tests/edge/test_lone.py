"""FrameReader.lone_check: a reading of one digit asked again of the model's stricter judge."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import RegionSettings
from edge.lone import LONE_LIMIT
from edge.model import load_model
from edge.reader import FrameReader
from edge.reading import Digit
from edge.vision.marks import MIN_DIGIT_CHANCE, SURE_DOUBT, digit_chance, runs_off
from tests.conftest import load_script
from tests.edge.test_digits import SAMPLE, draw_digit, hard_photo, paper, to_uint8
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


# Flawed blank pages of the tuning renderer (seed, index) whose one mark the model's lone-digit
# judge alone lets through, published `ok`; weighed with the page round it (faint, soft-edged),
# it is no digit (edge.vision.marks).
HAIRS = {
    (16, 276): "a hair on ruled paper",
    (17, 167): "a hair read as 7",
    (16, 166): "a hair on plain paper",
    (17, 204): "a hair on squared paper",
}


def read_judge_alone(model, gray: np.ndarray, kind: str):
    reader = FrameReader(model, [RegionSettings(kind=kind)], 0.95, "dev")
    reader.weigh_page = False
    return reader.read(gray, "x", 0)[0]


@pytest.mark.parametrize("kind", ["number", "digit"])
@pytest.mark.parametrize("page", sorted(HAIRS))
def test_a_faint_hair_is_no_digit_weighed_with_its_page(model, harvest, kind, page) -> None:
    seed, index = page
    gray, expected = harvest.photo("wild-flawed-blank", index, None, seed)
    assert expected["value"] is None and "hair" in expected["conditions"]
    reading = read(model, gray, kind)
    assert (reading.status, reading.value, reading.digits) == ("no_digit", None, []), HAIRS[page]
    alone = read_judge_alone(model, gray, kind)
    assert alone.status == "ok" and alone.value in {"1", "7"}


@pytest.mark.parametrize("index", [409, 619])
def test_an_ink_digit_the_judge_alone_doubts_is_read(model, index: int) -> None:
    # Two 1s of the test sample, dark ink on a sheet lit from one side: the judge
    # alone, seeing them at 28x28, is at least half sure they are no digit; the page shows
    # writing.
    images, labels = load_split(SAMPLE, "test")
    sheet = paper(gradient=0.3, noise=3)
    draw_digit(sheet, images[index], 280, 180, 80)
    gray = to_uint8(sheet)
    reading = read(model, gray, "digit")
    assert (reading.status, reading.value) == ("ok", str(labels[index]))
    assert read_judge_alone(model, gray, "digit").status == "no_digit"


def test_light_writing_is_judged_by_the_model_alone(model) -> None:
    # A thick chalk 7 on a dark board (the tuning renderer's hard scenario): the page's
    # measures, fitted on ink darker than its paper, would take it for no digit.
    gray = hard_photo(17, 25, "7")
    reading = read(model, gray, "number")
    assert (reading.status, reading.value) == ("ok", "7")
    digit = reading.digits[0]
    doubt = FrameReader(model, [RegionSettings()], 0.95, "dev").lone_doubt(digit)
    assert doubt is not None and doubt < LONE_LIMIT
    assert digit_chance(gray, digit.box, doubt) < MIN_DIGIT_CHANCE


def test_a_faint_thin_1_alone_is_no_digit_weighed_with_its_page(model) -> None:
    # A 1 in light pencil, 15% darker than a page lit from one side: to the judge alone a
    # digit, on its page as faint and thin as a hair. A digit region publishes neither.
    images, labels = load_split(SAMPLE, "test")
    one = next(images[i] for i in confident_indices(model, images, labels, 60) if labels[i] == 1)
    sheet = paper(gradient=0.3, noise=5)
    draw_digit(sheet, one, 280, 200, 80, 0.85)
    gray = to_uint8(sheet)
    assert read_judge_alone(model, gray, "digit").value == "1"
    assert read(model, gray, "digit").status == "no_digit"


def test_a_mark_the_judge_is_sure_of_is_kept_without_weighing_its_page(model) -> None:
    # A faint band 80 px wide (as wide as a shadow's edge, wider than any pen the page's
    # measures were fitted on): a judge surer than SURE_DOUBT that it is a digit keeps it
    # without asking the page; a little less sure, the page decides, and drops it.
    sheet = paper(gradient=0.2, noise=3)
    band = np.zeros(sheet.shape, np.float32)
    cv2.line(band, (320, 60), (330, 420), 1.0, 80)
    sheet *= 1 - cv2.GaussianBlur(band, (0, 0), 3) * 0.2
    gray, box = to_uint8(sheet), (274, 20, 102, 440)
    reader = FrameReader(model, [RegionSettings(kind="digit")], 0.95, "dev")
    image = np.zeros((28, 28), np.float32)
    sure = Digit(1, 1.0, box, image=image, lone_doubt=SURE_DOUBT / 2)
    assert reader.lone_check([sure], gray) == [sure]
    assert digit_chance(gray, box, SURE_DOUBT / 2) < MIN_DIGIT_CHANCE  # the page would not
    doubted = Digit(1, 1.0, box, image=image, lone_doubt=SURE_DOUBT * 2)
    assert reader.lone_check([doubted], gray) == []


# Empty pages of the tuning renderer (wild-flawed-blank, seed 67) whose page edge runs into
# the frame's edge: the judge and the page's measures let it through as a 1.
PAGE_EDGES = (123, 272)


@pytest.mark.parametrize("index", PAGE_EDGES)
def test_the_pages_own_edge_in_view_is_no_1(model, harvest, monkeypatch, index: int) -> None:
    gray, expected = harvest.photo("wild-flawed-blank", index, None, 67)
    assert expected["value"] is None and "page-edge" in expected["conditions"]
    reading = read(model, gray, "digit")
    assert (reading.status, reading.value) == ("no_digit", None)
    # Without the rule for strokes cut by the region's edge it is published as a 1.
    monkeypatch.setattr("edge.lone.cut_one", lambda *args: False)
    before = read(model, gray, "digit")
    assert (before.status, before.value) == ("ok", "1")
    assert runs_off(before.digits[0].box, (0, 0, gray.shape[1], gray.shape[0]))


def test_only_a_1_cut_by_the_regions_edge_is_refused(model) -> None:
    # The region: 400 x 300 from (100, 50) of a 640 x 480 frame.
    region = (100, 50, 400, 300)
    reader = FrameReader(
        model, [RegionSettings(kind="digit", box=[100, 50, 400, 300])], 0.95, "dev"
    )
    gray = to_uint8(paper(gradient=0.0, noise=2))
    image = np.zeros((28, 28), np.float32)

    def lone(digit: int, box: tuple[int, int, int, int]) -> list[Digit]:
        # A judge surer than SURE_DOUBT: the page is not weighed, only the box matters.
        mark = Digit(digit, 1.0, box, image=image, lone_doubt=SURE_DOUBT / 2)
        return reader.lone_check([mark], gray, region)

    for cut in [(100, 120, 20, 90), (300, 50, 20, 90), (479, 120, 21, 90), (300, 261, 20, 89)]:
        assert lone(1, cut) == [], cut  # left, top, right and bottom edge
    assert runs_off((101, 120, 20, 90), region)  # within a pixel counts
    assert len(lone(1, (103, 120, 20, 90))) == 1  # 3 px inside: a 1 like any other
    assert len(lone(0, (100, 50, 400, 300))) == 1  # a large 0 filling the region is read
    # Asked without its region (a caller that has none), the same 1 is kept.
    cut = Digit(1, 1.0, (100, 120, 20, 90), image=image, lone_doubt=SURE_DOUBT / 2)
    assert reader.lone_check([cut], gray) == [cut]
