"""Uploaded images -> greyscale arrays (and the part of one a `box` asks for), and readings ->
the JSON the API returns."""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
from fastapi import HTTPException, UploadFile, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from edge.api.pipeline import Analysis, input_data_url
from edge.camera.imageio import ImageError, decode_image
from edge.reader import Box, region_box

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
# A few bytes of PNG can declare a huge image; decoding 16 MP with alpha takes about 64 MB,
# which a small board can spare. Phone photos (12 MP) fit.
MAX_PIXELS = 16_000_000
# A box narrower or lower than this holds no digit to read (and a box of values up to 1 would
# be taken for fractions of the frame, as in the configuration).
MIN_BOX_PX = 8


async def decode_upload(file: UploadFile | None) -> np.ndarray:
    """The uploaded image as uint8 grey, or an HTTP error saying what is wrong with it."""
    if file is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "no image: send one as the multipart field 'file' "
            "(or use_camera=true to read the camera)",
        )
    data = await file.read()
    try:
        return await run_in_threadpool(decode_image, data, MAX_PIXELS)
    except ImageError as exc:
        raise HTTPException(
            image_error_status(exc.reason), f"cannot read the image: {exc.reason}"
        ) from None


def image_error_status(reason: str) -> int:
    """415: no image format we read; 413: too many pixels; 400: a damaged or unusable image."""
    if reason.startswith("not an image") or "not supported" in reason:
        return status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    if "over the limit" in reason:
        return 413  # Content Too Large (Starlette renamed the constant)
    return status.HTTP_400_BAD_REQUEST


def source_name(file: UploadFile | None, default: str) -> str:
    """The upload's file name without any folder part, kept short and printable."""
    name = (file.filename or "") if file is not None else ""
    name = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()[:80]
    return name or default


def analysis_json(analysis: Analysis) -> dict[str, Any]:
    """The Reading JSON with, per digit, the top-3 alternatives and the 28x28 input."""
    data = analysis.reading.to_dict()
    for i, (digit, out) in enumerate(zip(analysis.reading.digits, data["digits"], strict=True)):
        out["top3"] = [{"digit": d, "confidence": round(p, 4)} for d, p in digit.top3]
        out["input"] = input_data_url(analysis.inputs[i]) if i < len(analysis.inputs) else None
    data["corrected_value"] = None
    data["corrected_at"] = None
    return data


def parse_box(where: str, text: str) -> Box:
    """`x,y,w,h` (or `[x, y, w, h]`, as the configuration writes it) in image pixels; else 422
    in FastAPI's validation format, `where` (query or body) naming where the box came from."""
    parts = text.strip().removeprefix("[").removesuffix("]").replace(",", " ").split()
    wrong = None
    if len(parts) != 4 or not all(re.fullmatch(r"[0-9]{1,6}", p) for p in parts):
        wrong = "four whole numbers x,y,w,h in image pixels, e.g. 149,173,338,99"
    elif int(parts[2]) < MIN_BOX_PX or int(parts[3]) < MIN_BOX_PX:
        wrong = f"w and h are at least {MIN_BOX_PX} pixels (a digit must fit in the box)"
    if wrong is not None:
        error = {"type": "box", "loc": (where, "box"), "input": text, "msg": wrong}
        raise RequestValidationError([error])
    x, y, w, h = (int(p) for p in parts)
    return x, y, w, h


def within(box: Box, gray: np.ndarray) -> Box:
    """`box` cut to the image, as the daemon cuts a configured region's; 400 when too little of
    it lies on the image to hold a digit."""
    height, width = gray.shape[:2]
    cut = region_box(box, width, height)  # w, h >= MIN_BOX_PX: pixels, never fractions
    if cut[2] < MIN_BOX_PX or cut[3] < MIN_BOX_PX:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"box {list(box)} lies outside the {width}x{height} image",
        )
    return cut
