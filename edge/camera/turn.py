"""A camera mounted on its side, upside down or a little askew: its frames turned upright.

`camera.rotate` turns every frame before anything reads it, so region boxes, the page's
captures and the alignment reference all live in the upright frame.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Quarter turns clockwise, exact (no interpolation): the frame's sides swap at 90 and 270.
_QUARTERS = (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_180, cv2.ROTATE_90_COUNTERCLOCKWISE)
# A turn this small moves no pixel by more than a hundredth of a pixel in a 4,000 px frame.
_NO_TURN_DEG = 1e-4


def turn_image(image: np.ndarray, degrees: float) -> np.ndarray:
    """`image` (grey or colour) turned `degrees` clockwise: whole quarter turns exactly, what is
    left of a quarter (at most 45 degrees) about the centre by interpolation, keeping the
    frame's size and filling its corners from the nearest edge."""
    quarters = round(degrees / 90.0)
    rest = degrees - 90.0 * quarters
    if quarters % 4:
        image = cv2.rotate(image, _QUARTERS[quarters % 4 - 1])
    if abs(rest) > _NO_TURN_DEG:
        height, width = image.shape[:2]
        # OpenCV's angle turns counter-clockwise (y points down the frame).
        matrix = cv2.getRotationMatrix2D(((width - 1) / 2.0, (height - 1) / 2.0), -rest, 1.0)
        image = cv2.warpAffine(
            image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    return image
