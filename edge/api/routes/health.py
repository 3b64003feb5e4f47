"""GET /health: is the device doing its job? 200 `ok`, or 503 `degraded` with the reasons.

Degraded means something a person has to fix or wait for: no model, a camera that keeps
failing, a broker that refused the credentials, a history file that cannot be read or
written (a full disk, a read-only file system). A broker that is merely away is not
degraded: readings wait in the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edge.api.deps import ServicesDep
from edge.api.schemas import Info
from edge.api.services import CAMERA_FAILING, Services
from edge.model import meta_float
from edge.stats import StatsSnapshot
from edge.store.condition import REMEDY

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
LOST_FRAMES = 10  # an aligned meter not found in this many frames in a row is a problem
NOT_RUNNING = {"state": "not running"}  # `digitcam serve` has no capture loop and no MQTT


@router.get(
    "/api/v1/health",
    summary="State of model, camera, broker and outbox",
    responses={503: {"description": "degraded: `reasons` says why"}},
)
@router.get(
    "/health",
    summary="Alias of /api/v1/health (kept for earlier clients)",
    responses={503: {"description": "degraded: `reasons` says why"}},
)
async def health(services: ServicesDep) -> JSONResponse:
    report = await run_in_threadpool(health_report, services)
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@router.get("/api/v1/info", response_model=Info, summary="What the page needs to know")
async def info(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    return {
        "device_id": settings.device_id,
        "mode": services.mode,
        "model": services.model_version,
        "auth_required": bool(settings.api.token.get_secret_value()),
        "max_upload_bytes": settings.api.max_upload_bytes,
        "min_confidence": settings.model.min_confidence,
        "printed_min_confidence": settings.model.printed_min_confidence,
        "regions": [r.name for r in settings.regions],
    }


def health_report(services: Services) -> dict[str, Any]:
    """The /health body, rendered from one stats snapshot plus the model's state."""
    snap = services.snapshot()
    reasons: list[str] = []
    report = {
        "mode": services.mode,
        "uptime_s": round(snap.uptime_s, 1),
        "model": model_state(services, reasons),
        "camera": camera_state(snap, services.settings.camera.source, reasons),
        "broker": broker_state(snap, reasons),
        "outbox": outbox_state(snap, reasons),
        "storage": storage_state(snap, reasons),
    }
    aligned = meters_state(services, reasons)
    if aligned:
        report["meters"] = aligned
    return {"status": "degraded" if reasons else "ok", "reasons": reasons, **report}


def meters_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    """Aligned meter regions (daemon only): their shift, and degraded while one has not been
    found for LOST_FRAMES frames in a row: its boxes stay where it was last seen, and readings
    of a meter that moved away would be wrong or missing."""
    aligner = services.aligner
    if aligner is None:
        return {}
    out = {}
    for region in aligner.regions.values():
        state = aligner.state(region.name)
        if state is None:
            continue
        out[region.name] = state
        if state["unmatched_frames"] >= LOST_FRAMES:
            reasons.append(
                f"region {region.name}: the meter was not found in the last "
                f"{state['unmatched_frames']} frames (the camera moved more than "
                f"align_max_shift = {region.align_max_shift} px, or something covers the "
                "meter); its boxes stay where it was last found"
            )
    return out


def model_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    if services.model is None:
        error = services.model_error or "not loaded"
        reasons.append(f"model not loaded: {error}")
        return {"loaded": False, "error": error}
    meta = services.model.metadata
    return {
        "loaded": True,
        "version": services.model.version,
        "mnist_test_accuracy": meta_float(meta.get("mnist_test_accuracy")),
    }


def camera_state(snap: StatsSnapshot, source: str, reasons: list[str]) -> dict[str, Any]:
    if not snap.running:
        return {**NOT_RUNNING, "source": source}
    if snap.camera is None:
        reasons.append("camera not started")
        return {"state": "not started"}
    camera = dict(snap.camera)
    if camera["state"] in CAMERA_FAILING:
        reasons.append(
            f"camera {camera['source']} failing: {camera['last_error'] or camera['state']}"
        )
    return camera


def broker_state(snap: StatsSnapshot, reasons: list[str]) -> dict[str, Any]:
    if not snap.running:
        return dict(NOT_RUNNING)
    if snap.mqtt is None:
        return {"state": "disabled"}
    if snap.mqtt.get("state") == "auth_failed":
        reasons.append("MQTT broker refused the credentials (check mqtt.username/password)")
    return dict(snap.mqtt)


def outbox_state(snap: StatsSnapshot, reasons: list[str]) -> dict[str, Any]:
    failing = snap.storage is not None and not snap.storage.writable
    if snap.outbox.error is not None and not failing:  # else storage_state names the cause
        reasons.append(snap.outbox.error)
    return {"depth": snap.outbox.depth, "dropped": snap.outbox.dropped}


def storage_state(snap: StatsSnapshot, reasons: list[str]) -> dict[str, Any]:
    """Can the SQLite file be written? While it cannot, readings are sent but not stored."""
    storage = snap.storage
    if storage is None:
        return {"state": "not open", "errors": 0, "unstored": snap.unstored}
    if not storage.writable:
        remedy = REMEDY.get(storage.condition or "")
        reasons.append(
            f"{storage.error}: nothing is being stored" + (f" ({remedy})" if remedy else "")
        )
    return {
        "state": storage.state,
        "errors": storage.errors,
        "unstored": snap.unstored,
        "error": storage.error,
    }
