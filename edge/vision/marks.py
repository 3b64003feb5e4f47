"""How a lone mark sits on its page: what the model's 28x28 view of it has lost.

The model's lone-digit judge (edge.reader.FrameReader.lone_check) sees a mark scaled to 28x28
and stretched to full contrast, so a hair, an arc of a coffee ring or a shadow's edge looks
like a 1 drawn in ink. The page still tells them apart: writing is darker against its paper
than a hair's or a stain's faint edge, its strokes are as wide as a pen's, and its edges are
as sharp as the camera allows. `digit_chance` weighs those measures of the mark in the frame
beside the judge's doubt (a logistic regression, fitted by `mock_frames/lone_marks.py fit` on
tuning frames; README, "A lone digit judged again").
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from edge.vision.levels import grey_percentile

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]

FEATURES = ("doubt", "contrast", "log_contrast", "fill", "sharpness", "width_share", "width_px")
# The fit (mock_frames/lone_marks.py fit, printed there): each measure less its mean, over its
# spread, weighed; the bias last. Fitted on the lone marks of tuning seeds 16, 17, 20 and 21
# (digit regions: single digits on photos, blank and flawed blank pages), the marks of empty
# pages weighted 3 against the digits; light writing, which the reader judges alone, left out.
MEANS = (-6.032, 0.6012, 4.3497, 0.2891, 0.3435, 0.1526, 13.1825)
SCALES = (3.8133, 0.2234, 0.5989, 0.1139, 0.1227, 0.0743, 20.5051)
WEIGHTS = (-3.0279, 1.7592, 0.258, 0.208, -1.2965, -0.2486, -2.5319)
BIAS = 4.867
# A lone mark under this chance of being a digit is no digit (the reading is `no_digit`).
MIN_DIGIT_CHANCE = 0.5
# A mark the judge doubts less than this is a digit without its page being weighed: two
# thirds of the fit's digits, and of its marks of empty pages one, which the page kept too.
# The page's measures are not asked to overrule a judge that sure (a felt-tip digit's wide
# stroke lies at the edge of what they were fitted on), and most digits cost nothing more.
SURE_DOUBT = 0.001
# Paper round the mark, as a share of its longer side (at least MARGIN_MIN_PX).
MARGIN = 0.25
MARGIN_MIN_PX = 4
# A lone 1 whose box comes this close to its region's edge (pixels) is no digit (runs_off).
EDGE_PX = 1
# The judge's doubt is a probability; its logit is clipped so 0 and 1 stay finite.
DOUBT_CLIP = 1e-4


def runs_off(box: Box, region: Box, margin: int = EDGE_PX) -> bool:
    """Whether the mark at `box` reaches the edge of `region` (both x, y, w, h in frame
    pixels), so it may go on beyond it.

    A lone straight stroke cut by the region's edge is most often something that does go on:
    the page's own edge, a fold, a shadow's edge, a cable. It reads as a 1, and neither the
    judge, which sees only what lies inside the box, nor the page round it can tell it from
    one. On tuning frames, of 3,995 single digits read right none is a 1 touching the edge,
    and of the 48 marks of empty pages the page's measures let through, 17 are (README, "A
    lone digit judged again")."""
    x, y, w, h = box
    rx, ry, rw, rh = region
    return (
        x <= rx + margin
        or y <= ry + margin
        or x + w >= rx + rw - margin
        or y + h >= ry + rh - margin
    )


def cut_one(digit: int, box: Box, region: Box | None) -> bool:
    """Whether a lone reading of `digit` at `box` is a 1 cut by the edge of its `region`
    (runs_off; never without a region), which edge.reader.FrameReader.lone_check refuses."""
    return region is not None and digit == 1 and runs_off(box, region)


def mark_features(gray: np.ndarray, box: Box, doubt: float) -> np.ndarray:
    """The measures `digit_chance` weighs, in FEATURES order, of the mark at `box` (frame
    pixels) of the uint8 greyscale frame, beside the judge's doubt about it."""
    x, y, w, h = (int(v) for v in box)
    height, width = gray.shape[:2]
    m = max(MARGIN_MIN_PX, int(MARGIN * max(w, h)))
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(width, x + w + m), min(height, y + h + m)
    patch = np.ascontiguousarray(gray[y0:y1, x0:x1], np.uint8)
    bx, by = x - x0, y - y0
    inside = patch[by : by + h, bx : bx + w]
    if inside.size == 0:
        return np.array([_logit(doubt), 0, 0, 0, 0, 0, 0], np.float64)
    ring = np.ones(patch.shape, bool)
    ring[by : by + h, bx : bx + w] = False
    paper = grey_percentile(patch[ring], 50) if ring.any() else grey_percentile(patch, 90)
    ink = grey_percentile(inside, 3)
    contrast = max(paper - ink, 1.0)
    otsu, _ = cv2.threshold(
        np.ascontiguousarray(inside), 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU
    )
    mask = (inside < min(otsu, (paper + ink) / 2)).astype(np.uint8)
    area = int(mask.sum())
    # A stroke t pixels wide has distances to its edge from 0 to t/2, a quarter of t on average.
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    stroke_px = 4.0 * float(distance[mask > 0].mean()) if area else 0.0
    # The gradient inside the box only (a pixel of the patch round it feeds the edge).
    sx0, sy0 = max(0, bx - 1), max(0, by - 1)
    near = patch[sy0 : by + h + 1, sx0 : bx + w + 1].astype(np.float32)
    gx = cv2.Sobel(near, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    gy = cv2.Sobel(near, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    ix, iy = bx - sx0, by - sy0
    steep = cv2.magnitude(gx[iy : iy + h, ix : ix + w], gy[iy : iy + h, ix : ix + w])
    edge = _percentile(steep.ravel(), 98)
    return np.array(
        [
            _logit(doubt),
            contrast / max(paper, 1.0),
            math.log(contrast),
            area / max(w * h, 1),
            edge / contrast,
            stroke_px / max(h, 1),
            stroke_px,
        ],
        np.float64,
    )


def digit_chance(gray: np.ndarray, box: Box, doubt: float) -> float:
    """How likely the lone mark at `box` is a digit, 0..1, the judge's doubt weighed with
    how the mark sits on its page."""
    f = (mark_features(gray, box, doubt) - np.asarray(MEANS)) / np.asarray(SCALES)
    score = float(np.dot(f, WEIGHTS)) + BIAS
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score))))


def _logit(p: float) -> float:
    p = min(max(float(p), DOUBT_CLIP), 1.0 - DOUBT_CLIP)
    return math.log(p / (1.0 - p))


def _percentile(values: np.ndarray, q: float) -> float:
    """np.percentile (linear) of a flat float array, partitioning only the values above their
    mean and two spreads (else above their mean) when those are enough to hold it: a mark's
    gradient is mostly flat paper, which a partition of every value sorts slowly."""
    rank = q / 100.0 * (len(values) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(values) - 1)
    need = len(values) - low  # values at or above the low order statistic
    mean, spread = float(values.mean()), float(values.std())
    for spreads in (2.0, 0.0):
        top = values[values >= mean + spreads * spread]
        if len(top) >= need:
            # sorted(top)[j] is sorted(values)[len(values) - len(top) + j]
            values, shift = top, len(values) - len(top)
            low, high = low - shift, high - shift
            break
    part = np.partition(values, (low, high))
    return float(part[low] + (rank - math.floor(rank)) * (part[high] - part[low]))
