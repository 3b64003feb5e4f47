"""POST /api/v1/predict and /api/v1/draw: read the digits of an upload, a drawing or the camera.

/api/v1/predict also takes JSON `{"pixels": [784 values]}`, the MNIST CSV format earlier
MNIST web classifiers send: one 28x28 digit, read by the model as it is.

What the API reads is stored in the history (region `upload`, `drawing` or `camera`, with
its digit crops so a correction can become training data) but never published over MQTT:
the published readings stay those of the configured regions. `record=false` only answers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from edge.api.deps import Authorised, ModelDep, ServicesDep, StoreDep
from edge.api.pipeline import (
    Analysis,
    ReadKind,
    analyse,
    analyse_pixels,
    data_url,
    jpeg_bytes,
)
from edge.api.schemas import Error, PixelsIn, PredictOut
from edge.api.services import CameraUnavailable, Services
from edge.api.uploads import analysis_json, decode_upload, parse_box, source_name, within
from edge.meter.settings import PRINTED_KINDS
from edge.model import DigitModel, ModelError
from edge.reader import Box, to_gray
from edge.rows_model import ROW_KINDS
from edge.store import Store
from edge.store.frames import reading_frame

logger = logging.getLogger(__name__)

router = APIRouter(tags=["predict"], dependencies=[Authorised])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Error, "description": "no image, or a damaged one"},
    401: {"model": Error, "description": "api.token is set and the request lacks it"},
    413: {"model": Error, "description": "the upload is over api.max_upload_bytes"},
    415: {"model": Error, "description": "not an image format DigitCam reads"},
    503: {"model": Error, "description": "the camera or the model is unavailable"},
}
RecordQuery = Annotated[bool, Query(description="store the reading in the history")]
# 784 numbers take under 4 kB even pretty-printed; a larger body is not parsed into a list.
PIXELS_MAX_BYTES = 64 * 1024
KIND_HELP = (
    "number: every handwritten digit; digit: one; counter: meter wheels; display: 7-segment or "
    "dot-matrix LCD digits"
)
DIGITS_HELP = (
    "counter, display: the image holds this many digits side by side (default 1); number: the "
    "number has this many digits, another count read is low_confidence (default any)"
)
BOX_HELP = (
    "read only this part of the image: x,y,w,h in image pixels, as a region's box in the "
    "configuration (a box running past the image's edge is cut to it); default the whole image"
)
# What to read an image as: the kind and its digits (meters: the cells; a number: its length).
How = tuple[ReadKind, int | None]
JSON_BODY = {
    "requestBody": {"content": {"application/json": {"schema": PixelsIn.model_json_schema()}}}
}
NO_INPUT = (
    "no image: send one as the multipart field 'file', or JSON "
    '{"pixels": [784 values 0-255]}, or use_camera=true to read the camera'
)


@router.post(
    "/api/v1/predict",
    response_model=PredictOut,
    responses=ERRORS,
    openapi_extra=JSON_BODY,
    summary="Read the digits of an uploaded image, of 784 pixels, or of the camera",
)
@router.post(
    "/predict",
    response_model=PredictOut,
    responses=ERRORS,
    openapi_extra=JSON_BODY,
    summary="Alias of /api/v1/predict (kept for earlier clients)",
)
async def predict(
    request: Request,
    services: ServicesDep,
    model: ModelDep,
    store: StoreDep,
    # Typed without None (the default is None) so the schema does not invite a literal null.
    file: Annotated[UploadFile, File(description="JPEG, PNG, BMP, WebP or PNM")] = None,  # type: ignore[assignment]
    use_camera: Annotated[bool, Query(description="read the camera instead of a file")] = False,
    use_camera_form: Annotated[bool, Form(alias="use_camera")] = False,
    kind: Annotated[ReadKind, Query(description=KIND_HELP)] = None,  # type: ignore[assignment]
    kind_form: Annotated[ReadKind, Form(alias="kind")] = None,  # type: ignore[assignment]
    digits: Annotated[int, Query(ge=1, le=16, description=DIGITS_HELP)] = None,  # type: ignore[assignment]  # noqa: RUF013
    digits_form: Annotated[int, Form(alias="digits", ge=1, le=16)] = None,  # type: ignore[assignment]  # noqa: RUF013
    box: Annotated[str, Query(description=BOX_HELP, examples=["149,173,338,99"])] = None,  # type: ignore[assignment]  # noqa: RUF013
    box_form: Annotated[str, Form(alias="box")] = None,  # type: ignore[assignment]  # noqa: RUF013
    record: RecordQuery = True,
) -> dict[str, Any]:
    """Multipart `file`, JSON `{"pixels": [...]}`, or `use_camera=true` (query or form field).

    `kind` and `box` apply to files and the camera; 784 pixels are always one handwritten
    digit.
    """
    chosen_kind: ReadKind = kind or kind_form or "number"
    cells = digits or digits_form
    if cells is not None and chosen_kind == "digit":
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "digits goes with kind=number, kind=counter or kind=display (a digit is one digit)",
        )
    how = (chosen_kind, cells)
    part = None
    if box is not None or box_form is not None:
        part = parse_box(*(("query", box) if box is not None else ("body", box_form)))
    pixels = await read_pixels(request) if is_json(request) else None
    if pixels is not None and part is not None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "box goes with a file or the camera, not with pixels"
        )
    if use_camera or use_camera_form:
        if file is not None or pixels is not None:
            given = "a file" if file is not None else "pixels"
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"send either {given} or use_camera=true, not both"
            )
        return await read_camera(services, model, store, how, record, part)
    if pixels is not None:
        return await run_in_threadpool(read_pixels_image, services, model, store, pixels, record)
    if file is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, NO_INPUT)
    gray = await decode_upload(file)
    return await run_in_threadpool(
        read_image,
        services,
        model,
        store,
        gray,
        "upload",
        how,
        source_name(file, "upload"),
        record,
        part,
    )


@router.post(
    "/api/v1/draw",
    response_model=PredictOut,
    responses=ERRORS,
    summary="Read one digit drawn on the page's canvas",
)
async def draw(
    services: ServicesDep,
    model: ModelDep,
    store: StoreDep,
    file: Annotated[UploadFile, File(description="the drawing as PNG")] = None,  # type: ignore[assignment]
    record: RecordQuery = True,
) -> dict[str, Any]:
    """The canvas drawing (dark ink on white, or on transparent) read as a single digit."""
    gray = await decode_upload(file)
    return await run_in_threadpool(
        read_image, services, model, store, gray, "drawing", ("digit", 1), "drawing", record
    )


async def read_camera(
    services: Services,
    model: DigitModel,
    store: Store,
    how: How,
    record: bool,
    box: Box | None = None,
) -> dict[str, Any]:
    try:
        frame = await run_in_threadpool(services.grab_frame)
    except CameraUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    assert frame.image is not None  # grab_frame refuses bad frames
    gray = to_gray(frame.image)
    result = await run_in_threadpool(
        read_image, services, model, store, gray, "camera", how, frame.source, record, box
    )
    result["image"] = data_url(await run_in_threadpool(jpeg_bytes, gray), "image/jpeg")
    return result


def is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


async def read_pixels(request: Request) -> np.ndarray:
    """The JSON body's 784 pixels as a uint8 28x28 image, or 413/422 saying what is wrong."""
    body = await request.body()
    if len(body) > PIXELS_MAX_BYTES:
        raise HTTPException(
            413, f"the pixels JSON is {len(body):,} bytes; 784 values need under 64 kB"
        )
    try:
        given = PixelsIn.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [body_error(e) for e in exc.errors(include_url=False)]
        ) from None
    values = np.rint(np.asarray(given.pixels, np.float64))
    return values.astype(np.uint8).reshape(28, 28)


def body_error(error: Any) -> dict[str, Any]:
    """A pydantic error in FastAPI's format; NaN and infinities as text, which JSON can carry."""
    out = {"type": error["type"], "loc": ("body", *error["loc"]), "msg": error["msg"]}
    value = error.get("input")
    if isinstance(value, float) and not math.isfinite(value):
        out["input"] = str(value)
    elif value is None or isinstance(value, str | int | float):
        out["input"] = value  # a whole list or object is not echoed back
    if "ctx" in error:
        out["ctx"] = {k: v if isinstance(v, str | int) else str(v) for k, v in error["ctx"].items()}
    return out


def read_pixels_image(
    services: Services, model: DigitModel, store: Store, image: np.ndarray, record: bool
) -> dict[str, Any]:
    """Read 28x28 pixels as the model's input itself; runs off the event loop."""
    analysis = analyse_pixels(services.settings, model, image, index=services.next_index())
    return describe(services, store, analysis, image, record)


def read_image(
    services: Services,
    model: DigitModel,
    store: Store,
    gray: np.ndarray,
    region: str,
    how: How,
    source: str,
    record: bool,
    box: Box | None = None,
) -> dict[str, Any]:
    """Read, store (with the digit crops) and describe one image, or `box` of it; runs off
    the event loop."""
    kind, digits = how
    part = within(box, gray) if box is not None else None
    printed = runs = rows = None
    try:
        if kind in PRINTED_KINDS:
            printed = services.printed_model(kind)
        if kind == "number":
            runs = services.runs_model()
        if kind in ROW_KINDS:  # the kinds the reader asks the row reader about
            rows = services.rows_model()
    except ModelError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no model: {exc}") from None
    analysis = analyse(
        services.settings,
        model,
        gray,
        region=region,
        kind=kind,
        printed=printed,
        runs=runs,
        rows=rows,
        digits=digits,
        source=source,
        index=services.next_index(),
        box=part,
    )
    result = describe(services, store, analysis, gray, record)
    result["region_box"] = list(part) if part is not None else None
    return result


def describe(
    services: Services, store: Store, analysis: Analysis, gray: np.ndarray, record: bool
) -> dict[str, Any]:
    """Store the reading (with its digit crops) unless told not to, and give its JSON."""
    settings = services.settings
    if record:
        seq = store.record(
            analysis.reading,
            [],
            settings.mqtt.qos,
            crops=list(zip(analysis.inputs, analysis.crops, strict=True)),
            frame=reading_frame(analysis.reading),
        )
        analysis = replace(analysis, reading=replace(analysis.reading, seq=seq))
        services.recorder.reading(analysis.reading, camera=False)
    logger.debug(
        "read %s region=%s value=%s status=%s",
        analysis.reading.frame_source,
        analysis.reading.region,
        analysis.reading.value,
        analysis.reading.status,
    )
    result = analysis_json(analysis)
    result["recorded"] = record
    result["image_size"] = [int(gray.shape[1]), int(gray.shape[0])]
    return result
