"""Sources read through cv2.VideoCapture: a camera device, a video file, a network stream."""

from __future__ import annotations

import logging
import os
import sys
from abc import abstractmethod
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from edge.camera.sources import Frame, FrameSource, SourceError

logger = logging.getLogger(__name__)

# FFmpeg otherwise waits about 30 s on a dead network camera before reporting anything.
STREAM_TIMEOUT_MS = 10_000


class _CaptureSource(FrameSource):
    """Frames through cv2.VideoCapture; by default a live camera, where no frame is a failure."""

    live = True
    kind = "camera"

    def __init__(self, name: str, *, finite: bool = False, interval_s: float = 0.0) -> None:
        super().__init__(name, finite=finite, interval_s=interval_s)
        self._cap: cv2.VideoCapture | None = None

    @abstractmethod
    def _create(self) -> cv2.VideoCapture: ...

    def open(self) -> None:
        self._reopen()
        logger.info("%s %s opened", self.kind, self.name)

    def _reopen(self) -> None:
        self.close()
        cap = self._create()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.kind} {self.name}: cannot be opened")
        self._cap = cap
        self.is_open = True

    def _read(self) -> Frame | None:
        image = self._grab()
        if image is None:
            raise SourceError(f"{self.kind} {self.name}: no frame (unplugged or stream dropped?)")
        return self._frame(image, self.name)

    def _grab(self) -> np.ndarray | None:
        if self._cap is None:
            raise SourceError(f"{self.kind} {self.name}: not open")
        ok, image = self._cap.read()
        return image if ok and image is not None else None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        super().close()


class VideoFileSource(_CaptureSource):
    """Every frame of a video file, in order; with loop it starts again at the end."""

    live = False
    kind = "video file"

    def __init__(self, path: Path, *, loop: bool, interval_s: float) -> None:
        super().__init__(str(path), finite=not loop, interval_s=interval_s)
        self._path = path
        self._loop = loop

    def _create(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            raise SourceError(f"video file {self._path}: does not exist")
        return cv2.VideoCapture(str(self._path))

    def _read(self) -> Frame | None:
        image = self._grab()
        if image is None:
            if not self._loop:
                return None
            # Reopening rather than seeking to 0: some containers ignore the seek.
            self._reopen()
            image = self._grab()
            if image is None:
                raise SourceError(f"video file {self._path}: has no frames")
        return self._frame(image, self._path.name)


class DeviceSource(_CaptureSource):
    """A local camera: a V4L2 device path (/dev/video0) or an index (0)."""

    def __init__(self, target: str | int, fps: float) -> None:
        super().__init__(str(target))
        self._target = target
        self._fps = fps

    def _create(self) -> cv2.VideoCapture:
        if isinstance(self._target, str) and not os.path.exists(self._target):
            raise SourceError(f"camera {self._target}: does not exist (unplugged?)")
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        cap = cv2.VideoCapture(self._target, backend)
        # Asking for camera.fps spares the Pi decoding frames that would only be dropped;
        # the driver picks the nearest rate it supports, or ignores it. camera.fps 0 asks
        # for nothing: OpenCV would send 1/0 s, which uvcvideo reads as its slowest rate.
        if self._fps > 0:
            cap.set(cv2.CAP_PROP_FPS, self._fps)
        return cap


class StreamSource(_CaptureSource):
    """A network camera: RTSP, or MJPEG over HTTP(S), read through FFmpeg."""

    kind = "stream"

    def __init__(self, url: str) -> None:
        super().__init__(redact_url(url))  # the name goes to logs and readings
        self._url = url

    def _create(self) -> cv2.VideoCapture:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
        ]
        return cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, fit for logs and readings."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
