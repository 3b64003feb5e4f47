"""edge.vision.marks: a lone mark's look on its page weighed beside the judge's doubt."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.vision.marks import FEATURES, MIN_DIGIT_CHANCE, digit_chance, mark_features
from tests.edge.test_digits import paper, to_uint8

BOX = (296, 156, 28, 108)  # round the stroke below


def stroke(ink: float, blur: float, width: int) -> np.ndarray:
    """A stroke like a 1 on a sheet lit from one side: `ink` is the share of the paper's light
    it leaves (0.15: dark pen; 0.8: a faint grey hair), softened by a blur of `blur` px."""
    sheet = paper(gradient=0.2, noise=3)
    mark = np.zeros(sheet.shape, np.float32)
    cv2.line(mark, (300, 160), (320, 260), 1.0, width)
    if blur:
        mark = cv2.GaussianBlur(mark, (0, 0), blur)
    sheet *= 1 - mark * (1 - ink)
    return to_uint8(sheet)


def test_dark_writing_is_a_digit_though_the_judge_doubts_it() -> None:
    gray = stroke(ink=0.15, blur=1.0, width=5)
    assert digit_chance(gray, BOX, doubt=0.6) >= MIN_DIGIT_CHANCE


def test_a_faint_soft_line_is_no_digit_though_the_judge_takes_it_for_one() -> None:
    gray = stroke(ink=0.8, blur=3.0, width=3)
    assert digit_chance(gray, BOX, doubt=0.1) < MIN_DIGIT_CHANCE


def test_the_judges_doubt_still_counts() -> None:
    gray = stroke(ink=0.3, blur=1.5, width=4)
    chances = [digit_chance(gray, BOX, doubt) for doubt in (0.05, 0.5, 0.95, 1.0)]
    assert chances == sorted(chances, reverse=True) and chances[0] > 0.9 > 0.1 > chances[-1]


@pytest.mark.parametrize(
    "box", [(0, 0, 640, 480), (0, 0, 30, 100), (620, 400, 20, 80), (300, 200, 0, 0)]
)
def test_marks_at_the_frames_edge_or_filling_it_are_measured(box) -> None:
    gray = stroke(ink=0.15, blur=1.0, width=5)
    features = mark_features(gray, box, doubt=0.5)
    assert features.shape == (len(FEATURES),) and np.isfinite(features).all()
    assert 0.0 <= digit_chance(gray, box, doubt=0.5) <= 1.0
