"""A digit's ink as the model wants it: white on black, its stroke core scaled to 1, with a
one-pixel rim that leaves out other ink (edge.vision.find.digit_ink and the fainter looks of
edge.vision.fainter cut their crops with these)."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.vision.binarize import InkMap
from edge.vision.normalise import scale_strokes
from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)


def boxed_strokes(
    inks: InkMap, corner: tuple[int, int], pixels: np.ndarray, params: VisionParams
) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The box of a digit's pixels (0/1, not empty; their array's top left at `corner`) and
    its ink, like digit_ink's; the rim is not cleared of other ink."""
    rows, cols = np.nonzero(pixels.any(axis=1))[0], np.nonzero(pixels.any(axis=0))[0]
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    pixels = pixels[r0:r1, c0:c1]
    box = (corner[0] + c0, corner[1] + r0, c1 - c0, r1 - r0)
    return box, own_strokes(inks, box[:2], pixels, pixels, params)


def own_strokes(
    inks: InkMap,
    corner: tuple[int, int],
    own: np.ndarray,
    ink: np.ndarray,
    params: VisionParams = DEFAULT,
) -> np.ndarray:
    """The ink map under the 0/1 mask `own` (its top left at `corner`), scaled so its
    stroke core is 1, with a one-pixel rim that leaves out other ink (`ink`: all ink there)."""
    x, y = corner
    h, w = own.shape
    crop = inks.ink[y : y + h, x : x + w]
    others = cv2.subtract(ink, own)
    rim = cv2.subtract(cv2.dilate(own, np.ones((3, 3), np.uint8)), others)
    return scale_strokes(crop, crop[own > 0], inks.low, params) * rim
