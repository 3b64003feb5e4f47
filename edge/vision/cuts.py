"""Where a blob of touching digits may be cut, and the pieces a cut makes: its thinnest
columns, upright or along the writing's slant (cut_lines, thinnest), each cut's two pieces
boxed to their own ink (cut_at), and which of two ways to cut a blob is better (better).
edge.vision.apart cuts a blob in two, and the pieces again; edge.vision.chains cuts a run
of touching digits at all its thin places at once.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from edge.vision.group import Components, Group
from edge.vision.params import DEFAULT, VisionParams

# How sure the learned judge is that each group is one digit (0..1; 0.5 and up is a digit).
Scores = Callable[[list[Group]], np.ndarray]
# Whether a piece has the size, shape and contrast of a digit at all (no model involved).
Fits = Callable[[Group], bool]


def sureness(pieces: list[Group], score: Scores, fits: Fits) -> dict[int, float]:
    """How sure the judge is that each piece (by id) is one digit, in one call: 0 for a piece
    without the size and shape of a digit, which the judge is not shown."""
    fitting = [p for p in pieces if fits(p)]
    sure: dict[int, float] = {id(p): 0.0 for p in pieces}
    if fitting:
        for piece, value in zip(fitting, np.asarray(score(fitting), np.float64), strict=True):
            sure[id(piece)] = float(value)
    return sure


def better(
    quality: float, found: list[Group], than: float, other: list[Group], params: VisionParams
) -> bool:
    """Whether a cut beats another: surer, or as sure (apart_sure) in fewer pieces."""
    sure = params.apart_sure
    if min(quality, sure) != min(than, sure):
        return quality > than
    if len(found) != len(other):
        return len(found) < len(other)
    return quality > than


# A cut: where it crosses the middle row of the group's box (a column), and its slope: columns
# per row down, 0 for a vertical cut, < 0 leaning forward like a right-slanted digit's stem.
Cut = tuple[int, float]


def cut_lines(
    group: Group, parts: Components, params: VisionParams = DEFAULT, slant: float | None = None
) -> list[Cut]:
    """The cuts to try: the thinnest columns, and the thinnest places along the writing's slant.

    Touching slanted digits meet along their slant: a vertical cut takes the foot of one and
    the head of the other. slant: the row's, in columns per row (see select). Without it, a
    group leaning forward gives its own lean when, upright again, it is at most
    apart_lean_max_aspect as wide as tall (two digits, about): a wider one's lean is as much
    the baseline's tilt, and a group's own backward lean is more often the back of a 3 or a 4
    than the writer's (a 3 and a 4 cut along it read as 3, 6 and 1). Cuts along the slant are
    tried when it leans at least apart_slant_min, clipped to apart_slant_max.
    """
    cuts: list[Cut] = [(column, 0.0) for column in thinnest(group, parts, 0.0, params)]
    _, _, w, h = group.box
    if w < params.apart_min_aspect * h:
        return cuts  # too narrow to hold two digits, whatever the slope
    if slant is None:
        lean = min(skew(group.own_mask(parts)), 0.0)
        # Two slanted digits are wider by their lean; upright again they are two digits wide.
        slant = lean if w + lean * h <= params.apart_lean_max_aspect * h else 0.0
    if abs(slant) >= params.apart_slant_min:
        slope = min(max(slant, -params.apart_slant_max), params.apart_slant_max)
        cuts += [(column, slope) for column in thinnest(group, parts, slope, params)]
    return cuts


def skew(own: np.ndarray) -> float:
    """How far a mask's ink leans: columns per row down (mu11 / mu02; < 0 leans forward)."""
    m = cv2.moments(own, binaryImage=True)
    return float(m["mu11"] / m["mu02"]) if m["mu02"] > 0 else 0.0


def thinnest(
    group: Group, parts: Components, slope: float, params: VisionParams, limit: int | None = None
) -> list[int]:
    """The thinnest places along lines of this slope, as the columns where they cross the
    middle row: local minima of the ink per line (smoothed over three), at least a narrow 1's
    width from either end and from each other, thinnest first, at most `limit`
    (apart_max_cuts)."""
    _, _, w, h = group.box
    if w < params.apart_min_aspect * h:
        return []
    limit = params.apart_max_cuts if limit is None else limit
    own = group.own_mask(parts)
    if slope == 0.0:
        profile = own.sum(axis=0, dtype=np.float32)
        first = 0
    else:
        ys, xs = np.nonzero(own)
        if xs.size == 0:
            return []
        across = np.round(xs - slope * (ys - (h - 1) / 2.0)).astype(np.int64)
        first = int(across.min())
        profile = np.bincount(across - first).astype(np.float32)
    span = profile.size
    ink = cv2.blur(profile.reshape(1, -1), (3, 1)).ravel()
    edge = max(1, round(params.apart_min_piece_aspect * h))
    if span - edge <= edge:
        return []
    inside = np.arange(edge, span - edge)
    left, here, right = ink[inside - 1], ink[inside], ink[np.minimum(inside + 1, span - 1)]
    minima = inside[(here <= left) & (here <= right)]
    chosen: list[int] = []
    spacing = params.apart_min_piece_aspect * h
    for column in minima[np.argsort(ink[minima], kind="stable")]:
        if all(abs(int(column) + first - c) >= spacing for c in chosen):
            chosen.append(int(column) + first)
            if len(chosen) == limit:
                break
    return chosen


def cut_at(
    group: Group, parts: Components, cut: Cut, params: VisionParams = DEFAULT
) -> tuple[Group, Group] | None:
    """The two pieces either side of a cut, each boxed tightly to its own ink."""
    column, slope = cut
    own = group.own_mask(parts)
    left = cut_columns(own, slope) < column
    pieces = []
    for side in (left, ~left):
        piece = piece_of(group, own * side.astype(np.uint8), params)
        if piece is None:
            return None
        pieces.append(piece)
    return pieces[0], pieces[1]


def cut_columns(own: np.ndarray, slope: float) -> np.ndarray:
    """Per pixel of a group's mask, the column where the line of this slope through it
    crosses the middle row (the coordinate cuts are given in)."""
    rows_of, cols_of = np.indices(own.shape)
    return np.asarray(cols_of - slope * (rows_of - (own.shape[0] - 1) / 2.0), np.float64)


def piece_of(group: Group, mask: np.ndarray, params: VisionParams) -> Group | None:
    """The group's ink left in `mask` (its box's size) as a group boxed tightly to it; None
    when it is shorter than apart_min_piece_height of the group's height."""
    x, y, _, h = group.box
    rows = np.nonzero(mask.any(axis=1))[0]
    if rows.size == 0 or rows[-1] - rows[0] + 1 < params.apart_min_piece_height * h:
        return None
    cols = np.nonzero(mask.any(axis=0))[0]
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    box = (x + c0, y + r0, c1 - c0, r1 - r0)
    return Group(
        box, group.members, float(mask.sum()), _own=np.ascontiguousarray(mask[r0:r1, c0:c1])
    )
