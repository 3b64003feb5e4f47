"""What the handlers work with: settings, the store, the model, and the daemon when there is one.

In `digitcam run` the daemon owns the store, the model and the camera and the API borrows
them. In `digitcam serve` (or a bare `create_app`) the API opens the store and the model
itself and takes one picture from the camera each time it is asked: a live camera is opened
for that picture only; a folder, image or video file steps on by one frame per capture.
"""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Any, Literal, Protocol

from edge.api.perfstats import DrawingResults, Memo
from edge.camera import Frame, FrameGrabber, FrameSource, SourceError, capture_one, open_source
from edge.config import RegionSettings, Settings
from edge.meter.align import Alignment
from edge.meter.plausible import MeterChecks
from edge.meter.printed import PrintedModel, printed_model_for
from edge.model import DigitModel, ModelError
from edge.model_install import load_active
from edge.reader import FrameReader
from edge.rows_model import RowModel, rows_for
from edge.runs_model import RunModel, runs_for
from edge.stats import Stats, StatsSnapshot
from edge.store import Store

logger = logging.getLogger(__name__)

Mode = Literal["daemon", "serve"]
# The grabber states in which the camera is not delivering frames.
CAMERA_FAILING = frozenset({"reopening", "stopped"})
# Where a capture fails for want of a camera, the 503 says how to give it one.
CAMERA_HOWTO = (
    "set camera.source in the config file to a folder of frames, an image or video file, "
    'a device or a stream URL, e.g. [camera] source = "mock_frames/numbers" '
    '(or "/dev/video0", "rtsp://..."), or DIGITCAM_CAMERA__SOURCE=mock_frames/numbers; '
    "try `digitcam serve --config config/demo.toml`"
)


class CameraUnavailable(Exception):
    """No frame can be had from the camera now; the message says why."""


class Daemon(Protocol):
    """The parts of edge.app.App the API reads."""

    store: Store | None
    model: DigitModel | None
    grabber: FrameGrabber | None
    recorder: Stats
    meters: MeterChecks
    reader: FrameReader | None

    def snapshot(self) -> StatsSnapshot: ...


class Services:
    """Shared state for the request handlers; one per app."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        model: DigitModel | None = None,
        daemon: Daemon | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._model = model
        self.daemon = daemon
        self.model_error: str | None = None
        self._printed: dict[str, PrintedModel] = {}  # by region kind: counter, display
        self._lazy_models = threading.Lock()
        self._runs: RunModel | None = None
        self._rows: RowModel | None = None
        # The daemon's live counters; `digitcam serve` counts the API's own reads in its own.
        self.recorder = daemon.recorder if daemon is not None else Stats()
        self.drawings_memo: Memo[DrawingResults] = Memo()  # see routes.performance
        self.per_model_memo: Memo[dict[str, dict[str, Any]]] = Memo()  # see api.permodel
        self._frame_index = itertools.count()
        self._camera_lock = threading.Lock()
        # serve: the file source that captures step through, kept between requests
        self._replay: FrameSource | None = None
        self._owned: list[str] = []  # attributes open() set, undone by close()

    def printed_model(self, kind: str = "counter") -> PrintedModel:
        """The printed-digit model of a counter or display read, loaded on first use;
        ModelError if not."""
        with self._lazy_models:
            if kind not in self._printed:
                self._printed[kind] = printed_model_for(self.settings.model, kind)
            return self._printed[kind]

    def runs_model(self) -> RunModel | None:
        """The run reader for number reads (None without model.runs_path), loaded on first
        use; ModelError if it cannot be."""
        with self._lazy_models:
            if self._runs is None:
                self._runs = runs_for(self.settings.model, [RegionSettings(kind="number")])
            return self._runs

    def rows_model(self) -> RowModel | None:
        """The row reader for number and digit reads (None when model.row_reader is off),
        loaded on first use; ModelError if it cannot be."""
        with self._lazy_models:
            if self._rows is None:
                self._rows = rows_for(self.settings.model, [RegionSettings(kind="number")])
            return self._rows

    @classmethod
    def for_daemon(cls, settings: Settings, daemon: Daemon) -> Services:
        """Borrow the running daemon's store, model and camera."""
        return cls(settings, store=daemon.store, model=daemon.model, daemon=daemon)

    @property
    def model(self) -> DigitModel | None:
        """The model reading now: the daemon's own (it swaps models between frames)."""
        if self.daemon is not None and self.daemon.model is not None:
            return self.daemon.model
        return self._model

    @model.setter
    def model(self, model: DigitModel | None) -> None:
        self._model = model

    @property
    def aligner(self) -> Alignment | None:
        """The daemon's alignment of meter regions (edge.meter.align); None under serve or
        when no region sets `align`."""
        reader = self.daemon.reader if self.daemon is not None else None
        return reader.aligner if reader is not None else None

    @property
    def mode(self) -> Mode:
        return "daemon" if self.daemon is not None else "serve"

    @property
    def model_version(self) -> str:
        return self.model.version if self.model is not None else "none"

    def snapshot(self) -> StatsSnapshot:
        """The stats snapshot /health and /metrics render: the daemon's, or the API's own."""
        if self.daemon is not None:
            return self.daemon.snapshot()
        return self.recorder.snapshot(model=self.model_version, store=self.store, running=False)

    def open(self, *, strict: bool) -> None:
        """Open the store and load the model unless they were handed over.

        strict=False keeps serving when the model cannot be loaded, so /health can say why.
        """
        if self.store is None:
            storage = self.settings.storage
            self.store = Store(storage.path, storage.outbox_max)
            self._owned.append("store")
        if self.model is None:
            try:
                self.model = load_active(self.settings)
                self.model_error = None
                self._owned.append("model")
            except ModelError as exc:
                if strict:
                    raise
                self.model_error = str(exc)
                logger.error("the API runs without a model: %s", exc)

    def close(self) -> None:
        """Close what open() opened, so a later open() starts afresh; borrowed things stay."""
        for name in reversed(self._owned):
            try:
                closer = getattr(getattr(self, name), "close", None)
                if closer is not None:
                    closer()
            except Exception:
                logger.exception("error while closing the API's %s", name)
            setattr(self, name, None)
        self._owned.clear()
        with self._camera_lock:
            if self._replay is not None:
                self._replay.close()
                self._replay = None

    def next_index(self) -> int:
        """A running number for images the API reads (the reading's frame.index)."""
        return next(self._frame_index)

    def grab_frame(self) -> Frame:
        """The camera's newest frame (daemon) or one captured now (serve); CameraUnavailable."""
        if self.daemon is not None:
            return self._latest_from_daemon()
        # A device can be opened by one reader at a time: captures queue up here.
        with self._camera_lock:
            try:
                frame = self._capture()
            except SourceError as exc:
                raise CameraUnavailable(self._camera_advice(str(exc))) from None
            except Exception as exc:  # OpenCV and drivers raise more than SourceError
                logger.warning("camera capture failed", exc_info=True)
                raise CameraUnavailable(f"camera unavailable: {exc}") from None
        if frame.image is None:
            raise CameraUnavailable(f"camera unavailable: {frame.error or 'no image'}")
        return frame

    def _capture(self) -> Frame:
        """A live camera's picture now, or a file source's next frame; SourceError."""
        if self._replay is None:
            source = open_source(self.settings.camera, pace=False)
            if source.live:
                # Opened per capture: holding a device would keep it from other programs.
                return capture_one(self.settings.camera)
            self._replay = source
        source = self._replay
        try:
            if not source.is_open:
                source.open()  # a folder resumes after the last frame it gave
            frame = source.read()
        except Exception:
            source.close()  # tried again at the next capture
            raise
        if frame is None:
            raise SourceError(
                f"{source.name}: every frame has been read and camera.loop is false; "
                "set camera.loop = true to replay it"
            )
        if frame.error:
            raise SourceError(frame.error)
        return frame

    def _camera_advice(self, reason: str) -> str:
        """The 503 detail: why, and when no camera was configured, how to configure one."""
        if "source" not in self.settings.camera.model_fields_set:
            return (
                f"camera unavailable: no camera is configured ({reason}, the default "
                f"camera.source); {CAMERA_HOWTO}"
            )
        return f"camera unavailable: {reason} (camera.source = {self.settings.camera.source!r})"

    def _latest_from_daemon(self) -> Frame:
        grabber = self.daemon.grabber if self.daemon is not None else None
        if grabber is None:
            raise CameraUnavailable("camera unavailable: the daemon has no camera")
        if grabber.state in CAMERA_FAILING:
            reason = grabber.last_error or grabber.state
            raise CameraUnavailable(f"camera unavailable ({grabber.state}): {reason}")
        frame = grabber.latest()
        if frame is None:
            raise CameraUnavailable("camera unavailable: no frame has arrived yet")
        if frame.image is None:
            raise CameraUnavailable(f"camera unavailable: the latest frame is bad: {frame.error}")
        return frame
