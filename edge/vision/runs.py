"""Digits run together: how a blob is fitted for the run reader (training.touching).

The run reader reads a blob of touching digits whole, without cutting it. Its input is the
blob's ink (white on black, 0..1) with its box scaled to RUN_INK_HEIGHT rows, keeping the
aspect ratio (squeezed only when wider than the field), left aligned with a 2-pixel margin in
a RUN_HEIGHT x RUN_WIDTH field: four digits side by side fit.
"""

from __future__ import annotations

import cv2
import numpy as np

RUN_HEIGHT = 28
RUN_WIDTH = 112
RUN_INK_HEIGHT = 24
MARGIN = (RUN_HEIGHT - RUN_INK_HEIGHT) // 2
FAINT = 0.05  # ink below this does not count towards the box (as in normalise.to_mnist)


def fit_run(ink: np.ndarray) -> np.ndarray:
    """float32 [RUN_HEIGHT, RUN_WIDTH] in 0..1: the run's ink fitted as the reader is trained."""
    ink = np.asarray(ink, dtype=np.float32)
    field = np.zeros((RUN_HEIGHT, RUN_WIDTH), np.float32)
    rows = np.nonzero((ink > FAINT).any(axis=1))[0]
    cols = np.nonzero((ink > FAINT).any(axis=0))[0]
    if rows.size == 0:
        return field
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    width = min(RUN_WIDTH - 2 * MARGIN, max(1, round(w * RUN_INK_HEIGHT / h)))
    shrink = h > RUN_INK_HEIGHT or width < w
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    fitted = cv2.resize(crop, (width, RUN_INK_HEIGHT), interpolation=interpolation)
    field[MARGIN : MARGIN + RUN_INK_HEIGHT, MARGIN : MARGIN + width] = np.clip(fitted, 0, 1)
    return field
