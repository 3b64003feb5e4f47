"""Whether a group of ink looks like a digit at all: its size, shape and contrast, and the
marks that only resemble one (a solid blot, an arc of a larger ring, a cell's side, a piece
of a longer line); how wide its strokes are.

The rules edge.vision.select applies before the learned decision sees a group.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from edge.vision.binarize import InkMap
from edge.vision.group import Components, Group
from edge.vision.lines import continues_as_line
from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)


def stroke_width(group: Group, parts: Components, inks: InkMap) -> float:
    """How wide the group's strokes are: twice its ink's area over the length of its ink's
    outlines, holes included (a stroke of width t and length L: area tL, outline 2L)."""
    x, y, w, h = group.box
    ink = cv2.bitwise_and(inks.mask[y : y + h, x : x + w], group.own_mask(parts))
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(cv2.countNonZero(ink)) / max(outline, 1.0)


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
