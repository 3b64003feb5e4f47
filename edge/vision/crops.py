"""What a reading keeps of each digit for training: the 28x28 input and the crop as PNG.

The reader attaches both views to every Digit while it has the frame at hand, so the
daemon and the API store exactly what the model saw, without finding the digits twice.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.reading import Reading
from edge.vision.params import DEFAULT, VisionParams


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A 0..1 float image as 0..255 uint8 (how crops and labels are stored)."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def crop_with_margin(
    gray: np.ndarray, box: tuple[int, int, int, int], params: VisionParams = DEFAULT
) -> np.ndarray:
    """The digit's box in `gray`, widened by the crop margin and clamped to the image."""
    x, y, w, h = box
    pad = round(max(w, h) * params.crop_margin)
    height, width = gray.shape[:2]
    return gray[
        max(0, y - pad) : min(height, y + h + pad), max(0, x - pad) : min(width, x + w + pad)
    ]


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # only an empty image fails, and crops are never empty
        raise ValueError(f"cannot encode a {image.shape} image as PNG")
    return encoded.tobytes()


def reading_crops(reading: Reading) -> list[tuple[np.ndarray, bytes]]:
    """Per digit, left to right: (uint8 28x28 model input, PNG crop) for Store.record."""
    return [
        (to_uint8(d.image), png_bytes(d.crop))
        for d in reading.digits
        if d.image is not None and d.crop is not None
    ]
