"""Connected components -> digits: merge broken strokes, split touching digits, drop junk.

Thresholded handwriting does not come one component per digit: the bar of a 5, the stem of
a thin 7 or the loop of a 6 breaks off, and neighbouring digits touch. Components are merged
when one sits over the other (stacked, overlapping in x), inside the other's box, or is a
short piece right beside a taller one; groups much wider than a digit are cut at their
thinnest column. Then blobs that cannot be digits are dropped and the number's row chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edge.vision.params import DEFAULT, VisionParams

if TYPE_CHECKING:
    from edge.vision.binarize import InkMap

logger = logging.getLogger(__name__)


@dataclass
class Components:
    """The connected pieces of an ink mask, by their outer contours."""

    mask: np.ndarray
    contours: list[np.ndarray]
    boxes: np.ndarray  # n x 4: x, y, w, h
    areas: np.ndarray  # n: pixels enclosed by each outer contour (holes included)


@dataclass
class Group:
    box: tuple[int, int, int, int]  # x, y, w, h in analysis pixels
    members: list[int]  # indices into Components.contours that form this digit
    area: float  # enclosed pixels (the hole of a 0 counts)
    _own: np.ndarray | None = field(default=None, repr=False, compare=False)

    def own_mask(self, parts: Components) -> np.ndarray:
        """uint8 0/1 mask of this digit's own ink within its box (computed once)."""
        if self._own is None:
            x, y, w, h = self.box
            filled = np.zeros((h, w), np.uint8)
            cv2.drawContours(filled, [parts.contours[i] for i in self.members], -1, 1,
                             thickness=cv2.FILLED, offset=(-x, -y))
            self._own = cv2.bitwise_and(filled, parts.mask[y : y + h, x : x + w])
        return self._own


def find_components(mask: np.ndarray, params: VisionParams = DEFAULT) -> Components:
    """Outer contours of the mask's pieces: boxes and sizes without a full labelling pass."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > params.max_components:
        contours = sorted(contours, key=len)[-params.max_components :]
    boxes = np.array([cv2.boundingRect(c) for c in contours], np.int64).reshape(-1, 4)
    # The polygon through boundary pixel centres misses half a pixel all round.
    areas = np.array([cv2.contourArea(c) + 0.5 * cv2.arcLength(c, True) + 1 for c in contours])
    return Components(mask=mask, contours=list(contours), boxes=boxes, areas=areas)


def group_components(parts: Components, params: VisionParams = DEFAULT) -> list[Group]:
    """Digits made of the pieces: fragments merged, touching digits split, specks dropped."""
    height, width = parts.mask.shape
    boxes, areas = parts.boxes, parts.areas
    keep = np.nonzero(areas >= params.min_speck_area_px)[0]
    share = params.plausible_frame_share
    plausible = keep[(boxes[keep, 3] < share * height) & (boxes[keep, 2] < share * width)]
    if plausible.size:
        keep = keep[areas[keep] >= params.relative_speck_area * areas[plausible].max()]
    if keep.size == 0:
        return []
    groups = []
    for members in merge_fragments(boxes[keep], params):
        group = make_group(boxes, areas, [int(i) for i in keep[members]])
        groups.extend(split_wide(group, parts, params))
    return groups


def merge_fragments(boxes: np.ndarray, params: VisionParams = DEFAULT) -> list[list[int]]:
    """Indices of `boxes` rows (x, y, w, h) that belong together, one list per digit."""
    x, y, w, h = (boxes[:, i] for i in range(4))
    x1, y1 = x + w, y + h
    ox = np.minimum(x1[:, None], x1[None]) - np.maximum(x[:, None], x[None])
    oy = np.minimum(y1[:, None], y1[None]) - np.maximum(y[:, None], y[None])
    min_w, max_h = np.minimum(w[:, None], w[None]), np.maximum(h[:, None], h[None])
    span = np.maximum(y1[:, None], y1[None]) - np.minimum(y[:, None], y[None])
    box_area = w * h
    smaller_area = np.minimum(box_area[:, None], box_area[None])
    p = params
    inside = np.clip(ox, 0, None) * np.clip(oy, 0, None) >= p.inside_share * smaller_area
    # One piece above the other: the bar of a 5 over its body, a 7's bar over its stem.
    stacked = ((ox >= p.stack_min_x_overlap * min_w) & (oy >= -p.stack_max_gap * max_h)
               & (oy <= p.stack_max_overlap * max_h))
    # A short piece right beside a taller one, together no wider than a digit: the loop of a
    # 6 or the top of an 8 that came apart. Neighbouring digits are about equally tall.
    short = ((h[:, None] >= p.beside_min_height * h[None])
             & (h[:, None] < p.beside_max_height * h[None]))
    reach = p.beside_reach * h[None]
    within = (y[:, None] >= y[None] - reach) & (y1[:, None] <= y1[None] + reach)
    merged_w = np.maximum(x1[:, None], x1[None]) - np.minimum(x[:, None], x[None])
    beside = short & within & (ox >= -p.beside_max_gap * h[None]) & (merged_w <= h[None])
    together = (inside | stacked | beside | beside.T) & (span <= p.merge_max_span_heights * max_h)
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in np.argwhere(np.triu(together, 1)):
        parent[root(int(i))] = root(int(j))
    members: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        members.setdefault(root(i), []).append(i)
    return list(members.values())


def make_group(boxes: np.ndarray, areas: np.ndarray, members: list[int]) -> Group:
    rows = boxes[members]
    x0, y0 = rows[:, 0].min(), rows[:, 1].min()
    x1, y1 = (rows[:, 0] + rows[:, 2]).max(), (rows[:, 1] + rows[:, 3]).max()
    return Group(box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)), members=members,
                 area=float(areas[members].sum()))


def split_wide(group: Group, parts: Components, params: VisionParams = DEFAULT) -> list[Group]:
    """Cut a group much wider than a digit at its thinnest column (touching digits)."""
    x, y, w, h = group.box
    if w <= params.split_aspect * h:
        return [group]
    own = group.own_mask(parts)
    columns = own.sum(axis=0)
    margin = params.split_end_margin
    lo, hi = max(1, int(margin * w)), min(w - 1, int((1 - margin) * w))
    if hi <= lo:
        return [group]
    cut = lo + int(np.argmin(columns[lo:hi]))
    # Touching digits meet in one thin stroke; the middle of a wide 0 crosses two.
    runs = int(np.count_nonzero(np.diff(own[:, cut].astype(np.int8)) == 1) + own[0, cut])
    if columns[cut] > params.split_max_join * h or runs > 1:
        return [group]
    pieces = []
    for a, b in ((0, cut), (cut, w)):
        rows = np.nonzero(own[:, a:b].any(axis=1))[0]
        cols = np.nonzero(own[:, a:b].any(axis=0))[0]
        if rows.size == 0 or rows[-1] - rows[0] + 1 < params.split_min_piece_height * h:
            return [group]  # one side is part of a wide digit (a 7's bar), not a digit
        box = (x + a + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1),
               int(rows[-1] - rows[0] + 1))
        piece = Group(box, group.members, float(own[:, a:b].sum()))
        pieces.extend(split_wide(piece, parts, params))
    return pieces


def select_digits(groups: list[Group], parts: Components, inks: InkMap, kind: str,
                  params: VisionParams = DEFAULT,
                  decide: Callable[[list[Group]], list[bool]] | None = None) -> list[Group]:
    """The digit groups to read: the number's row left to right, or the most prominent one.

    decide: a learned digit-or-not decision over the groups that pass the shape rules.
    """
    # A single digit is often a tight crop (a form cell, a grid square): its strokes touch or
    # cross the edge and it fills the image, so the edge rules only apply to numbers.
    tight = kind == "digit"
    digits = [g for g in groups if looks_like_digit(g, parts, inks, params, tight=tight)]
    if digits and decide is not None:
        digits = [g for g, keep in zip(digits, decide(digits), strict=True) if keep]
    if not digits:
        return []
    if kind == "digit":
        return [with_pieces_beside(max(digits, key=lambda g: g.area), groups, parts, params)]
    return number_row(digits, params)


def with_pieces_beside(main: Group, groups: list[Group], parts: Components,
                       params: VisionParams = DEFAULT) -> Group:
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


def looks_like_digit(group: Group, parts: Components, inks: InkMap,
                     params: VisionParams = DEFAULT, *, tight: bool = False) -> bool:
    """Size, shape, position and contrast a handwritten digit can have.

    tight: the image may be a tight crop of one digit, so a digit may fill it and touch its
    edge; otherwise a group touching the edge is neighbouring writing cut by the frame.
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
    if cv2.countNonZero(own) > params.solid_fill * w * h and w > params.solid_min_aspect * h:
        return False  # a solid blob (a thumb, a hole, a shadow), not strokes
    peak = cv2.minMaxLoc(inks.smooth[y : y + h, x : x + w], own)[1]
    return peak >= inks.strong


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
    near = ((cx[None] > cx[:, None]) & (drift <= params.row_max_drift * taller)
            & (ratio > 1 / most) & (ratio < most) & (gap <= params.row_gap_heights * taller))
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
    typical = float(np.median([g.box[3] for g in row]))
    return [g for g in row if g.box[3] >= params.row_min_height * typical]
