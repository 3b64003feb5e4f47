"""A digit's ink crop -> the 28x28 image the model was trained on, the way MNIST made them.

MNIST: the digit's bounding box scaled to fit 20x20 keeping its aspect ratio, with
anti-aliasing (grey edge pixels), then placed in a 28x28 field so that its centre of mass
lands on pixel (14, 14) by a whole-pixel shift (the mean MNIST centre of mass is
(13.99, 14.01) with a spread of 0.29 px: exactly what rounding a shift leaves).

No stroke-width normalisation: measured on generated frames, strokes 20 % thinner than
MNIST's (median 1.8 px at 20 px height against 2.25) cost about 2 points of accuracy, but
thickening or thinning 20x20 digits by their estimated width won back only 0.7 points on
thin pens and lost as much on ordinary ones; the per-digit width estimate is too noisy.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.vision.params import DEFAULT, VisionParams

logger = logging.getLogger(__name__)

# The model's input convention (SPEC "The model file"), not tunables.
SIZE = 28
FIT = 20
CENTRE = 14.0


def to_mnist(ink: np.ndarray, params: VisionParams = DEFAULT) -> np.ndarray:
    """float32 [28,28] in 0..1, white digit on black, MNIST size and centring."""
    ink = np.asarray(ink, dtype=np.float32)
    canvas = np.zeros((SIZE, SIZE), np.float32)
    rows = np.nonzero((ink > params.faint).any(axis=1))[0]
    cols = np.nonzero((ink > params.faint).any(axis=0))[0]
    if rows.size == 0:
        return canvas
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    digit = fit_box(crop)
    h, w = digit.shape
    mass = float(digit.sum())
    ys, xs = np.indices(digit.shape, dtype=np.float32)
    cy = float((digit * ys).sum()) / mass
    cx = float((digit * xs).sum()) / mass
    # Whole-pixel shift of the centre of mass to (14, 14), kept inside the 28x28 field
    # (plain min and max: numpy's clip of one number costs more than the rest of this).
    top = min(max(round(CENTRE - cy), 0), SIZE - h)
    left = min(max(round(CENTRE - cx), 0), SIZE - w)
    canvas[top : top + h, left : left + w] = digit
    return canvas


def shifted(images: np.ndarray, dy: int, dx: int, edge: bool = False) -> np.ndarray:
    """Model inputs [..., H, W] moved dy pixels down and dx right (a second look at an unsure
    digit). What comes in is paper: 0 (a handwritten digit's 28x28 field), or with `edge` the
    edge's own pixels repeated (a meter's grey crop, whose paper is no one level)."""
    h, w = images.shape[-2:]
    out = np.zeros_like(images)
    out[..., max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = images[
        ..., max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    if edge:
        if dy > 0:
            out[..., :dy, :] = out[..., dy : dy + 1, :]
        elif dy < 0:
            out[..., dy:, :] = out[..., dy - 1 : dy, :]
        if dx > 0:
            out[..., :dx] = out[..., dx : dx + 1]
        elif dx < 0:
            out[..., dx:] = out[..., dx - 1 : dx]
    return out


def scale_strokes(
    crop: np.ndarray, core: np.ndarray, low: float, params: VisionParams = DEFAULT
) -> np.ndarray:
    """Ink contrast (0..255) -> 0..1 with the stroke core at 1, as MNIST strokes are saturated.

    core: the contrast of the digit's own stroke pixels; their stroke_level_quantile becomes
    1, so pencil and pen look alike; below ink_floor x the ink threshold `low` is 0.
    """
    quantile = int(params.stroke_level_quantile * core.size)
    level = float(np.partition(core, quantile)[quantile]) if core.size else 255.0
    floor = params.ink_floor * low
    values = (crop.astype(np.float32) - floor) / max(level - floor, 1.0)
    return np.minimum(np.maximum(values, 0.0), 1.0)  # np.clip's own overhead is the most of it


def fit_box(crop: np.ndarray) -> np.ndarray:
    """Scale so the longer side is 20 px, keeping the aspect ratio, averaging when shrinking."""
    h, w = crop.shape
    scale = FIT / max(h, w)
    size = (min(FIT, max(1, round(w * scale))), min(FIT, max(1, round(h * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.minimum(np.maximum(cv2.resize(crop, size, interpolation=interpolation), 0.0), 1.0)
