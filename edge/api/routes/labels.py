"""Labelled examples for training: add a drawing, list, delete, export as a .zip."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Response, UploadFile, status
from starlette.concurrency import run_in_threadpool

from edge.api.deps import Authorised, StoreDep
from edge.api.labels_archive import ExportFormat, export_zip
from edge.api.pipeline import input_data_url, most_prominent_digit
from edge.api.schemas import Error, LabelOut, LabelPage
from edge.api.uploads import decode_upload
from edge.reading import utc_timestamp
from edge.store import Label, LabelSource, Store

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/labels", tags=["labels"])

MAX_PAGE = 1000
EXPORT_PAGE = 5000
ID_MAX = 2**63 - 1
LabelId = Annotated[int, Path(ge=1, le=ID_MAX)]
AUTH_ERROR: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "api.token is set and the request lacks it"}
}


def label_json(label: Label) -> dict[str, Any]:
    return {
        "id": label.id,
        "label": label.label,
        "source": label.source,
        "created": label.created,
        "input": input_data_url(label.image),
    }


@router.post(
    "",
    response_model=LabelOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Authorised],
    summary="Keep a drawing as a labelled example",
    responses={**AUTH_ERROR, 400: {"model": Error}, 413: {"model": Error}, 415: {"model": Error}},
)
async def add_label(
    store: StoreDep,
    label: Annotated[int, Form(ge=0, le=9, description="the digit the drawing shows")],
    file: Annotated[UploadFile, File(description="the drawing (dark ink on light)")] = None,  # type: ignore[assignment]
) -> dict[str, Any]:
    """The drawing's digit is normalised to 28x28 like any camera digit before it is kept."""
    gray = await decode_upload(file)
    found = await run_in_threadpool(most_prominent_digit, gray)
    if found is None:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "no digit found in the drawing: draw a digit first"
        )
    image, crop_png = found
    label_id = await run_in_threadpool(store.add_label, label, "drawing", image, crop_png)
    logger.info("label %s added: a drawn %s", label_id, label)
    return {
        "id": label_id,
        "label": label,
        "source": "drawing",
        "created": utc_timestamp(),
        "input": input_data_url(image),
    }


@router.get("", response_model=LabelPage, summary="Labelled examples, oldest first")
async def list_labels(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=ID_MAX)] = 0,
    source: LabelSource | None = None,
) -> dict[str, Any]:
    labels = await run_in_threadpool(store.labels, limit + 1, offset, source)
    return {
        "items": [label_json(lb) for lb in labels[:limit]],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if len(labels) > limit else None,
    }


@router.get(
    "/export",
    summary="Every labelled example as a .zip for `digitcam train --extra-data`",
    response_class=Response,
    responses={
        200: {
            "content": {"application/zip": {}},
            "description": "unzip into a folder and pass it to --extra-data",
        }
    },
)
async def export_labels(store: StoreDep, format: ExportFormat = "idx") -> Response:
    """`format=idx`: MNIST's IDX files (gz); `format=png`: 0/..9/ folders of 28x28 PNGs."""
    data = await run_in_threadpool(build_export, store, format)
    name = f"digitcam-labels-{format}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.delete(
    "/{label_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Authorised],
    responses={**AUTH_ERROR, 404: {"model": Error}},
    summary="Forget an example",
)
async def delete_label(store: StoreDep, label_id: LabelId) -> Response:
    if not await run_in_threadpool(store.delete_label, label_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no labelled example with id {label_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def all_labels(store: Store) -> list[Label]:
    found: list[Label] = []
    while True:
        page = store.labels(EXPORT_PAGE, len(found))
        found.extend(page)
        if len(page) < EXPORT_PAGE:
            return found


def build_export(store: Store, fmt: ExportFormat) -> bytes:
    labels = all_labels(store)
    return export_zip(
        [lb.id for lb in labels], [lb.image for lb in labels], [lb.label for lb in labels], fmt
    )
