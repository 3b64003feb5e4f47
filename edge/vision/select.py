"""Which candidate digits to read: shape rules, a learned decision, then the number's row.

`number`: the chain of neighbouring digits holding the most ink, left to right. `digit`: the
most prominent digit with the pieces that broke off it, which may fill a tight crop.
select_digits puts together the shape rules (edge.vision.shape), touching digits cut apart
and pieces joined (edge.vision.apart), faint digits (edge.vision.faint) and the number's row
with its unread marks (edge.vision.row).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable
from functools import partial

import numpy as np

from edge.vision.apart import read_joined, read_touching
from edge.vision.binarize import InkMap
from edge.vision.cuts import skew
from edge.vision.faint import faint_alone, faint_digits
from edge.vision.group import Components, Group
from edge.vision.params import DEFAULT, VisionParams
from edge.vision.row import number_row, with_pieces_beside, with_unread
from edge.vision.shape import looks_like_digit, stroke_width, too_wide

logger = logging.getLogger(__name__)


def select_digits(
    groups: list[Group],
    parts: Components,
    inks: InkMap,
    kind: str,
    params: VisionParams = DEFAULT,
    decide: Callable[[list[Group]], np.ndarray] | None = None,
) -> list[Group]:
    """The digit groups to read: the number's row left to right, or the most prominent one.

    decide: a learned decision over the groups that pass the shape rules, how likely each is
    a digit. With it, in a number, groups it rejects that are wide enough to hold two digits
    are cut apart where the pieces read as digits (edge.vision.apart), and a digit-sized mark
    on the row that still is no digit is returned marked `unread`: the number is incomplete.
    """
    # A single digit is often a tight crop (a form cell, a grid square): its strokes touch or
    # cross the edge and it fills the image, so the edge rules only apply to numbers.
    tight = kind == "digit"
    digits = [g for g in groups if looks_like_digit(g, parts, inks, params, tight=tight)]
    rejected: list[Group] = []
    faint_rejected: list[Group] = []
    faint_short: list[Group] = []
    if digits and decide is not None:
        sure = decide(digits)
        rejected = [g for g, p in zip(digits, sure, strict=True) if p < params.min_digit_score]
        digits = [g for g, p in zip(digits, sure, strict=True) if p >= params.min_digit_score]
    if not digits and decide is not None and kind == "number":
        digits, faint_rejected = faint_alone(groups, rejected, parts, inks, params, decide)
        rejected += faint_rejected
    if kind == "digit":
        if not digits:
            return []
        return [with_pieces_beside(max(digits, key=lambda g: g.area), groups, parts, params)]
    if decide is not None:
        wide = [g for g in groups if too_wide(g, inks, params)]
        suspects = [g for g in rejected if g.box[2] >= params.apart_min_aspect * g.box[3]]
        suspects += wide
        fits = partial(looks_like_digit, parts=parts, inks=inks, params=params)
        slant = None
        if suspects and len(digits) >= params.apart_slant_min_digits:
            slant = float(statistics.median(skew(g.own_mask(parts)) for g in digits))
        pieces = read_touching(suspects, parts, decide, fits, params, slant)
        for found in pieces.values():
            digits.extend(found)
        apart = {id(suspects[i]) for i in pieces}
        explained = [suspects[i] for i in pieces]  # read as the digits cut out of them
        rejected = [g for g in rejected + wide if id(g) not in apart]
        joined = read_joined(rejected, parts, decide, params)
        used = {id(piece) for a, b, _ in joined for piece in (a, b)}
        digits.extend(whole for _, _, whole in joined)
        explained += [g for g in rejected if id(g) in used]
        rejected = [g for g in rejected if id(g) not in used]
        if digits:
            seen = digits + rejected + explained
            faint, faint_rejected, faint_short = faint_digits(
                groups, seen, parts, inks, params, decide
            )
            digits += faint
    if not digits:
        return []
    row = number_row(digits, params)
    if decide is None:
        return row
    thin = thinner_than_the_row(row, parts, inks, params)
    if thin:
        # A hair or a fibre on the page beside the number, read as a 1: no digit of a number
        # written with one pen, and left out of it altogether.
        row = [g for g in row if id(g) not in thin]
        digits = [g for g in digits if id(g) not in thin]
    in_row = {id(g) for g in row}
    off_row = [g for g in digits if id(g) not in in_row] + faint_short
    return with_unread(row, rejected, params, off_row, faint_rejected)


def thinner_than_the_row(
    row: list[Group], parts: Components, inks: InkMap, params: VisionParams = DEFAULT
) -> set[int]:
    """The ids of the row's digits whose strokes are under thin_stroke_share as wide as the
    median of the row's other digits' (stroke_width; rows of two or more)."""
    if len(row) < 2:
        return set()
    widths = [stroke_width(g, parts, inks) for g in row]
    return {
        id(g)
        for i, g in enumerate(row)
        if widths[i] < params.thin_stroke_share * statistics.median(widths[:i] + widths[i + 1 :])
    }
