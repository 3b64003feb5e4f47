"""Meter regions (counters, a meter's display): the value each reading is checked against, and
setting it to what the meter shows (edge.meter.preset), as MQTT `cmd/set_value` does.

The daemon holds each region's state and checks every reading against it, so only the API
inside `digitcam run` can set a value; `digitcam serve` shows the values the store keeps.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from edge.api.deps import Authorised, ServicesDep
from edge.api.schemas import Error, MeterList, MeterOut, MeterValueIn
from edge.api.services import Services
from edge.config import RegionSettings
from edge.meter.plausible import MeterChecks, MeterState
from edge.meter.preset import MeterValueError
from edge.reading import utc_timestamp

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/meters", tags=["meters"])

Region = Annotated[str, Path(max_length=64, description="the region's name")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Error}}
SETTING: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    401: {"model": Error, "description": "api.token is set and the request lacks it"},
    409: {
        "model": Error,
        "description": "no capture loop here (`digitcam serve`), or the region is not aligned",
    },
    400: {"model": Error, "description": "the body is not JSON text"},
}


@router.get("", response_model=MeterList, summary="Every meter region and its value")
async def list_meters(services: ServicesDep) -> dict[str, Any]:
    states = await run_in_threadpool(meter_states, services)
    return {
        "meters": [
            {**described(region, states[region.name]), **alignment(services, region.name)}
            for region in meters(services)
        ]
    }


@router.get(
    "/{region}", response_model=MeterOut, responses=NOT_FOUND, summary="One meter region's value"
)
async def get_meter(services: ServicesDep, region: Region) -> dict[str, Any]:
    meter = meter_region(services, region)
    states = await run_in_threadpool(meter_states, services)
    return {**described(meter, states[meter.name]), **alignment(services, meter.name)}


@router.put(
    "/{region}",
    response_model=MeterOut,
    responses=SETTING,
    dependencies=[Authorised],
    summary="Set a meter region's value to what the meter shows",
)
@router.post(
    "/{region}",
    response_model=MeterOut,
    responses=SETTING,
    dependencies=[Authorised],
    summary="The same as PUT, for clients that cannot PUT",
)
async def set_meter(services: ServicesDep, region: Region, body: MeterValueIn) -> dict[str, Any]:
    """`{"value": "1234.5"}`: from now on readings are checked against this value (after a
    meter was replaced, or when a misread was accepted and right readings are refused as
    implausible). A new level waiting for confirmation is forgotten."""
    meter = meter_region(services, region)
    if services.daemon is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "the capture loop holds the meters' values: set one through the API of "
            "`digitcam run` (api.enabled = true) or MQTT cmd/set_value, not `digitcam serve`",
        )
    try:
        state = await run_in_threadpool(
            services.daemon.meters.set_value, meter.name, body.value, time.time(), "the API"
        )
    except MeterValueError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "meter_value",
                    "loc": ("body", "value"),
                    "input": body.value,
                    "msg": str(exc),
                }
            ]
        ) from None
    return {**described(meter, state), **alignment(services, meter.name)}


@router.delete(
    "/{region}/reference",
    response_model=MeterOut,
    responses=SETTING,
    dependencies=[Authorised],
    summary="Take an aligned meter region's alignment reference again",
)
async def retake_reference(services: ServicesDep, region: Region) -> dict[str, Any]:
    """For a region with `align`: the reference its frames are matched against is dropped, and
    the next frame it reads `ok` gives a new one (after the camera was re-aimed with the boxes
    still right, or the light around the meter changed for good). 409 for a region without
    `align`, or under `digitcam serve`."""
    meter = meter_region(services, region)
    aligner = services.aligner
    if aligner is None or meter.name not in aligner.regions:
        why = "`digitcam serve` aligns nothing" if services.daemon is None else "set align = true"
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"region {meter.name} is not aligned here ({why})"
        )
    aligner.ask_retake(meter.name)
    states = await run_in_threadpool(meter_states, services)
    return {**described(meter, states[meter.name]), **alignment(services, meter.name)}


def meters(services: Services) -> list[RegionSettings]:
    return [r for r in services.settings.regions if r.is_meter]


def meter_region(services: Services, name: str) -> RegionSettings:
    for region in meters(services):
        if region.name == name:
            return region
    named = ", ".join(r.name for r in meters(services)) or "none"
    raise HTTPException(
        status.HTTP_404_NOT_FOUND, f"no meter region {name!r} (this device's: {named})"
    )


def meter_states(services: Services) -> dict[str, MeterState]:
    """The daemon's live states, or (serve) those the store keeps."""
    if services.daemon is not None:
        return services.daemon.meters.states()
    return MeterChecks(meters(services), services.store).states()


def described(region: RegionSettings, state: MeterState) -> dict[str, Any]:
    def shown(value: float | None) -> str | None:
        return None if value is None else f"{value:.{region.decimals}f}"

    return {
        "region": region.name,
        "kind": region.kind,
        "value": shown(state.value),
        "accepted_at": moment(state.ts_s),
        "set_by_hand": state.set_by_hand,
        "pending": shown(state.pending),
        "pending_readings": state.pending_count if state.pending is not None else 0,
        "confirm_readings": region.confirm_readings,
    }


def alignment(services: Services, region: str) -> dict[str, Any]:
    """An aligned region's shift and unmatched frames, from the daemon's reader."""
    aligner = services.aligner
    return (aligner.state(region) if aligner is not None else None) or {}


def moment(ts_s: float | None) -> str | None:
    return None if ts_s is None else utc_timestamp(datetime.fromtimestamp(ts_s, timezone.utc))
