"""The daemon: named start-up steps, one capture loop, and a stop that undoes them in reverse.

settings -> App(settings).start() -> App.run() until the stop event -> App.stop()
(`digitcam run` wraps this in edge/daemon.py: signals, exit codes.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import cv2

from edge.api import ApiError, require_api_extra
from edge.camera import FrameGrabber, SourceError, open_source
from edge.config import Settings
from edge.meter.align import Alignment
from edge.meter.level import Leveller
from edge.meter.plausible import MeterChecks
from edge.meter.preset import SET_VALUE_COMMAND, command_request
from edge.meter.printed import printed_models
from edge.model import DigitModel, ModelError
from edge.model_install import ModelWatcher, load_active
from edge.mqtt.discovery import CAPTURE_COMMAND, RELOAD_COMMAND
from edge.mqtt.publisher import MqttError, MqttPublisher
from edge.reader import FrameReader
from edge.reading import Reading
from edge.rows_model import rows_for
from edge.runs_model import runs_for
from edge.sdnotify import Notifier
from edge.stats import Stats, StatsSnapshot
from edge.store import Store, StoreError
from edge.store.frames import reading_frame
from edge.vision.crops import reading_crops

logger = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 10.0  # on SIGTERM: how long the outbox may drain before we go
ONCE_FLUSH_TIMEOUT_S = 60.0  # `run --once` promises every reading was acknowledged
STATUS_INTERVAL_S = 10.0
PRUNE_INTERVAL_S = 3600.0
# Start-up failures a restart cannot fix: a missing model, an unusable database file, ...
# A full or read-only disk is not one: the store then starts without its file and retries.
START_ERRORS = (ModelError, StoreError, SourceError, MqttError, ApiError)


class App:
    """One device: camera -> reader -> store (history + outbox) -> MQTT publisher."""

    def __init__(
        self,
        settings: Settings,
        *,
        once: bool = False,
        emit: Callable[[Reading], None] | None = None,
    ) -> None:
        self.settings = settings
        self.once = once
        self.stop_event = threading.Event()
        self.capture_now = threading.Event()
        self.emit = emit
        self.notifier = Notifier()
        self.store: Store | None = None
        self.model: DigitModel | None = None
        self.reader: FrameReader | None = None
        self.models: ModelWatcher | None = None
        self.meters = MeterChecks([], None)
        self.grabber: FrameGrabber | None = None
        self.publisher: MqttPublisher | None = None
        self.api: Any = None
        self.recorder = Stats()  # the live counters behind stats, /health and /metrics
        self.last_reading: Reading | None = None
        # Each undo may return False to say it left work behind (an undrained outbox).
        self._undo: list[tuple[str, Callable[[], object]]] = []

    # ---- life ---------------------------------------------------------------------------
    def start(self) -> None:
        """Each step fails fast with a clear message; what started is undone by stop()."""
        for name, step in (
            ("storage", self._open_store),
            ("model", self._load_model),
            ("camera", self._open_camera),
            ("mqtt", self._start_mqtt),
            ("api", self._start_api),
        ):
            logger.debug("starting %s", name)
            step()
        self.notifier.ready()
        self.notifier.status("started, waiting for the first frame")
        logger.info(
            "digitcam started device_id=%s source=%s model=%s mqtt=%s api=%s",
            self.settings.device_id,
            self.settings.camera.source,
            self.model_version,
            self.settings.mqtt.host or "off",
            f"{self.settings.api.host}:{self.settings.api.port}"
            if self.settings.api.enabled
            else "off",
        )

    def stop(self) -> bool:
        """Undo the start-up steps in reverse; True when the outbox was fully drained."""
        self.stop_event.set()
        self.notifier.stopping()
        drained = True
        for name, undo in reversed(self._undo):
            try:
                result = undo()
                drained = drained and result is not False
            except Exception:
                logger.exception("error while stopping %s", name)
        self._undo.clear()
        logger.info("digitcam stopped")
        return drained

    def _open_store(self) -> None:
        storage = self.settings.storage
        self.store = Store(storage.path, storage.outbox_max)
        self._undo.append(("storage", self.store.close))

    def _load_model(self) -> None:
        # One core for the capture loop: OpenCV's own pool adds a thread per core and, on a
        # shared Pi, a worse p95 for no better median (measured with digitcam bench).
        cv2.setNumThreads(1)
        model = self.settings.model
        self.model = load_active(self.settings)
        self.models = ModelWatcher(self.settings)
        printed, display = printed_models(model, (r.kind for r in self.settings.regions))
        runs = runs_for(model, self.settings.regions)
        rows = rows_for(model, self.settings.regions)
        self.reader = FrameReader.configured(
            self.settings, self.model, printed=printed, runs=runs, rows=rows, display=display
        )
        self.meters = MeterChecks(self.settings.regions, self.store)
        if any(r.align for r in self.settings.regions):
            self.reader.aligner = Alignment(self.settings.regions, self.store)
        if any(r.level for r in self.settings.regions):
            self.reader.leveller = Leveller()

    def _open_camera(self) -> None:
        camera = self.settings.camera
        if self.once:
            camera = camera.model_copy(update={"loop": False})
        source = open_source(camera, pace=not self.once)
        if self.once:
            if source.live:
                raise SourceError(
                    f"camera.source {source.name}: --once needs a finite source "
                    "(a folder, an image or a video file), not a live camera"
                )
            source.open()  # --once has nothing to wait for: a missing source is an error now
        # camera.fps 0 replays files as fast as the reader goes: waiting for it, not reading
        # ahead only to drop what it had no time for. A live camera runs at its own rate.
        lossless = self.once or (camera.fps == 0 and not source.live)
        self.grabber = FrameGrabber(
            source, self.stop_event, camera.reopen_backoff_max_s, lossless=lossless
        )
        self.grabber.start()
        self._undo.append(("camera", lambda: self.grabber.join(5.0) if self.grabber else None))

    def _start_mqtt(self) -> None:
        if not self.settings.mqtt.host:
            logger.info("mqtt.host is empty: MQTT is off; readings go to stdout and the history")
            return
        assert self.store is not None
        self.publisher = MqttPublisher(
            self.settings.mqtt,
            self.settings.device_id,
            self.store,
            self.stop_event,
            regions=self.settings.regions,
        )
        self.publisher.on_command(CAPTURE_COMMAND, lambda _payload: self.capture_now.set())
        self.publisher.on_command(RELOAD_COMMAND, lambda _payload: self.ask_reload())
        if self.meters.checks:
            self.publisher.on_command(SET_VALUE_COMMAND, self._set_meter_value)
        self.publisher.start()
        publisher = self.publisher
        flush_s = ONCE_FLUSH_TIMEOUT_S if self.once else FLUSH_TIMEOUT_S
        self._undo.append(("mqtt", lambda: publisher.stop(flush_s)))

    def _start_api(self) -> None:
        if not self.settings.api.enabled:
            return
        require_api_extra()
        from edge.api.server import ApiServer  # the api extra is optional on a device

        self.api = ApiServer(self.settings, app=self)
        self.api.start()
        self._undo.append(("api", self.api.stop))

    # ---- the capture loop ---------------------------------------------------------------
    def run(self) -> None:
        """Read frames until the stop event (or, with --once, until the source is exhausted)."""
        assert self.grabber is not None
        next_status = next_stats = next_prune = time.monotonic()
        while not self.stop_event.is_set():
            self.notifier.watchdog()
            if self.capture_now.is_set():
                self.capture_now.clear()
                latest = self.grabber.latest()
                if latest is not None:
                    self.process(latest)
            frame = self.grabber.get(timeout_s=1.0)
            self.swap_model_if_changed()  # between two frames: no reading is lost
            if frame is not None:
                self.process(frame)
            elif self.once and self.grabber.done:
                break
            now = time.monotonic()
            if now >= next_status:
                self.notifier.status(self.status_line())
                next_status = now + STATUS_INTERVAL_S
            if now >= next_stats:
                if self.publisher is not None:
                    self.publisher.publish_stats(self.stats())
                next_stats = now + self.settings.mqtt.stats_interval_s
            if now >= next_prune:
                self._prune()
                next_prune = now + PRUNE_INTERVAL_S

    def ask_reload(self) -> None:
        """MQTT cmd/reload: load the active model again before the next frame."""
        if self.models is not None:
            self.models.reload_asked.set()

    def _set_meter_value(self, payload: bytes) -> None:
        """MQTT cmd/set_value: a meter region's value, as a person reads it off the meter."""
        region, value = command_request(payload, list(self.meters.checks))
        self.meters.set_value(region, value, time.time(), by="MQTT cmd/set_value")

    def swap_model_if_changed(self) -> None:
        """Read with a newly installed model from the next frame on (one stat a second)."""
        if self.models is None or self.reader is None:
            return
        model = self.models.changed()
        if model is not None:
            logger.info("model swapped: %s -> %s", self.model_version, model.version)
            self.reader.use_model(model)
            self.model = model

    def process(self, frame: Any) -> list[Reading]:
        """One frame -> readings, stored and emitted; a bad frame is counted, never fatal."""
        assert self.reader is not None and self.store is not None
        self.recorder.frame()
        if frame.image is None:
            self.recorder.bad_frame()
            logger.warning(
                "skipped frame index=%s source=%s reason=%s", frame.index, frame.source, frame.error
            )
            return []
        try:
            readings = self.reader.read(frame.image, frame.source, frame.index)
            self.meters.check(readings, time.time())
        except Exception:
            self.recorder.read_error()
            logger.exception("could not read frame index=%s source=%s", frame.index, frame.source)
            return []
        recorded: list[Reading] = []
        for reading in readings:
            recorded.append(self._store_reading(reading))
            self.recorder.reading(reading)
            self.last_reading = recorded[-1]
            if self.emit is not None:
                self.emit(recorded[-1])
        return recorded

    def _store_reading(self, reading: Reading) -> Reading:
        """The reading with its seq once stored and queued; past a failing store, seq null."""
        assert self.store is not None
        topics = self.publisher.reading_topics(reading.region) if self.publisher else []
        keep = self.settings.storage.crop_days > 0
        crops = reading_crops(reading) if keep else None
        frame = reading_frame(reading) if keep else None
        try:
            seq = self.store.record(reading, topics, self.settings.mqtt.qos, crops, frame)
        except StoreError:
            # A full or read-only disk (the store counts and logs it, and tries again with the
            # next reading): the reading still goes out, without a seq, which only the store
            # hands out, so no seq is ever used twice.
            self.recorder.unstored()
            if self.publisher is not None:
                self.publisher.publish_unstored(topics, reading.to_json())
            return reading
        return replace(reading, seq=seq)

    def _prune(self) -> None:
        assert self.store is not None
        storage = self.settings.storage
        try:
            self.store.prune(storage.history_days, storage.crop_days)
        except StoreError as exc:  # a full or read-only disk: the store has logged it
            logger.warning("pruning the history failed: %s", exc)
        except Exception:
            logger.exception("pruning the history failed")

    # ---- state for stats, health and systemd ----------------------------------------------
    @property
    def model_version(self) -> str:
        return self.model.version if self.model else "none"

    def snapshot(self) -> StatsSnapshot:
        """The live counters with the camera, MQTT and outbox figures, read once."""
        return self.recorder.snapshot(
            model=self.model_version, store=self.store, camera=self.grabber, mqtt=self.publisher
        )

    def stats(self) -> dict[str, Any]:
        """The `stats` message: uptime, frames, fps, latency, errors, outbox depth."""
        return self.snapshot().message()

    def status_line(self) -> str:
        """One line for systemd's status: frame rate, last reading, broker, outbox."""
        snap = self.snapshot()
        last = self.last_reading
        shown = "none" if last is None else (last.value or last.status)
        broker = snap.mqtt["state"] if snap.mqtt is not None else "off"
        line = f"fps {snap.fps:.1f}, last {shown}, broker {broker}, outbox {snap.outbox.depth or 0}"
        if snap.storage is not None and not snap.storage.writable:
            line += f", storage {snap.storage.state}: not storing"
        return line
