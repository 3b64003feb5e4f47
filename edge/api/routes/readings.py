"""The readings history: list with paging and filters, one reading, delete, correct.

A correction is kept beside the prediction, never over it. When the reading's digit crops
are still stored and the corrected value has as many digits as were found, each crop
becomes a labelled training example. The reading's examples always say its latest
correction: correcting it again replaces them (the same value again changes nothing),
clearing the correction removes them. The store does all of it in one transaction, so
simultaneous corrections of one reading leave one set of examples.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from edge.api.deps import Authorised, StoreDep
from edge.api.pipeline import data_url, most_prominent_digit
from edge.api.schemas import Correction, CorrectionOut, Error, ReadingDetail, ReadingPage
from edge.reading import utc_timestamp
from edge.store import Store
from edge.store.frames import FRAMES_KEPT

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/readings", tags=["readings"])

MAX_PAGE = 500
SEQ_MAX = 2**63 - 1  # SQLite's largest integer
Seq = Annotated[int, Path(ge=1, le=SEQ_MAX, description="the reading's seq")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}
MUTATING: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    401: {"model": Error, "description": "api.token is set and the request lacks it"},
}
CORRECTING: dict[int | str, dict[str, Any]] = {
    **MUTATING,
    400: {"model": Error, "description": "the body is not JSON text"},
}


@router.get("", response_model=ReadingPage, summary="Readings, newest first")
async def list_readings(
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=SEQ_MAX)] = 0,
    since: Annotated[
        str | None,
        Query(
            description="ISO 8601 time; no zone means UTC",
            json_schema_extra={"format": "date-time"},
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(description="ISO 8601 time, exclusive", json_schema_extra={"format": "date-time"}),
    ] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(ok|no_digit|low_confidence|implausible)$")
    ] = None,
    value: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Page through the history; `next_offset` is null on the last page."""
    items = await run_in_threadpool(
        store.history,
        limit + 1,
        offset,
        history_time(since, "since"),
        history_time(until, "until"),
        region,
        status_,
        value,
    )
    more = len(items) > limit
    return {
        "items": items[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if more else None,
    }


@router.get("/{seq:int}", response_model=ReadingDetail, responses=NOT_FOUND, summary="One reading")
async def get_reading(store: StoreDep, seq: Seq) -> dict[str, Any]:
    entry = await run_in_threadpool(_existing, store, seq)
    entry["crops_stored"] = len(await run_in_threadpool(store.crops, seq))
    return entry


@router.delete(
    "/{seq:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=MUTATING,
    dependencies=[Authorised],
    summary="Forget a reading and its crops",
)
async def delete_reading(store: StoreDep, seq: Seq) -> Response:
    if not await run_in_threadpool(store.delete, seq):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reading with seq {seq}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/{seq:int}/correction",
    response_model=CorrectionOut,
    responses=CORRECTING,
    dependencies=[Authorised],
    summary="Say what the reading should have been",
)
@router.post(
    "/{seq:int}/correction",
    response_model=CorrectionOut,
    responses=CORRECTING,
    dependencies=[Authorised],
    summary="The same as PUT, for clients that cannot PUT",
)
async def correct_reading(store: StoreDep, seq: Seq, body: Correction) -> dict[str, Any]:
    """`{"value": "417"}`; `{"value": null}` removes the correction and the examples it made;
    `{"value": "417", "boxes": [[x, y, w, h], ...]}` with the digits boxed on the frame."""
    return await run_in_threadpool(apply_correction, store, seq, body.value, body.boxes)


@router.get(
    "/{seq:int}/frame",
    responses={404: {"model": Error}},
    summary="The region of the frame a reading was read from (the newest readings keep one)",
)
async def reading_frame(store: StoreDep, seq: Seq) -> dict[str, Any]:
    frame = await run_in_threadpool(store.frame, seq)
    if frame is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, no_frame(store, seq))
    return {
        "seq": seq,
        "image": data_url(frame.jpeg, "image/jpeg"),
        "origin": list(frame.origin),
        "scale": frame.scale,
    }


def no_frame(store: Store, seq: int) -> str:
    if store.get(seq) is None:
        return f"no reading with seq {seq}"
    return f"reading {seq} has no frame kept: only the newest {FRAMES_KEPT} readings keep one"


def apply_correction(
    store: Store, seq: int, value: str | None, boxes: list[list[int]] | None = None
) -> dict[str, Any]:
    drawn, problem = boxed_digits(store, seq, value, boxes) if boxes is not None else (None, None)
    result = store.correct_reading(seq, value, drawn)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reading with seq {seq}")
    added = result.labels_added
    logger.info("reading %s corrected to %s (%d training examples)", seq, value, len(added))
    return {**result.entry, "labels_added": added, "labels_note": problem or result.labels_note}


def boxed_digits(
    store: Store, seq: int, value: str | None, boxes: list[list[int]]
) -> tuple[list[tuple[np.ndarray, bytes]], str | None]:
    """The digit in each box a person drew, normalised as the reader normalises a digit.

    Like any correction, the value stands even when the boxes cannot teach; then no examples
    are made (the reader's own crops are not used either: the person said they were wrong),
    and the note says why.
    """
    if store.get(seq) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reading with seq {seq}")
    frame = store.frame(seq)
    if frame is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, no_frame(store, seq))
    if value is None or len(boxes) != len(value):
        count = len(value or "")
        return (
            [],
            f"boxes: one per digit of the value ({count}), got {len(boxes)}: no examples made",
        )
    image = frame.decode()
    found = []
    for i, (x, y, w, h) in enumerate(boxes):
        left, top = (x - frame.origin[0]) / frame.scale, (y - frame.origin[1]) / frame.scale
        right, bottom = left + w / frame.scale, top + h / frame.scale
        cut = image[
            max(0, round(top)) : max(0, round(bottom)), max(0, round(left)) : max(0, round(right))
        ]
        # A person says a digit is there: stretch the box's contrast first, so a digit too
        # faint for the reader's own rules (the usual no_digit reading) is still found.
        digit = None
        if cut.size and np.ptp(cut) > 0:
            low, high = float(cut.min()), float(cut.max())
            stretched = ((cut.astype(np.float32) - low) * (255.0 / (high - low))).astype(np.uint8)
            digit = most_prominent_digit(stretched)
        if digit is None:
            return [], f"box {i + 1} {[x, y, w, h]}: no digit found in it: no examples made"
        found.append(digit)
    return found, None


def _existing(store: Store, seq: int) -> dict[str, Any]:
    entry = store.get(seq)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reading with seq {seq}")
    return entry


def history_time(text: str | None, name: str) -> str | None:
    """An ISO 8601 time as the history stores it (UTC, ms, Z), so text comparison is right.

    Only ISO 8601 is accepted: pydantic's datetime would also take '0.5' as seconds since 1970.
    """
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return utc_timestamp(moment)
    except (ValueError, OverflowError):  # not ISO 8601, or pushed past year 1/9999 by its zone
        raise RequestValidationError(
            [
                {
                    "type": "datetime_from_iso",
                    "loc": ("query", name),
                    "input": text,
                    "msg": "Input should be an ISO 8601 time such as 2026-11-21T10:15:00Z",
                }
            ]
        ) from None
