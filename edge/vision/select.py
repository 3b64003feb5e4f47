"""Which candidate digits to read: shape rules, a learned decision, then the number's row.

`number`: the chain of neighbouring digits holding the most ink, left to right. `digit`: the
most prominent digit with the pieces that broke off it, which may fill a tight crop.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import cv2
import numpy as np

from edge.vision.apart import read_joined, read_touching, skew
from edge.vision.binarize import InkMap
from edge.vision.group import Components, Group
from edge.vision.lines import continues_as_line
from edge.vision.params import DEFAULT, VisionParams

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


def stroke_width(group: Group, parts: Components, inks: InkMap) -> float:
    """How wide the group's strokes are: twice its ink's area over the length of its ink's
    outlines, holes included (a stroke of width t and length L: area tL, outline 2L)."""
    x, y, w, h = group.box
    ink = cv2.bitwise_and(inks.mask[y : y + h, x : x + w], group.own_mask(parts))
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(cv2.countNonZero(ink)) / max(outline, 1.0)


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


def too_wide(group: Group, inks: InkMap, params: VisionParams = DEFAULT) -> bool:
    """Wider than one digit can be, but otherwise where digits are: maybe touching digits."""
    height, width = inks.mask.shape
    x, y, w, h = group.box
    inside = x > 0 and y > 0 and x + w < width and y + h < height
    return (
        inside
        and h >= params.min_digit_height_px
        and w > params.max_digit_aspect * h
        and h <= params.max_digit_frame_share * height
    )


def with_unread(
    row: list[Group],
    rejected: list[Group],
    params: VisionParams,
    off_row: Sequence[Group] = (),
    faint: Sequence[Group] = (),
) -> list[Group]:
    """The row with the digit-sized marks on it that were not read, marked `unread`.

    A mark about as tall as the row's digits, mostly within the row's band (beyond the row's
    ends, the band along the line through its digits: a rising row's last digit past a gap
    sits higher) and no further from its ends than unread_reach digit heights, is part of
    the number as written: reading the rest
    alone would publish a number with a digit missing. Thin lines, dots and writing above or
    below the row stay out. The distance is to the mark's nearer side: several digits written
    into one wide blob begin right beside the row however far away the blob's centre is.

    The reach counts from the row's ends and from every mark taken, again until nothing more is
    taken: digits left out one after another (a thin 1 the judge rejects, a digit past the
    chain's gap, another past it) each reach as far as the last one taken.

    off_row: digits the judge accepted that the row's chain left out (and faint ones too
    short to join it). One on the row's line within off_row_reach heights of its ends may be
    the number's own digit past a wide gap (or a second number): which one the region means
    is not known, so it is marked too.

    Beyond the row's ends a mark level with the row's band counts as on it too, wherever the
    line through the row's digits would take the band.

    A rejected blob at least as wide as tall counts with its share of the row's height, not of
    its own, within the band: a run of digits drifting off the line is taller than a digit.

    faint: marks under the contrast rule the judge rejected. Beside the row they are grain or
    shadow; one reaching into the row, between its digits (faint_unread_reach), is marked.
    """
    if not row or not (rejected or off_row or faint):
        return row
    band = row_band(row, params)
    typical, start, end = band.typical, band.start, band.end
    marks = []
    reaches = (
        (params.unread_reach, rejected),
        (params.off_row_reach, off_row),
        (params.faint_unread_reach, faint),
    )
    pending = [(reach, groups is rejected, g) for reach, groups in reaches for g in groups]
    taken = True
    while taken:
        taken, left = False, []
        for reach, was_rejected, g in pending:
            x, _, w, h = g.box
            # Beyond the row's ends its band goes on along the row's line, or level: a line
            # through two or three digits' centres is unsure, and carried a few digit heights
            # on it can leave a digit written level with the row outside the band.
            inside_band = max(band.on_band(g.box), band.on_band(g.box, level=True))
            # A rejected blob taller than the row (digits run together up a rising line)
            # but spanning its band is part of the number too; writing above or below is not.
            spans = (
                was_rejected
                and inside_band >= params.unread_span_share * typical
                and h <= params.unread_span_max_height * typical
            )
            # A rejected blob at least as wide as tall (digits run together) needs only its
            # share of a digit's height within the band: drifting off the row's line, its
            # digits stand higher or lower one after another and make it taller than one
            # digit, so less than half its own height meets the band.
            run = was_rejected and w >= h
            if (
                h >= params.unread_min_height * typical
                and (
                    inside_band >= params.unread_band_share * (min(h, typical) if run else h)
                    or spans
                )
                and x <= end + reach * typical
                and x + w >= start - reach * typical
            ):
                g.unread = True
                marks.append(g)
                # The number goes on to the mark: the next one's reach counts from there.
                start, end, taken = min(start, x), max(end, x + w), True
            else:
                left.append((reach, was_rejected, g))
        pending = left
    if not marks:
        return row
    return sorted(row + marks, key=lambda g: g.box[0])


@dataclass(frozen=True)
class RowBand:
    """Where a number's row lies: its digits' median height, the top and bottom of its digits,
    its first and last column, and the line through its digit centres (row_line)."""

    typical: float
    top: int
    bottom: int
    start: int
    end: int
    tilt: float
    first: float
    last: float

    def on_band(self, box: tuple[int, int, int, int], *, level: bool = False) -> float:
        """How many of the box's rows lie within the row's band; beyond the row's ends the band
        goes on along the row's line (a rising row's digit past a gap sits higher), or with
        `level` stays between the row's top and bottom wherever the box is."""
        x, y, w, h = box
        centre = x + w / 2.0
        shift = 0.0 if level else self.tilt * (centre - min(max(centre, self.first), self.last))
        return min(self.bottom + shift, y + h) - max(self.top + shift, y)


def row_band(row: list[Group], params: VisionParams = DEFAULT) -> RowBand:
    """The band of a row of digits ordered left to right."""
    tilt, first, last = row_line(row, params)
    return RowBand(
        typical=float(statistics.median(g.box[3] for g in row)),
        top=min(g.box[1] for g in row),
        bottom=max(g.box[1] + g.box[3] for g in row),
        start=row[0].box[0],
        end=row[-1].box[0] + row[-1].box[2],
        tilt=tilt,
        first=first,
        last=last,
    )


def row_line(row: list[Group], params: VisionParams = DEFAULT) -> tuple[float, float, float]:
    """The slope of the line through the row's digit centres (rows per column, at most
    unread_max_tilt either way; 0 for a lone digit) and its first and last centre columns."""
    xs = [g.box[0] + g.box[2] / 2.0 for g in row]
    ys = [g.box[1] + g.box[3] / 2.0 for g in row]
    first, last = xs[0], xs[-1]
    if len(row) < 2 or last <= first:
        return 0.0, first, last
    # The least-squares slope, written out (a polynomial fit costs a tenth of a millisecond).
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)  # > 0: the ends differ
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread
    return min(max(slope, -params.unread_max_tilt), params.unread_max_tilt), first, last


def with_pieces_beside(
    main: Group, groups: list[Group], parts: Components, params: VisionParams = DEFAULT
) -> Group:
    """The digit with the pieces that broke off it close by (a tight crop cut through it).

    A crop edge can cut away the stroke that joined a 5's bar to its body; the piece left
    over is not a digit on its own but belongs to the one digit the image holds.
    """
    x, y, w, h = main.box
    reach = params.piece_reach * h
    members = list(main.members)
    x0, y0, x1, y1 = x, y, x + w, y + h
    for other in groups:
        if other is main or set(other.members) <= set(members):
            continue
        ox, oy, ow, oh = other.box
        gap = max(ox - x1, x0 - (ox + ow), oy - y1, y0 - (oy + oh))
        nx0, ny0 = min(x0, ox), min(y0, oy)
        nx1, ny1 = max(x1, ox + ow), max(y1, oy + oh)
        if gap <= reach and nx1 - nx0 <= params.piece_max_aspect * (ny1 - ny0):
            members += other.members
            x0, y0, x1, y1 = nx0, ny0, nx1, ny1
    if len(members) == len(main.members):
        return main
    area = float(parts.areas[sorted(set(members))].sum())
    return Group((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), sorted(set(members)), area)


def looks_like_digit(
    group: Group,
    parts: Components,
    inks: InkMap,
    params: VisionParams = DEFAULT,
    *,
    tight: bool = False,
    contrast: float = 1.0,
    line_pieces: bool = False,
) -> bool:
    """Size, shape, position and contrast a handwritten digit can have.

    tight: the image may be a tight crop of one digit, so a digit may fill it and touch its
    edge; otherwise a group touching the edge is neighbouring writing cut by the frame.
    contrast: the share of the contrast rule's level (`inks.strong`) some stroke must reach;
    0 leaves the rule out (a learned judge decides about faint ink).
    line_pieces: let pieces of lines the line search missed pass (line_piece).
    """
    height, width = inks.mask.shape
    x, y, w, h = group.box
    if h < params.min_digit_height_px or w > params.max_digit_aspect * h:
        return False
    share = params.max_digit_frame_share
    touches = x <= 0 or y <= 0 or x + w >= width or y + h >= height
    if touches or h > share * height or w > share * width:
        # In a number, cut by the edge: neighbouring writing, not something we can read. In a
        # tight crop the digit may fill the image and run off it; on a photo, something that
        # touches the edge without filling most of the image is a shadow or a page border.
        fills = h >= params.tight_fill * height or w >= params.tight_fill * width
        if not (tight and fills):
            return False
    own = group.own_mask(parts)
    if touches and tight and along_a_side(own, group.box, (height, width), params):
        return False
    if w > params.solid_min_aspect * h and solid(own, params):
        return False  # a solid blob (a thumb, a hole, a shadow), not strokes
    if contrast > 0 and darkest(group, parts, inks) < contrast * inks.strong:
        return False
    if not line_pieces and line_piece(group, own, inks, params):
        return False
    return not on_a_larger_ring(own, params)  # a piece of a coffee cup's ring


def solid(own: np.ndarray, params: VisionParams = DEFAULT) -> bool:
    """A blob rather than strokes: its ink (the box-sized mask `own`) covers most of its box,
    or a disc of radius solid_core of the box's longer side fits inside it (a punched hole, a
    round sticker: a disc fills only pi/4 of its box; the filled loop of a bold 9 is half the
    digit's height)."""
    h, w = own.shape
    ink = cv2.countNonZero(own)
    if ink > params.solid_fill * w * h:
        return True
    core = params.solid_core * max(w, h)
    if ink < math.pi * core * core:  # too little ink to hold that disc
        return False
    inside = cv2.distanceTransform(
        cv2.copyMakeBorder(own, 1, 1, 1, 1, cv2.BORDER_CONSTANT), cv2.DIST_L2, 3
    )
    return float(inside.max()) >= core


def on_a_larger_ring(own: np.ndarray, params: VisionParams = DEFAULT) -> bool:
    """A mark (the box-sized mask `own`) whose pixels lie on a circle wider than itself: on
    average within ring_fit of its height of the least-squares circle through them, of
    radius ring_min to ring_max heights. An arc of a coffee cup's ring; a 0 is a whole ring
    (radius half its height), a 1 is straight, and no other digit keeps to one circle."""
    h = own.shape[0]
    circle = circle_through(own)
    if circle is None or not params.ring_min * h <= circle[2] <= params.ring_max * h:
        return False
    cx, cy, radius = circle
    ys, xs = np.nonzero(own)
    return bool(np.abs(np.hypot(xs - cx, ys - cy) - radius).mean() <= params.ring_fit * h)


def circle_through(own: np.ndarray) -> tuple[float, float, float] | None:
    """Centre (x, y) and radius of the circle x^2 + y^2 + d x + e y + f = 0 that fits the
    mask's pixels best in least squares (Kasa's fit), from its moments: the 3x3 normal
    equations by Cramer's rule, plain arithmetic being faster than a solver's call. None
    when the pixels lie on a line."""
    m = cv2.moments(own, binaryImage=True)
    a11, a12, a13 = m["m20"], m["m11"], m["m10"]
    a22, a23, a33 = m["m02"], m["m01"], m["m00"]
    b1, b2, b3 = -(m["m30"] + m["m12"]), -(m["m21"] + m["m03"]), -(m["m20"] + m["m02"])
    # Cofactors of the symmetric matrix [[a11 a12 a13] [a12 a22 a23] [a13 a23 a33]].
    c11, c12, c13 = a22 * a33 - a23 * a23, a13 * a23 - a12 * a33, a12 * a23 - a13 * a22
    c22, c23, c33 = a11 * a33 - a13 * a13, a12 * a13 - a11 * a23, a11 * a22 - a12 * a12
    det = a11 * c11 + a12 * c12 + a13 * c13
    if abs(det) <= 1e-9 * max(a11 * a22 * a33, 1.0):
        return None
    d = (b1 * c11 + b2 * c12 + b3 * c13) / det
    e = (b1 * c12 + b2 * c22 + b3 * c23) / det
    f = (b1 * c13 + b2 * c23 + b3 * c33) / det
    cx, cy = -d / 2, -e / 2
    return cx, cy, math.sqrt(max(cx * cx + cy * cy - f, 0.0))


def along_a_side(
    own: np.ndarray,
    box: tuple[int, int, int, int],
    shape: tuple[int, int],
    params: VisionParams = DEFAULT,
) -> bool:
    """Ink (`own`, in its `box`) lying along a side of the image, from end to end over
    side_run of its own length, without filling the image across: the desk past the page's
    edge, a shadow's band, a strip of the next cell. A digit cut by a tight crop meets the
    crop's edge at a few strokes' ends, or fills the crop (a 7's bar along the top of a crop
    of its own box)."""
    height, width = shape
    x, y, w, h = box
    sides = (
        (x <= 0, own[:, 0], h, w < params.tight_fill * width),
        (x + w >= width, own[:, -1], h, w < params.tight_fill * width),
        (y <= 0, own[0, :], w, h < params.tight_fill * height),
        (y + h >= height, own[-1, :], w, h < params.tight_fill * height),
    )
    return any(
        on and narrow and span(line) >= params.side_run * length
        for on, line, length, narrow in sides
    )


def span(line: np.ndarray) -> int:
    """From the first ink pixel of a row or column to its last (0 without ink)."""
    ink = np.flatnonzero(line)
    return int(ink[-1] - ink[0] + 1) if ink.size else 0


def darkest(group: Group, parts: Components, inks: InkMap) -> float:
    """The strongest ink (smoothed) of the group's own pixels."""
    x, y, w, h = group.box
    return float(cv2.minMaxLoc(inks.smooth[y : y + h, x : x + w], group.own_mask(parts))[1])


def line_piece(group: Group, own: np.ndarray, inks: InkMap, params: VisionParams = DEFAULT) -> bool:
    """A thin mark (its pixels `own`) whose line goes on past both its ends: a piece of a line
    the line search missed (the side of a grid's square seen askew, between two crossings)."""
    x, y, w, h = group.box
    if w >= params.line_piece_max_aspect * h:
        return False
    level = params.line_piece_level * inks.low
    return continues_as_line(own, (x, y), inks.smooth, level, params)


def number_row(digits: list[Group], params: VisionParams = DEFAULT) -> list[Group]:
    """The chain of neighbouring digits holding the most ink, ordered left to right.

    Each digit links to its nearest neighbour on the right that sits on about the same line
    (centres within row_max_drift heights, similar height) and no more than row_gap_heights
    away; the linked chains are the candidate numbers.
    """
    boxes = np.array([g.box for g in digits], np.float64).reshape(-1, 4)
    x, y, w, h = (boxes[:, i] for i in range(4))
    cx, cy = x + w / 2, y + h / 2
    taller = np.maximum(h[:, None], h[None])
    ratio = h[:, None] / h[None]
    most = params.row_height_ratio  # either way: a / b and b / a
    gap = x[None] - (x + w)[:, None]  # from i's right edge to j's left edge
    drift = np.abs(cy[None] - cy[:, None])
    # A sloping baseline moves further from a digit's centre the further along the line.
    slope = params.row_max_slope * np.abs(cx[None] - cx[:, None])
    near = (
        (cx[None] > cx[:, None])
        & (drift <= params.row_max_drift * taller + slope)
        & (ratio > 1 / most)
        & (ratio < most)
        & (gap <= params.row_gap_heights * taller)
    )
    parent = list(range(len(digits)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(digits)):
        right = np.nonzero(near[i])[0]
        if right.size:
            j = int(right[np.argmin(np.maximum(gap[i, right], 0) + 1e-3 * cx[right])])
            parent[root(i)] = root(j)
    chains: dict[int, list[int]] = {}
    for i in range(len(digits)):
        chains.setdefault(root(i), []).append(i)
    best = max(chains.values(), key=lambda c: sum(digits[i].area for i in c))
    row = sorted((digits[i] for i in best), key=lambda g: g.box[0])
    typical = float(statistics.median(g.box[3] for g in row))
    return [g for g in row if g.box[3] >= params.row_min_height * typical]
