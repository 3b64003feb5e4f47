"""Connected components -> digits: merge broken strokes, split touching digits, drop junk.

Thresholded handwriting does not come one component per digit: the bar of a 5, the stem of
a thin 7 or the loop of a 6 breaks off, and neighbouring digits touch. Components are merged
when one sits over the other (stacked, overlapping in x), inside the other's box, or is a
short piece right beside a taller one; groups much wider than a digit are cut at their
thinnest column. Then blobs that cannot be digits are dropped and the number's row chosen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from edge.vision.binarize import InkMap

logger = logging.getLogger(__name__)

MIN_SPECK_AREA = 6  # enclosed pixels
RELATIVE_SPECK_AREA = 0.01  # of the largest plausible component
MAX_COMPONENTS = 400  # a frame of pure noise must not cost O(n^2) Python work
MIN_DIGIT_HEIGHT = 10  # analysis pixels
SOLID_FILL = 0.85  # ink covering more of its box is a blob; small bold digits fill ~0.8
MAX_ASPECT = 2.2  # width / height of one digit, after splitting (MNIST has wide 0s and 6s)
SPLIT_ASPECT = 1.35  # groups wider than this (width / height) may be touching digits
STACK_OVERLAP = 0.35  # pieces overlapping more than this in height sit side by side
ROW_GAP_HEIGHTS = 2.5  # a gap wider than this many digit heights ends the number


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


def find_components(mask: np.ndarray) -> Components:
    """Outer contours of the mask's pieces: boxes and sizes without a full labelling pass."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if len(contours) > MAX_COMPONENTS:
        contours = sorted(contours, key=len)[-MAX_COMPONENTS:]
    boxes = np.array([cv2.boundingRect(c) for c in contours], np.int64).reshape(-1, 4)
    # The polygon through boundary pixel centres misses half a pixel all round.
    areas = np.array([cv2.contourArea(c) + 0.5 * cv2.arcLength(c, True) + 1 for c in contours])
    return Components(mask=mask, contours=list(contours), boxes=boxes, areas=areas)


def group_components(parts: Components) -> list[Group]:
    """Digits made of the pieces: fragments merged, touching digits split, specks dropped."""
    height, width = parts.mask.shape
    boxes, areas = parts.boxes, parts.areas
    keep = np.nonzero(areas >= MIN_SPECK_AREA)[0]
    plausible = keep[(boxes[keep, 3] < 0.9 * height) & (boxes[keep, 2] < 0.9 * width)]
    if plausible.size:
        keep = keep[areas[keep] >= RELATIVE_SPECK_AREA * areas[plausible].max()]
    if keep.size == 0:
        return []
    groups = []
    for members in merge_fragments(boxes[keep]):
        group = make_group(boxes, areas, [int(i) for i in keep[members]])
        groups.extend(split_wide(group, parts))
    return groups


def merge_fragments(boxes: np.ndarray) -> list[list[int]]:
    """Indices of `boxes` rows (x, y, w, h) that belong together, one list per digit."""
    x, y, w, h = (boxes[:, i] for i in range(4))
    x1, y1 = x + w, y + h
    ox = np.minimum(x1[:, None], x1[None]) - np.maximum(x[:, None], x[None])
    oy = np.minimum(y1[:, None], y1[None]) - np.maximum(y[:, None], y[None])
    min_w, max_h = np.minimum(w[:, None], w[None]), np.maximum(h[:, None], h[None])
    span = np.maximum(y1[:, None], y1[None]) - np.minimum(y[:, None], y[None])
    box_area = w * h
    smaller_area = np.minimum(box_area[:, None], box_area[None])
    inside = np.clip(ox, 0, None) * np.clip(oy, 0, None) >= 0.7 * smaller_area
    # One piece above the other: the bar of a 5 over its body, a 7's bar over its stem.
    stacked = (ox >= 0.25 * min_w) & (oy >= -0.2 * max_h) & (oy <= STACK_OVERLAP * max_h)
    # A short piece right beside a taller one, together no wider than a digit: the loop of a
    # 6 or the top of an 8 that came apart. Neighbouring digits are about equally tall.
    short = (h[:, None] >= 0.25 * h[None]) & (h[:, None] < 0.6 * h[None])
    within = (y[:, None] >= y[None] - 0.1 * h[None]) & (y1[:, None] <= y1[None] + 0.1 * h[None])
    merged_w = np.maximum(x1[:, None], x1[None]) - np.minimum(x[:, None], x[None])
    beside = short & within & (ox >= -0.15 * h[None]) & (merged_w <= h[None])
    together = (inside | stacked | beside | beside.T) & (span <= 2.2 * max_h)
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


def split_wide(group: Group, parts: Components) -> list[Group]:
    """Cut a group much wider than a digit at its thinnest column (touching digits)."""
    x, y, w, h = group.box
    if w <= SPLIT_ASPECT * h:
        return [group]
    own = group.own_mask(parts)
    columns = own.sum(axis=0)
    lo, hi = max(1, int(0.15 * w)), min(w - 1, int(0.85 * w))
    if hi <= lo:
        return [group]
    cut = lo + int(np.argmin(columns[lo:hi]))
    # Touching digits meet in one thin stroke; the middle of a wide 0 crosses two.
    runs = int(np.count_nonzero(np.diff(own[:, cut].astype(np.int8)) == 1) + own[0, cut])
    if columns[cut] > 0.2 * h or runs > 1:
        return [group]
    pieces = []
    for a, b in ((0, cut), (cut, w)):
        rows = np.nonzero(own[:, a:b].any(axis=1))[0]
        cols = np.nonzero(own[:, a:b].any(axis=0))[0]
        if rows.size == 0 or rows[-1] - rows[0] + 1 < 0.75 * h:
            return [group]  # one side is part of a wide digit (a 7's bar), not a digit
        box = (x + a + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1),
               int(rows[-1] - rows[0] + 1))
        pieces.extend(split_wide(Group(box, group.members, float(own[:, a:b].sum())), parts))
    return pieces


def select_digits(groups: list[Group], parts: Components, inks: InkMap, kind: str) -> list[Group]:
    """The digit groups to read: the number's row left to right, or the most prominent one."""
    digits = [g for g in groups if looks_like_digit(g, parts, inks)]
    if not digits:
        return []
    if kind == "digit":
        return [max(digits, key=lambda g: g.area)]
    return number_row(digits)


def looks_like_digit(group: Group, parts: Components, inks: InkMap) -> bool:
    """Size, shape, position and contrast a handwritten digit can have."""
    height, width = inks.mask.shape
    x, y, w, h = group.box
    if h < MIN_DIGIT_HEIGHT or h > 0.95 * height or w > 0.95 * width:
        return False
    if x <= 0 or y <= 0 or x + w >= width or y + h >= height:
        return False  # cut by the edge: neighbouring writing, not something we can read
    if w > MAX_ASPECT * h:
        return False
    own = group.own_mask(parts)
    if cv2.countNonZero(own) > SOLID_FILL * w * h and w > 0.4 * h:
        return False  # a solid blob (a thumb, a hole, a shadow), not strokes
    peak = cv2.minMaxLoc(inks.smooth[y : y + h, x : x + w], own)[1]
    return peak >= inks.strong


def number_row(digits: list[Group]) -> list[Group]:
    """The row holding the most ink, split at wide gaps, ordered left to right."""
    top = np.array([g.box[1] for g in digits], np.float64)
    tall = np.array([g.box[3] for g in digits], np.float64)
    area = np.array([g.area for g in digits], np.float64)
    overlap = np.minimum(top[:, None] + tall[:, None], top[None] + tall[None]) - np.maximum(
        top[:, None], top[None])
    ratio = tall[:, None] / tall[None]
    same_row = ((overlap >= 0.5 * np.minimum(tall[:, None], tall[None]))
                & (ratio > 0.4) & (ratio < 2.5))
    anchor = int(np.argmax(same_row.astype(np.float64) @ area))
    row = sorted((digits[j] for j in np.nonzero(same_row[anchor])[0]), key=lambda g: g.box[0])
    typical = float(np.median([g.box[3] for g in row]))
    row = [g for g in row if g.box[3] >= 0.45 * typical]
    runs: list[list[Group]] = [[row[0]]]
    for g in row[1:]:
        last = runs[-1][-1]
        if g.box[0] - (last.box[0] + last.box[2]) > ROW_GAP_HEIGHTS * typical:
            runs.append([])
        runs[-1].append(g)
    return max(runs, key=lambda r: sum(g.area for g in r))
