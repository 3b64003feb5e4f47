"""An image sent to the API -> a Reading, plus what the page shows and training needs.

The Reading comes from FrameReader.read, exactly as `digitcam predict` prints it; every
digit carries the 28x28 input the model saw and its crop (see edge.vision.crops). A 28x28
array of pixels sent as such is already in the model's convention and goes to it unchanged.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from edge.config import RegionSettings, Settings
from edge.judging import Box, make_digit
from edge.meter.read import PrintedClassifier
from edge.model import DigitModel
from edge.reader import FrameReader
from edge.reading import Reading
from edge.rows_model import RowModel
from edge.runs_model import RunModel
from edge.vision.crops import crop_with_margin, png_bytes, reading_crops, to_uint8
from edge.vision.find import find_digits
from edge.vision.normalise import to_mnist

logger = logging.getLogger(__name__)

# What an image sent to the API is read as: handwriting (number, digit) or a meter's
# printed digits (counter wheels, display digits).
ReadKind = Literal["number", "digit", "counter", "display"]


@dataclass
class Analysis:
    """One reading and, per digit (left to right), its 28x28 input and its crop as PNG."""

    reading: Reading
    inputs: list[np.ndarray]  # uint8 [28,28], white on black: what the model saw
    crops: list[bytes]  # PNG of the digit as cut from the image


def analyse(
    settings: Settings,
    model: DigitModel,
    gray: np.ndarray,
    *,
    region: str,
    kind: ReadKind,
    source: str,
    index: int,
    printed: PrintedClassifier | None = None,
    digits: int | None = None,
    runs: RunModel | None = None,
    rows: RowModel | None = None,
    box: Box | None = None,
) -> Analysis:
    """Read one image as a single region covering all of it, or `box` of it (image pixels, as
    a configured region's box), `digits` cells for meters (default 1), the length of a number
    (default any), with the thresholds and device id of `settings`."""
    whole = RegionSettings.whole_image(region, kind, digits)
    if box is not None:
        whole = whole.model_copy(update={"box": tuple(float(v) for v in box)})
    reader = FrameReader.configured(settings, model, [whole], printed, runs, rows)
    reading = reader.read(gray, source, index)[0]
    views = reading_crops(reading)
    return Analysis(reading, [image for image, _ in views], [png for _, png in views])


def analyse_pixels(
    settings: Settings, model: DigitModel, image: np.ndarray, *, index: int
) -> Analysis:
    """Read a uint8 28x28 MNIST-style image (white on black) as it is: one digit, or none."""
    region = RegionSettings(name="pixels", kind="digit")
    reader = FrameReader.configured(settings, model, [region])
    started = time.perf_counter()
    digits = []
    if image.any():  # an all-black field holds no digit; the model would still guess one
        probs = model.predict((image.astype(np.float32) / 255.0)[None, None])
        digits.append(make_digit(probs[0], image / 255.0, (0, 0, 28, 28), (0, 0), image))
    latency_ms = (time.perf_counter() - started) * 1000.0
    reading = reader.reading(region, digits, latency_ms, "pixels", index)
    return Analysis(reading, [image] if digits else [], [png_bytes(image)] if digits else [])


def most_prominent_digit(gray: np.ndarray) -> tuple[np.ndarray, bytes] | None:
    """The 28x28 input and PNG crop of the one digit a drawing shows, or None (no model run)."""
    found = find_digits(gray, "digit")
    if not found:
        return None
    return to_uint8(to_mnist(found[0].ink)), png_bytes(crop_with_margin(gray, found[0].box))


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
