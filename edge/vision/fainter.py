"""Fainter ink round what was found: the ink the line removal took (a pen stroke along a
printed rule, put back by lined_ink) and the ink under the frame's threshold (the rest of a
digit pressed lightly, joined by grown_ink; the windows the look beside a number searches,
edge.vision.find.look_beside)."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.vision.binarize import InkMap
from edge.vision.group import Components, Group
from edge.vision.params import VisionParams
from edge.vision.shape import darkest
from edge.vision.strokes import boxed_strokes

logger = logging.getLogger(__name__)


class RemovedInk:
    """The ink (0/1) the line removal took out of an ink map: lines, and what lay on them.

    Indexed like an array with a window (`removed[y0:y1, x0:x1]`), worked out for that
    window only: the looks round a frame's digits ask for a few small windows, and
    thresholding the whole frame again for them took longer than the windows do.
    """

    def __init__(self, inks: InkMap) -> None:
        self.inks = inks

    def __getitem__(self, window: tuple[slice, slice]) -> np.ndarray:
        _, ink = cv2.threshold(self.inks.smooth[window], self.inks.low, 1, cv2.THRESH_BINARY)
        return cv2.subtract(ink, self.inks.mask[window])


def lined_ink(
    inks: InkMap, parts: Components, group: Group, removed: RemovedInk, params: VisionParams
) -> np.ndarray | None:
    """The group's ink with the removed ink it touches put back, or None when there is none.

    Only removed ink near the group (lined_reach_side x its height either side,
    lined_reach_end above and below) at least lined_stroke_share as dark as the group's own
    strokes is put back: a pen stroke along a printed rule, not the rule; and only when it
    adds at least lined_min_share of the group's ink (less is no stroke that changes a
    digit). A crop like digit_ink's, boxed to the larger ink.
    """
    x, y, w, h = group.box
    height, width = inks.mask.shape
    side, end = params.lined_reach_side * h, params.lined_reach_end * h
    x0, x1 = max(0, int(x - side)), min(width, int(np.ceil(x + w + side)))
    y0, y1 = max(0, int(y - end)), min(height, int(np.ceil(y + h + end)))
    near = removed[y0:y1, x0:x1]
    if not near.any():
        return None
    mask = group.own_mask(parts)
    smooth = inks.smooth[y0:y1, x0:x1]
    strokes = inks.smooth[y : y + h, x : x + w][mask > 0]
    k = int(params.stroke_level_quantile * (strokes.size - 1))
    stroke = float(np.partition(strokes, k)[k])
    near = cv2.bitwise_and(near, (smooth >= params.lined_stroke_share * stroke).view(np.uint8))
    least = max(1, round(params.lined_min_share * strokes.size))
    if cv2.countNonZero(near) < least:
        return None
    own = np.zeros_like(near)
    own[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = mask
    _, labels = cv2.connectedComponents(cv2.bitwise_or(own, near), connectivity=8)
    touching = np.unique(labels[own > 0])
    both = np.isin(labels, touching[touching > 0]).astype(np.uint8)
    if cv2.countNonZero(both) < cv2.countNonZero(own) + least:
        return None
    # Its rim is not cleared of a neighbour's ink (as chosen on the tuning frames).
    return boxed_strokes(inks, (x0, y0), both, params)[1]


def grown_ink(
    inks: InkMap, parts: Components, group: Group, removed: RemovedInk, params: VisionParams
) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """The group's ink with the fainter ink round it that belongs to it (its box and its
    ink, like digit_ink's), or None when nothing joins.

    Pencil pressed unevenly leaves part of a digit under the frame's threshold: a 7 without
    its bar, the loop of a 6 open, and the model reads the rest unsurely. Within grown_reach
    of its height round it, the ink map at row_look_low of its threshold (at least
    row_look_min_low; the lines found and the ink on them left out) joins the digit where it
    touches the digit's strokes, or where a piece of at least grown_min_area of its height
    squared is somewhere row_look_min_contrast as dark as them; when that adds less than
    grown_min_gain of its ink, nothing joins.
    """
    x, y, w, h = group.box
    height, width = inks.mask.shape
    reach = params.grown_reach * h
    x0, x1 = max(0, int(x - reach)), min(width, int(np.ceil(x + w + reach)))
    y0, y1 = max(0, int(y - reach)), min(height, int(np.ceil(y + h + reach)))
    low = fainter_low(inks, params)
    smooth, mask = fainter_window(inks, removed, (x0, y0, x1, y1), low)
    own = np.zeros_like(mask)
    own[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = group.own_mask(parts)
    mask = cv2.bitwise_or(mask, own)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    level = params.row_look_min_contrast * darkest(group, parts, inks)
    keep = set(np.unique(labels[own > 0]).tolist()) - {0}
    least = params.grown_min_area * h * h
    for label in range(1, count):
        if label in keep or stats[label, cv2.CC_STAT_AREA] < least:
            continue
        if cv2.minMaxLoc(smooth, (labels == label).view(np.uint8))[1] >= level:
            keep.add(label)
    both = np.isin(labels, sorted(keep)).astype(np.uint8)
    if cv2.countNonZero(both) < (1 + params.grown_min_gain) * cv2.countNonZero(own):
        return None
    return boxed_strokes(inks, (x0, y0), both, params)


def fainter_low(inks: InkMap, params: VisionParams) -> int:
    """The lower ink threshold of the looks round a found digit or number: row_look_low of
    the frame's, at least row_look_min_low."""
    return max(params.row_look_min_low, round(params.row_look_low * inks.low))


def fainter_window(
    inks: InkMap, removed: RemovedInk, window: tuple[int, int, int, int], low: int
) -> tuple[np.ndarray, np.ndarray]:
    """The smoothed ink map in a window (x0, y0, x1, y1) and its ink (0/1) from `low` up,
    without the lines found and the ink on them (`removed`), a little thicker at the lower
    threshold."""
    x0, y0, x1, y1 = window
    smooth = inks.smooth[y0:y1, x0:x1]
    _, mask = cv2.threshold(smooth, low, 1, cv2.THRESH_BINARY)
    gone = removed[y0:y1, x0:x1]
    if not cv2.countNonZero(gone):
        return smooth, mask  # no line there (most frames): nothing to take out
    return smooth, cv2.subtract(mask, cv2.dilate(gone, np.ones((5, 5), np.uint8)))


def shared(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The share of the smaller of two boxes that lies inside the other."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min(a[2] * a[3], b[2] * b[3])
