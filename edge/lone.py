"""A reading of one digit asked again: is the lone mark a digit at all?

A mark on an empty page (a punched hole read as 8, a hair, an arc of a coffee ring, a fold or
the page's edge read as 1) is the one digit such a page is read as. A judge strict enough to
refuse those would drop real digits from numbers (the not-digit row itself trained so cost 4
right numbers for each wrong one it stopped), so the model's stricter judge (its output
`not_digit_lone`) is asked only here, where the reading is that one mark or nothing, and not
of a tight crop's cell, whose digit comes with bits of the cell's lines (asked there it cost
2% of the tuning crops and stopped no wrong reading). The judge sees the mark at 28x28 and
full contrast, where a hair is a 1; the page shows it faint and soft-edged, so both are
weighed (edge.vision.marks; README, "A lone digit judged again").
"""

from __future__ import annotations

import logging
from typing import cast

import numpy as np

from edge.judging import Box, Classifier, LoneJudge
from edge.reading import Digit
from edge.vision.marks import MIN_DIGIT_CHANCE, SURE_DOUBT, cut_one, digit_chance

logger = logging.getLogger(__name__)

# A reading of one digit is none when the stricter judge finds it at least this likely no digit
# (the line the judge itself draws between a digit and none).
LONE_LIMIT = 0.5


def lone_check(
    model: Classifier,
    digits: list[Digit],
    gray: np.ndarray | None = None,
    region: Box | None = None,
    *,
    weigh_page: bool = True,
) -> list[Digit]:
    """`digits` (one digit) when it stands as a digit, else none.

    The judge's doubt is weighed with how the mark sits on the page
    (edge.vision.marks.digit_chance): no digit at all when that chance is under
    MIN_DIGIT_CHANCE (a digit the judge doubts less than SURE_DOUBT is kept unweighed;
    without the frame `gray`, or without `weigh_page`: no digit when the judge alone finds
    it LONE_LIMIT likely none). Light writing (chalk on a board) is passed without `gray`:
    the page's measures were fitted on ink darker than its paper.

    A 1 that reaches the edge of its `region` (frame pixels) is no digit, whatever the
    judge says: a straight stroke cut by the edge goes on beyond it (the page's edge, a
    fold), and nothing inside the box tells it from a 1 (edge.vision.marks.cut_one).
    """
    if cut_one(digits[0].digit, digits[0].box, region):
        return []
    doubt = lone_doubt(model, digits[0])
    if doubt is None:
        return digits
    if gray is None or not weigh_page:
        return [] if doubt >= LONE_LIMIT else digits
    if doubt < SURE_DOUBT:
        return digits
    chance = digit_chance(gray, digits[0].box, doubt)
    return digits if chance >= MIN_DIGIT_CHANCE else []


def lone_doubt(model: Classifier, digit: Digit) -> float | None:
    """The lone-digit judge's doubt about `digit`, 0..1 (None: the model has no such judge
    or the digit no model input)."""
    if not getattr(model, "judges_lone", False) or digit.image is None:
        return None
    # Its answer in the frame's one model call (None or NaN: not asked then, so ask now).
    doubt = digit.lone_doubt
    if doubt is None or np.isnan(doubt):
        batch = digit.image[None, None].astype(np.float32)
        doubt = float(cast(LoneJudge, model).lone_not_digit(batch)[0])
    return float(doubt)
