"""Connected components -> digits: merge broken strokes, split touching digits, drop junk.

Thresholded handwriting does not come one component per digit: the bar of a 5, the stem of
a thin 7 or the loop of a 6 breaks off, and neighbouring digits touch. Components are merged
when one sits over the other (stacked, overlapping in x), inside the other's box, or is a
short piece right beside a taller one; groups much wider than a digit are cut at their
thinnest column. Choosing which groups to read is edge.vision.select.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.vision.params import DEFAULT, VisionParams

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
    unread: bool = False  # on the number's row but not read as a digit (edge.vision.row)
    _own: np.ndarray | None = field(default=None, repr=False, compare=False)

    def own_mask(self, parts: Components) -> np.ndarray:
        """uint8 0/1 mask of this digit's own ink within its box (computed once)."""
        if self._own is None:
            x, y, w, h = self.box
            filled = np.zeros((h, w), np.uint8)
            cv2.drawContours(
                filled,
                [parts.contours[i] for i in self.members],
                -1,
                1,
                thickness=cv2.FILLED,
                offset=(-x, -y),
            )
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
    # Plain Python numbers: a frame's pieces are mostly specks and single strokes, and numpy's
    # cost per call would be most of the work.
    kept, box_of, area_of = keep.tolist(), boxes.tolist(), areas.tolist()
    groups = []
    for members in merge_fragments(boxes[keep], params):
        group = make_group(box_of, area_of, [kept[i] for i in members])
        _, _, w, h = group.box
        if w <= params.split_aspect * h:  # split_wide's own first test, without the call
            groups.append(group)
        else:
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
    inside = np.maximum(ox, 0) * np.maximum(oy, 0) >= p.inside_share * smaller_area
    # One piece above the other: the bar of a 5 over its body, a 7's bar over its stem.
    stacked = (
        (ox >= p.stack_min_x_overlap * min_w)
        & (oy >= -p.stack_max_gap * max_h)
        & (oy <= p.stack_max_overlap * max_h)
    )
    # A short piece right beside a taller one, together no wider than a digit: the loop of a
    # 6 or the top of an 8 that came apart. Neighbouring digits are about equally tall.
    short = (h[:, None] >= p.beside_min_height * h[None]) & (
        h[:, None] < p.beside_max_height * h[None]
    )
    reach = p.beside_reach * h[None]
    within = (y[:, None] >= y[None] - reach) & (y1[:, None] <= y1[None] + reach)
    merged_w = np.maximum(x1[:, None], x1[None]) - np.minimum(x[:, None], x[None])
    beside = short & within & (ox >= -p.beside_max_gap * h[None]) & (merged_w <= h[None])
    together = (inside | stacked | beside | beside.T) & (span <= p.merge_max_span_heights * max_h)
    return linked(len(boxes), ((int(i), int(j)) for i, j in np.argwhere(np.triu(together, 1))))


def linked(count: int, links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The indices 0..count-1 joined into chains by `links` (pairs of indices), each chain in
    ascending order, the chains in the order of their first index (union-find)."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in links:
        parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(count):
        members.setdefault(root(i), []).append(i)
    return list(members.values())


def make_group(boxes: list[list[int]], areas: list[float], members: list[int]) -> Group:
    """The group of the pieces `members` (indices into the pieces' boxes and areas)."""
    if len(members) == 1:
        x, y, w, h = boxes[members[0]]
        return Group(box=(x, y, w, h), members=members, area=areas[members[0]])
    rows = [boxes[i] for i in members]
    x0, y0 = min(r[0] for r in rows), min(r[1] for r in rows)
    x1, y1 = max(r[0] + r[2] for r in rows), max(r[1] + r[3] for r in rows)
    # numpy's sum, as before: summed pairwise, the same to the last bit.
    area = float(np.sum([areas[i] for i in members]))
    return Group(box=(x0, y0, x1 - x0, y1 - y0), members=members, area=area)


def merged(a: Group, b: Group, parts: Components) -> Group:
    """One group of both groups' pieces, boxed round both (a digit found in two pieces)."""
    x0, y0 = min(a.box[0], b.box[0]), min(a.box[1], b.box[1])
    x1 = max(a.box[0] + a.box[2], b.box[0] + b.box[2])
    y1 = max(a.box[1] + a.box[3], b.box[1] + b.box[3])
    members = sorted(set(a.members) | set(b.members))
    return Group((x0, y0, x1 - x0, y1 - y0), members, float(parts.areas[members].sum()))


def split_wide(group: Group, parts: Components, params: VisionParams = DEFAULT) -> list[Group]:
    """Cut a group much wider than a digit at its thinnest column (touching digits)."""
    x, y, w, h = group.box
    if w <= params.split_aspect * h:
        return [group]
    if len(group.members) == 1 and params.split_max_join * h < 1:
        # One connected piece has ink in every column of its box: no column is thin enough
        # to cut (most such groups are specks of grain or of a broken line).
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
        box = (
            x + a + int(cols[0]),
            y + int(rows[0]),
            int(cols[-1] - cols[0] + 1),
            int(rows[-1] - rows[0] + 1),
        )
        piece = Group(box, group.members, float(own[:, a:b].sum()))
        pieces.extend(split_wide(piece, parts, params))
    return pieces
