"""A tight crop's digit (a form cell, a grid square), chosen among the versions of its ink
that edge.vision.cell proposes, by what the model reads in each."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from edge.judging import Classifier, Judged, classify, doubt
from edge.vision.cell import cell_inks
from edge.vision.find import DigitCandidate
from edge.vision.params import DEFAULT

logger = logging.getLogger(__name__)

MIN_DIGIT_SCORE = DEFAULT.min_digit_score


def read_cell(
    model: Classifier,
    crop: np.ndarray,
    judged: Judged,
    sure: float,
    judge: Callable[[Sequence[np.ndarray]], np.ndarray] | None,
) -> list[DigitCandidate]:
    """A tight crop's digit, from the versions edge.vision.cell proposes (none: let the
    photo pipeline try). `judge`: how likely each ink is a digit, its answers remembered in
    `judged` (None: the model has no not-a-digit output, and every version counts as one).

    The versions come in order of how much they take away (nothing, long lines, lines
    along the border), then the cell's frame alone: the first the model reads surely as a
    digit wins, else the surest. Taking the surest of all would let a 7 whose bar was taken
    for a line win as a sure 1. But when the version without the frame is surely another
    digit than the one chosen, the pixels do not say which is meant (a 1 under the cell's
    top line reads as a sure 7): the digit is published no surer than the frameless
    version's probability of it.
    """
    proposals = cell_inks(crop)
    if not proposals:
        return []
    inks = [p.ink for p in proposals]
    if judge is not None:
        digit_score = judge(inks)
    else:
        classify(model, [DigitCandidate(p.box, p.ink) for p in proposals], judged)
        digit_score = np.ones(len(proposals))
    sureness = [float(judged[id(ink)][2].max()) for ink in inks]
    # A crop turned round (edge.vision.cell) counts as a digit only when the judge is as
    # sure of that as the digit must be sure to be published.
    digit_like = [
        i
        for i, score in enumerate(digit_score)
        if score >= (sure if proposals[i].turned else MIN_DIGIT_SCORE)
    ]
    if not digit_like:
        return []
    surely = [i for i in digit_like if sureness[i] >= sure]
    best = surely[0] if surely else max(digit_like, key=lambda i: sureness[i])
    chosen = DigitCandidate(proposals[best].box, proposals[best].ink)
    digit = int(np.argmax(judged[id(inks[best])][2]))
    for i in surely:
        if proposals[i].frameless:
            chosen.ceiling = doubt(digit, judged[id(inks[i])][2], sure)
    return [chosen]
