"""An image sent to the API -> a Reading, plus what the page shows and training needs.

The Reading comes from FrameReader.read, exactly as `digitcam predict` prints it. The 28x28
images the model saw and the digit crops are made by a second pass over the same digits
(find_digits is deterministic), because FrameReader returns readings only.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass

import cv2
import numpy as np

from edge.config import RegionSettings
from edge.digits import Kind, find_digits
from edge.model import DigitModel
from edge.normalise import to_mnist
from edge.reader import FrameReader
from edge.reading import Reading

logger = logging.getLogger(__name__)

CROP_MARGIN = 0.15  # of the digit's longer side, kept around a stored crop for context


@dataclass
class Analysis:
    """One reading and, per digit (left to right), its 28x28 input and its crop as PNG."""

    reading: Reading
    inputs: list[np.ndarray]  # uint8 [28,28], white on black: what the model saw
    crops: list[bytes]  # PNG of the digit as cut from the image


def analyse(model: DigitModel, gray: np.ndarray, *, region: str, kind: Kind,
            min_confidence: float, device_id: str, source: str, index: int) -> Analysis:
    """Read one image as a single region covering all of it."""
    reader = FrameReader(model, [RegionSettings(name=region, kind=kind)], min_confidence,
                         device_id)
    reading = reader.read(gray, source, index)[0]
    inputs, crops = digit_views(gray, kind)
    if len(inputs) != len(reading.digits):
        # Cannot happen while find_digits is deterministic; show no pictures rather than wrong ones.
        logger.warning("digit views disagree with the reading (%d vs %d)",
                       len(inputs), len(reading.digits))
        inputs, crops = [], []
    return Analysis(reading, inputs, crops)


def digit_views(gray: np.ndarray, kind: Kind) -> tuple[list[np.ndarray], list[bytes]]:
    """The model inputs (uint8 28x28) and the PNG crops of the digits found in `gray`."""
    inputs, crops = [], []
    for candidate in find_digits(gray, kind):
        inputs.append(to_uint8(to_mnist(candidate.ink)))
        crops.append(png_bytes(crop_with_margin(gray, candidate.box)))
    return inputs, crops


def most_prominent_digit(gray: np.ndarray) -> tuple[np.ndarray, bytes] | None:
    """The 28x28 input and PNG crop of the one digit a drawing shows, or None."""
    inputs, crops = digit_views(gray, "digit")
    return (inputs[0], crops[0]) if inputs else None


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A 0..1 float image as 0..255 uint8 (how crops and labels are stored)."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def crop_with_margin(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = box
    pad = round(max(w, h) * CROP_MARGIN)
    height, width = gray.shape[:2]
    return gray[max(0, y - pad) : min(height, y + h + pad),
                max(0, x - pad) : min(width, x + w + pad)]


def png_bytes(image: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # only an empty image fails, and crops are never empty
        raise ValueError(f"cannot encode a {image.shape} image as PNG")
    return encoded.tobytes()


def jpeg_bytes(image: np.ndarray, quality: int = 80) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} image as JPEG")
    return encoded.tobytes()


def data_url(data: bytes, mime: str = "image/png") -> str:
    """Bytes as a data: URL the page can put straight into an <img>."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def input_data_url(image: np.ndarray) -> str:
    """A 28x28 model input as a PNG data URL."""
    return data_url(png_bytes(image))
