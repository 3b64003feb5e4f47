"""Find handwritten digits in a greyscale image: one tight ink crop per digit.

Pipeline: ink map (edge.vision.binarize) -> connected components -> fragments grouped into digits
(edge.vision.group) -> non-digit blobs dropped -> the row of the number (left to right) or the
most prominent digit. Large frames are analysed on a smaller copy and boxes mapped back. When
the judge finds no digit at all, a second look removes thicker and steeper lines too, and
when faint digit-sized marks were seen, a third takes fainter ink for ink (pencil in dim light),
and last one large faint digit alone is taken (edge.vision.faint.faint_single; in a digit
region the fainter ink's first). A digit region's digit also carries a way to join the
fainter ink round it (edge.vision.fainter.grown_ink), which the reader uses when the digit
alone reads unsurely; a number's digits a way to join two neighbours into one digit (joined),
for pieces of one digit.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal

import cv2
import numpy as np

from edge.vision.binarize import InkMap, ink_map, lowered, relined
from edge.vision.cell import is_cell
from edge.vision.faint import faint_single
from edge.vision.fainter import (
    RemovedInk,
    fainter_low,
    fainter_window,
    grown_ink,
    lined_ink,
    shared,
)
from edge.vision.group import Components, Group, find_components, group_components, merged
from edge.vision.params import DEFAULT, VisionParams
from edge.vision.row import row_band
from edge.vision.select import select_digits
from edge.vision.shape import darkest, looks_like_digit
from edge.vision.strokes import own_strokes

logger = logging.getLogger(__name__)

Kind = Literal["number", "digit"]
# How likely each of several digit inks (float32 0..1, white on black) is a digit, 0..1: the
# learned decision a model with a "not a digit" output makes (see edge.reader). At
# params.min_digit_score and above a candidate is a digit.
Judge = Callable[[Sequence[np.ndarray]], "Sequence[float] | np.ndarray"]


@dataclass
class DigitCandidate:
    """One digit found in an image."""

    box: tuple[int, int, int, int]  # x, y, w, h in the pixels of the image given to find_digits
    ink: np.ndarray  # float32 0..1, white digit on black, tight crop of this digit's strokes
    # A digit-sized mark on the number's row that the judge does not take for a digit: the
    # number is incomplete, so it must not be published as read (confidence 0).
    unread: bool = False
    # The most confidence its reading may carry: a tight crop that reads surely as two
    # different digits with and without its cell's frame lines is not sure of either.
    ceiling: float = 1.0
    # The same digit with the ruled-line ink along it put back, when a removed line touched it
    # (see lined_ink): read too, and if it is surely another digit, neither is sure.
    lined: np.ndarray | None = None
    # In a digit region: the same digit with the fainter ink round it joined (grown_ink), made
    # only when asked, by a reader that found the digit alone unsure; None when nothing joins.
    grow: Callable[[], DigitCandidate | None] | None = None
    # Found as light writing on dark paper (chalk on a board, a white pen, an inverted scan).
    light: bool = False
    # In a number: a way to make this candidate and its neighbour on the row one digit
    # (join(self, other), None when together they are too wide for one), used only by a
    # reader that found one of the two unsure; None where joining is not offered.
    join: Callable[[DigitCandidate, DigitCandidate], DigitCandidate | None] | None = field(
        default=None, repr=False, compare=False
    )
    # The group it was found as (analysis pixels), which `join` joins; None when not offered.
    group: Group | None = field(default=None, repr=False, compare=False)


def find_digits(
    gray: np.ndarray,
    kind: Kind = "number",
    params: VisionParams = DEFAULT,
    judge: Judge | None = None,
) -> list[DigitCandidate]:
    """The digits of a uint8 greyscale image: left to right (`number`) or the most prominent one.

    judge: when given, every candidate that passes the shape rules is shown to it, and only
    those it calls digits take part in choosing the row or the most prominent digit.
    """
    if gray.ndim != 2 or min(gray.shape) < params.min_image_side_px:
        return []
    scale = analysis_scale(gray.shape, params)
    work = gray
    if scale != 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        shrink = scale < 1
        work = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    # Only a crop can be so full of ink that the paper's percentile lands on ink; on a photo
    # the same allowance turns the noise of a dark frame into digits.
    tight = kind == "digit" and is_cell(gray.shape, params)
    inks = ink_map(work, params, tight=tight, crop=scale > 1)
    light = inks.light_on_dark
    parts = find_components(inks.mask, params)
    # One ink array per group: the judge's and the caller's. The group is kept with it: the
    # pieces of cuts and joins tried and dropped are freed, and a new group may get their id.
    made: dict[int, tuple[Group, np.ndarray]] = {}

    def ink_of(group: Group) -> np.ndarray:
        if id(group) not in made:
            made[id(group)] = (group, digit_ink(inks, parts, group, params))
        return made[id(group)][1]

    decide = None
    if judge is not None:

        def decide(groups: list[Group]) -> np.ndarray:
            return np.asarray(judge([ink_of(g) for g in groups]), np.float64).reshape(-1)

    def look(again: InkMap) -> list[Group]:
        """Select the digits afresh on another ink map of the same image."""
        nonlocal inks, parts
        inks, parts = again, find_components(again.mask, params)
        made.clear()
        return select_digits(group_components(parts, params), parts, inks, kind, params, decide)

    groups = group_components(parts, params)
    chosen = select_digits(groups, parts, inks, kind, params, decide)
    if not chosen and decide is not None:
        first, first_parts = inks, parts
        # Pencil strokes that stand out of the shape rules but not of the contrast rule: the
        # ink threshold may have cut them to pieces too (see faint_look_low).
        faint = any(looks_like_digit(g, parts, inks, params, contrast=0.0) for g in groups)
        # Nothing found: maybe a thick or steep line joined the digits; look again.
        chosen = look(relined(first, second_look(params)))
        if not chosen and faint:
            # Still nothing, and faint marks the size of digits: look at fainter ink.
            chosen = look(lowered(first, params.faint_look_low, params))
            if not chosen and kind == "digit":
                # A digit region holds one digit: the one large faint mark of the fainter ink
                # (in a number it may be the one digit of several found; see faint_single).
                chosen = faint_single(
                    group_components(parts, params), parts, inks, params, decide, one_digit=True
                )
        if not chosen and faint:
            # Last: one large faint digit alone, on the first look's ink.
            inks, parts = first, first_parts
            made.clear()
            chosen = faint_single(groups, parts, inks, params, decide, one_digit=kind == "digit")
    found = [
        DigitCandidate(to_caller_box(g.box, scale, gray.shape), ink_of(g), g.unread, light=light)
        for g in chosen
    ]
    if any(not g.unread for g in chosen):
        removed = RemovedInk(inks)
        for g, candidate in zip(chosen, found, strict=True):
            if not g.unread:
                candidate.lined = lined_ink(inks, parts, g, removed, params)
        if kind == "digit" and len(chosen) == 1:
            found[0].grow = partial(
                grown, inks, parts, chosen[0], removed, params, scale, gray.shape
            )
        if kind == "number" and judge is not None:
            join = partial(joined, inks, parts, params, scale, gray.shape)
            for g, candidate in zip(chosen, found, strict=True):
                candidate.group, candidate.join = g, join
            beside = look_beside(chosen, inks, removed, params, judge)
            found += [
                DigitCandidate(to_caller_box(g.box, scale, gray.shape), ink, unread)
                for g, ink, unread in beside
            ]
            found.sort(key=lambda c: c.box[0])
    return found


def look_beside(
    row: list[Group], inks: InkMap, removed: RemovedInk, params: VisionParams, judge: Judge
) -> list[tuple[Group, np.ndarray, bool]]:
    """Marks of fainter ink beside or between a found number's digits: (group, its ink,
    unread), where unread means the judge does not take it for a digit of the number.

    Pencil pressed lightly for one digit leaves it lighter than the rest: under the frame's
    threshold it breaks into pieces no rule takes for a digit, and the number would go out
    a digit short. Round the row (row_gap_heights either side, the lines found before and
    the ink on them, `removed`, left out) the ink map is thresholded again at row_look_low
    of its threshold (at least row_look_min_low), and only marks on the row's band (along
    its line beyond its ends), new (sharing at most row_look_max_overlap of either box with
    a digit of the row: the fainter ink of the row's own digits is not a digit more) and
    somewhere at least row_look_min_contrast as dark as the row's digits are looked at.
    """
    read = [g for g in row if not g.unread]
    low = fainter_low(inks, params)
    if not read or low >= inks.low:
        return []
    band = row_band(read, params)
    typical = band.typical
    reach = params.row_gap_heights * typical
    # Only the row's surroundings: its band, a digit's height more above and below, and the
    # rise or fall of its line as far as the marks may stand.
    height, width = inks.mask.shape
    margin = typical + abs(band.tilt) * reach
    x0, x1 = max(0, int(band.start - reach)), min(width, int(np.ceil(band.end + reach)))
    y0, y1 = max(0, int(band.top - margin)), min(height, int(np.ceil(band.bottom + margin)))
    smooth, mask = fainter_window(inks, removed, (x0, y0, x1, y1), low)
    # The row's digits are read already: what the lower threshold makes of them is left out
    # before the pieces are grouped (most of the look's work on a frame).
    for x, y, w, h in (g.box for g in row):
        mask[max(0, y - y0) : max(0, y + h - y0), max(0, x - x0) : max(0, x + w - x0)] = 0
    shortest = params.unread_min_height * typical
    if cv2.countNonZero(mask) < shortest:  # too little ink left for a mark that tall
        return []
    # A digit pressed lightly is thinner and broken, but somewhere as dark as the others; the
    # shadows and grain a lower threshold adds are not.
    level = params.row_look_min_contrast * float(
        statistics.median(
            int(inks.smooth[y : y + h, x : x + w].max()) for x, y, w, h in (g.box for g in read)
        )
    )
    if cv2.minMaxLoc(smooth, mask)[1] < level:  # no ink left that dark: no mark can be
        return []
    lower = replace(inks, ink=inks.ink[y0:y1, x0:x1], smooth=smooth, mask=mask, low=low)
    parts = find_components(mask, params)
    marks, inks_of = [], []
    for g in group_components(parts, params):
        x, y, w, h = g.box
        box = (x + x0, y + y0, w, h)
        if h < shortest:
            continue
        if any(shared(box, digit.box) > params.row_look_max_overlap for digit in row):
            continue
        if band.on_band(box) < params.unread_band_share * h:
            continue
        if not looks_like_digit(g, parts, lower, params, contrast=0.0):
            continue
        if darkest(g, parts, lower) >= level:
            marks.append(Group(box, g.members, g.area))
            inks_of.append(digit_ink(lower, parts, g, params))
    if not marks:
        return []
    scores = np.asarray(judge(inks_of), np.float64).reshape(-1)
    least = params.faint_min_height * typical
    return [
        (g, ink, not (score >= params.faint_min_digit_score and g.box[3] >= least))
        for g, ink, score in zip(marks, inks_of, scores, strict=True)
    ]


def joined(
    inks: InkMap,
    parts: Components,
    params: VisionParams,
    scale: float,
    shape: tuple[int, ...],
    first: DigitCandidate,
    second: DigitCandidate,
) -> DigitCandidate | None:
    """Two neighbouring candidates of a row as one digit, boxed in the caller's pixels (None
    when together they are too wide for one digit)."""
    if first.group is None or second.group is None:
        return None
    group = merged(first.group, second.group, parts)
    if group.box[2] > params.pieces_join_max_aspect * group.box[3]:
        return None
    ink = digit_ink(inks, parts, group, params)
    return DigitCandidate(to_caller_box(group.box, scale, shape), ink, join=first.join, group=group)


def grown(
    inks: InkMap,
    parts: Components,
    group: Group,
    removed: RemovedInk,
    params: VisionParams,
    scale: float,
    shape: tuple[int, ...],
) -> DigitCandidate | None:
    """The digit with the fainter ink round it joined, boxed in the caller's pixels."""
    more = grown_ink(inks, parts, group, removed, params)
    if more is None:
        return None
    box, ink = more
    return DigitCandidate(to_caller_box(box, scale, shape), ink)


def second_look(params: VisionParams) -> VisionParams:
    """The parameters of the second look: thicker and steeper lines are lines too."""
    return replace(
        params,
        line_max_thickness_px=params.second_look_line_max_thickness_px,
        tilt_smear_px=params.second_look_tilt_smear_px,
    )


def analysis_scale(shape: tuple[int, ...], params: VisionParams = DEFAULT) -> float:
    """The factor from the caller's pixels to the pixels the analysis runs on."""
    side = max(shape[:2])
    if side > params.max_analysis_side_px:
        return params.analysis_side_px / side
    if side < params.min_analysis_side_px:
        # A whole factor, so every enlarged pixel maps back onto whole caller pixels.
        return float(int(np.ceil(params.enlarged_side_px / side)))
    return 1.0


def to_caller_box(
    box: tuple[int, int, int, int], scale: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    x, y, w, h = box
    if scale == 1.0:
        return int(x), int(y), int(w), int(h)
    x0, y0 = int(np.floor(x / scale)), int(np.floor(y / scale))
    x1 = min(shape[1], int(np.ceil((x + w) / scale)))
    y1 = min(shape[0], int(np.ceil((y + h) / scale)))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def digit_ink(
    inks: InkMap, parts: Components, group: Group, params: VisionParams = DEFAULT
) -> np.ndarray:
    """White-on-black 0..1 crop of the group's own strokes; neighbours and lines masked out.

    The stroke core is scaled to 1 (MNIST strokes are saturated) so pencil and pen look alike;
    a one-pixel rim outside the mask keeps the anti-aliased edge MNIST digits have.
    """
    x, y, w, h = group.box
    return own_strokes(
        inks, (x, y), group.own_mask(parts), parts.mask[y : y + h, x : x + w], params
    )
