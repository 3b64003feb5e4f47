"""Faint digits: pencil strokes and faint ink under the contrast rule, taken where the page
says they are writing (beside a number's row, a number wholly in faint pencil, one large
faint digit alone) and left out where they are grain, shadow or a grid's debris.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable

import cv2
import numpy as np

from edge.vision.binarize import InkMap
from edge.vision.group import Components, Group
from edge.vision.params import VisionParams
from edge.vision.row import number_row
from edge.vision.shape import darkest, line_piece, looks_like_digit

logger = logging.getLogger(__name__)


def faint_digits(
    groups: list[Group],
    seen: list[Group],
    parts: Components,
    inks: InkMap,
    params: VisionParams,
    decide: Callable[[list[Group]], np.ndarray],
) -> tuple[list[Group], list[Group], list[Group]]:
    """Marks below the contrast rule's line: (those the judge takes for digits, the others,
    and digits too short to join).

    Pencil on a dim page can leave one digit of a number fainter than the contrast rule
    allows. Such marks may join a number that clearly-inked digits already make (never
    make one alone: on a blank page faint marks are shadows and grain), when the judge
    takes them for digits and they are at least faint_min_height of the marks seen. The
    marks it rejects come back: beside the row they are no sign of a lost digit, but one
    between its digits is (with_unread). So do the short ones it is sure of (down to
    unread_min_height): too small to read as the number's own, yet on the row's line they
    are its smaller, fainter digits as often as not, and publishing the rest would leave
    them out (with_unread treats them as the digits the row's chain left out).
    """
    typical = float(statistics.median(g.box[3] for g in seen))
    low = params.faint_min_height * typical
    least = min(low, params.unread_min_height * typical)
    marks, scores = scored_faint(groups, seen, parts, inks, params, decide, 0.0, least)
    sure, others = split_sure(marks, scores, params)
    return (
        [g for g in sure if g.box[3] >= low],
        [g for g in others if g.box[3] >= low],
        [g for g in sure if g.box[3] < low],
    )


def faint_alone(
    groups: list[Group],
    seen: list[Group],
    parts: Components,
    inks: InkMap,
    params: VisionParams,
    decide: Callable[[list[Group]], np.ndarray],
) -> tuple[list[Group], list[Group]]:
    """A number written wholly in faint pencil: (digits, marks the judge rejects).

    Dim light and a hard pencil can leave every digit of a number under the contrast rule,
    and then faint_digits has nothing to join. Faint marks make a number alone only when
    they reach faint_alone_contrast of the rule's level and the judge is sure of at least
    faint_alone_min_digits of them on one row: a single faint mark on a blank page is grain or
    a scrap of a line far more often than a digit. The marks it rejects come back so that
    an unread one on the row keeps an incomplete number from being published.
    """
    contrast = params.faint_alone_contrast
    faint = scored_faint(groups, seen, parts, inks, params, decide, contrast, 0.0)
    digits, others = split_sure(*faint, params)
    if not digits or len(number_row(digits, params)) < params.faint_alone_min_digits:
        return [], []
    return digits, others


def faint_single(
    groups: list[Group],
    parts: Components,
    inks: InkMap,
    params: VisionParams,
    decide: Callable[[list[Group]], np.ndarray],
    *,
    one_digit: bool = False,
) -> list[Group]:
    """One large, faint digit alone on the page, as the last resort when nothing was found.

    A thick pencil digit on a page whose ruled lines are darker than it stays under the
    contrast rule, and faint_alone wants two such marks. One faint mark alone is read when it
    is the only one the judge is sure of (faint_min_digit_score, at faint_alone_contrast of the
    rule's level), at least faint_single_min_height_px tall and faint_single_min_width of its
    height wide, and the judge is surer still of it (faint_single_min_digit_score): the faint
    marks blank pages give are scraps of ruled and grid lines, which the judge takes for 1s,
    grain, which is small, and the edges of hard shadows. one_digit: the region holds one
    digit and nothing else (a digit region): pieces of lines being told apart (line_piece)
    and the edges of shadows too (shadow_edge), a thin mark may be a 1 and a smaller one the
    digit (faint_digit_min_height_px), and a mark as wide as a digit (faint_single_min_width)
    may be fainter still (faint_wide_contrast).
    """
    contrast = params.faint_alone_contrast
    if one_digit:
        contrast = min(contrast, params.faint_wide_contrast)

    def dark_enough(g: Group) -> bool:  # a narrow mark keeps faint_alone_contrast
        wide = g.box[2] >= params.faint_single_min_width * g.box[3]
        return wide or darkest(g, parts, inks) >= params.faint_alone_contrast * inks.strong

    faint, scores = scored_faint(groups, [], parts, inks, params, decide, contrast, 0.0)
    sure = [
        (g, p)
        for g, p in zip(faint, scores, strict=True)
        if p >= params.faint_min_digit_score and dark_enough(g)
    ]
    if len(sure) != 1:
        return []
    digit, score = sure[0]
    _, _, w, h = digit.box
    if one_digit:
        least, narrowest = params.faint_digit_min_height_px, 0.0
    else:
        least, narrowest = params.faint_single_min_height_px, params.faint_single_min_width
    if h < least or w < narrowest * h or score < params.faint_single_min_digit_score:
        return []
    if w < params.faint_single_min_width * h and shadow_edge(digit, parts, inks, params):
        return []
    # Last, as it asks the judge about every piece of a line on the page.
    if sure_line_pieces(groups, parts, inks, params, decide):
        return []
    return [digit]


def shadow_edge(group: Group, parts: Components, inks: InkMap, params: VisionParams) -> bool:
    """Whether a thin faint mark is the edge of a hard shadow rather than a stroke: beside a
    stroke lies paper on both sides, beside a shadow's edge the flattened page is darker on
    one side than on the other (by faint_edge_asymmetry of the mark's own contrast or more).
    """
    x, y, w, h = group.box
    width = inks.smooth.shape[1]
    mark = cv2.mean(inks.smooth[y : y + h, x : x + w], mask=group.own_mask(parts))[0]
    left = inks.smooth[y : y + h, max(0, x - w) : x]
    right = inks.smooth[y : y + h, x + w : min(width, x + 2 * w)]
    sides = [float(side.mean()) if side.size else 0.0 for side in (left, right)]
    return abs(sides[0] - sides[1]) > params.faint_edge_asymmetry * mark


def sure_line_pieces(
    groups: list[Group],
    parts: Components,
    inks: InkMap,
    params: VisionParams,
    decide: Callable[[list[Group]], np.ndarray],
) -> bool:
    """Whether pieces of lines on the page (line_piece) at faint_alone_contrast would pass
    for digits the judge is sure of: never read, they still tell a grid's debris is about."""
    contrast = params.faint_alone_contrast
    pieces = [
        g
        for g in groups
        if looks_like_digit(g, parts, inks, params, contrast=contrast, line_pieces=True)
        and line_piece(g, g.own_mask(parts), inks, params)
    ]
    return bool(pieces) and bool((decide(pieces) >= params.faint_min_digit_score).any())


def split_sure(
    faint: list[Group], scores: np.ndarray, params: VisionParams
) -> tuple[list[Group], list[Group]]:
    """Faint marks as (those the judge is sure are digits, the others)."""
    least = params.faint_min_digit_score
    return (
        [g for g, p in zip(faint, scores, strict=True) if p >= least],
        [g for g, p in zip(faint, scores, strict=True) if p < least],
    )


def scored_faint(
    groups: list[Group],
    seen: list[Group],
    parts: Components,
    inks: InkMap,
    params: VisionParams,
    decide: Callable[[list[Group]], np.ndarray],
    contrast: float,
    min_height: float,
) -> tuple[list[Group], np.ndarray]:
    """The groups not in `seen` that pass the shape rules (at `contrast` of the contrast rule,
    at least `min_height` tall), with how sure the judge is that each is a digit."""
    known = {id(g) for g in seen}
    faint = [
        g
        for g in groups
        if id(g) not in known
        and g.box[3] >= min_height
        and looks_like_digit(g, parts, inks, params, contrast=contrast)
    ]
    return faint, (decide(faint) if faint else np.zeros(0))
