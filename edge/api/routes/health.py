"""GET /health: is the device doing its job? 200 `ok`, or 503 `degraded` with the reasons.

Degraded means something a person has to fix or wait for: no model, a camera that keeps
failing, a broker that refused the credentials, a history file that cannot be read.
A broker that is merely away is not degraded: readings wait in the outbox.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from edge.api.deps import ServicesDep
from edge.api.routes.performance import meta_float
from edge.api.schemas import Info
from edge.api.services import CAMERA_FAILING, Services
from edge.store import StoreError

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
NOT_RUNNING = {"state": "not running"}  # `digitcam serve` has no capture loop and no MQTT


@router.get("/api/v1/health", summary="State of model, camera, broker and outbox",
            responses={503: {"description": "degraded: `reasons` says why"}})
@router.get("/health", summary="Alias of /api/v1/health (kept for earlier clients)",
            responses={503: {"description": "degraded: `reasons` says why"}})
async def health(services: ServicesDep) -> JSONResponse:
    report = await run_in_threadpool(health_report, services)
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@router.get("/api/v1/info", response_model=Info, summary="What the page needs to know")
async def info(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    return {"device_id": settings.device_id, "mode": services.mode,
            "model": services.model_version,
            "auth_required": bool(settings.api.token.get_secret_value()),
            "max_upload_bytes": settings.api.max_upload_bytes,
            "min_confidence": settings.model.min_confidence,
            "regions": [r.name for r in settings.regions]}


def health_report(services: Services) -> dict[str, Any]:
    reasons: list[str] = []
    report = {
        "mode": services.mode,
        "uptime_s": round(time.monotonic() - services.started_at, 1),
        "model": model_state(services, reasons),
        "camera": camera_state(services, reasons),
        "broker": broker_state(services, reasons),
        "outbox": outbox_state(services, reasons),
    }
    return {"status": "degraded" if reasons else "ok", "reasons": reasons, **report}


def model_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    if services.model is None:
        error = services.model_error or "not loaded"
        reasons.append(f"model not loaded: {error}")
        return {"loaded": False, "error": error}
    meta = services.model.metadata
    return {"loaded": True, "version": services.model.version,
            "mnist_test_accuracy": meta_float(meta.get("mnist_test_accuracy"))}


def camera_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    if services.daemon is None:
        return {**NOT_RUNNING, "source": services.settings.camera.source}
    grabber = services.daemon.grabber
    if grabber is None:
        reasons.append("camera not started")
        return {"state": "not started"}
    stats = grabber.stats()
    if grabber.state in CAMERA_FAILING:
        reasons.append(f"camera {stats['source']} failing: {stats['last_error'] or grabber.state}")
    return stats


def broker_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    if services.daemon is None:
        return dict(NOT_RUNNING)
    publisher = services.daemon.publisher
    if publisher is None:
        return {"state": "disabled"}
    counters: dict[str, Any] = publisher.counters()
    if counters.get("state") == "auth_failed":
        reasons.append("MQTT broker refused the credentials (check mqtt.username/password)")
    return counters


def outbox_state(services: Services, reasons: list[str]) -> dict[str, Any]:
    if services.store is None:
        reasons.append("history store not open")
        return {"depth": None, "dropped": None}
    try:
        return {"depth": services.store.outbox_depth(), "dropped": services.store.dropped_count()}
    except StoreError as exc:
        reasons.append(str(exc))
        return {"depth": None, "dropped": None}
