"""GET /metrics: Prometheus text exposition format (version 0.0.4), written by hand."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from edge.api.deps import ServicesDep
from edge.api.services import Services
from edge.stats import StatsSnapshot

logger = logging.getLogger(__name__)

router = APIRouter(tags=["metrics"])
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MQTT_STATES = ("disabled", "connecting", "connected", "auth_failed", "disconnected", "not running")


class Exposition:
    """Collects metric families and renders them; each family gets its HELP and TYPE once."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(
        self, name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def single(self, name: str, kind: str, help_text: str, value: float) -> None:
        self.family(name, kind, help_text, [({}, value)])

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE: {}}}},
)
async def metrics(services: ServicesDep) -> PlainTextResponse:
    text = await run_in_threadpool(render, services)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


def render(services: Services) -> str:
    """The exposition, rendered from one stats snapshot."""
    snap = services.snapshot()
    out = Exposition()
    readings_metrics(out, snap)
    daemon_metrics(out, snap)
    if snap.outbox.depth is not None and snap.outbox.dropped is not None:
        out.single(
            "digitcam_outbox_depth",
            "gauge",
            "MQTT messages waiting for the broker",
            snap.outbox.depth,
        )
        out.single(
            "digitcam_outbox_dropped_total",
            "counter",
            "MQTT messages dropped because the outbox was full",
            snap.outbox.dropped,
        )
    if snap.storage is not None:
        out.single(
            "digitcam_store_writable",
            "gauge",
            "1 while the SQLite file can be written (0: full or read-only disk, ...)",
            int(snap.storage.writable),
        )
        out.single(
            "digitcam_store_errors_total",
            "counter",
            "failed writes and opens of the SQLite file",
            snap.storage.errors,
        )
    out.single(
        "digitcam_uptime_seconds", "gauge", "seconds since the process started", snap.uptime_s
    )
    out.family("digitcam_model_info", "gauge", "the model in use", [({"version": snap.model}, 1)])
    meter_metrics(out, services)
    return out.text()


def meter_metrics(out: Exposition, services: Services) -> None:
    """Meter regions with `align` (daemon only): how far the camera moved, and whether the
    meter is being found."""
    aligner = services.aligner
    if aligner is None:
        return
    states = {name: aligner.state(name) for name in aligner.regions}
    shifts = [
        ({"region": name, "axis": axis}, state["shift"][i])
        for name, state in states.items()
        if state is not None and state["shift"] is not None
        for i, axis in enumerate(("x", "y"))
    ]
    out.family(
        "digitcam_meter_shift_pixels",
        "gauge",
        "how far an aligned meter region's boxes were moved to follow the camera",
        shifts,
    )
    out.family(
        "digitcam_meter_unmatched_frames",
        "gauge",
        "frames in a row in which an aligned meter region's meter was not found",
        [({"region": n}, s["unmatched_frames"]) for n, s in states.items() if s is not None],
    )


def readings_metrics(out: Exposition, snap: StatsSnapshot) -> None:
    out.family(
        "digitcam_readings_total",
        "counter",
        "readings stored since start, by status (API reads included)",
        [({"status": s}, n) for s, n in sorted(snap.by_status.items())],
    )
    # Prometheus wants base units (promtool rejects "_ms"): the histogram is kept in
    # milliseconds, like the stats message and the reading, and converted only here.
    name = "digitcam_reading_latency_seconds"
    out.lines.append(f"# HELP {name} time to read one frame or image, seconds")
    out.lines.append(f"# TYPE {name} histogram")
    for bound, count in snap.latency.cumulative(unit_ms=1000):
        out.lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    out.lines.append(f"{name}_sum {_number(snap.latency.sum_ms / 1000)}")
    out.lines.append(f"{name}_count {snap.latency.total}")


def daemon_metrics(out: Exposition, snap: StatsSnapshot) -> None:
    """Camera and MQTT figures; `digitcam serve` has neither, so it reports the MQTT state only."""
    if not snap.running:
        mqtt_state(out, "not running", {})
        return
    out.single("digitcam_frames_total", "counter", "frames taken from the camera", snap.frames)
    out.single(
        "digitcam_bad_frames_total", "counter", "frames that could not be decoded", snap.bad_frames
    )
    out.single("digitcam_read_errors_total", "counter", "frames whose reading failed", snap.errors)
    out.single(
        "digitcam_readings_unstored_total",
        "counter",
        "readings sent and printed but not stored, while the store could not be written",
        snap.unstored,
    )
    if snap.camera is not None:
        out.single(
            "digitcam_frames_dropped_total",
            "counter",
            "frames replaced before the reader took them",
            snap.camera["dropped"],
        )
        out.single(
            "digitcam_camera_failures_total",
            "counter",
            "camera open or read failures",
            snap.camera["failures"],
        )
    counters: dict[str, Any] = dict(snap.mqtt) if snap.mqtt is not None else {}
    mqtt_state(out, counters.get("state", "disabled"), counters)


def mqtt_state(out: Exposition, state: str, counters: dict[str, Any]) -> None:
    out.family(
        "digitcam_mqtt_state",
        "gauge",
        "1 for the MQTT connection's current state",
        [({"state": s}, int(s == state)) for s in MQTT_STATES],
    )
    out.single(
        "digitcam_mqtt_connected",
        "gauge",
        "1 while connected to the broker",
        int(state == "connected"),
    )
    for key in ("published", "errors", "reconnects"):
        if key in counters:
            out.single(f"digitcam_mqtt_{key}_total", "counter", f"MQTT {key}", counters[key])


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    escaped = (f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + ",".join(escaped) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
