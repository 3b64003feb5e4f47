"""Frame sources: a folder of frames, an image, a video file, a camera device or a stream.

A source only reads; pacing, hand-off and reopening after failures live in edge.camera.grabber.
"""

from __future__ import annotations

import bisect
import logging
import os
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from edge.camera.imageio import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, decode_image

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".ppm", ".pnm"}
)
VIDEO_EXTENSIONS = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg"})
# tcp: what `rpicam-vid --codec mjpeg --listen -o tcp://0.0.0.0:8888` serves; a way to
# reach a Pi camera module (CSI), which OpenCV's V4L2 backend cannot read through libcamera.
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https", "tcp"})
# FFmpeg otherwise waits about 30 s on a dead network camera before reporting anything.
STREAM_TIMEOUT_MS = 10_000


class SourceError(Exception):
    """The source cannot deliver frames now (missing, empty, unplugged, dropped): retry later."""


@dataclass(frozen=True, eq=False)
class Frame:
    """One frame; `image` is None and `error` says why when a file could not be decoded."""

    image: np.ndarray | None  # uint8: gray (H, W) from image files, BGR (H, W, 3) from video
    index: int  # frames produced by this source so far; keeps counting across loops and reopens
    source: str  # file name, device or URL (password masked)
    ts: float = field(default_factory=time.monotonic)
    error: str | None = None


class FrameSource(ABC):
    """Where frames come from.

    read() returns the next frame, None once a finite source is exhausted, and raises
    SourceError when the source fails; the caller then closes it and may open it again.
    """

    live = False  # a camera that delivers at its own rate (a device or a stream)

    def __init__(self, name: str, *, finite: bool, interval_s: float) -> None:
        self.name = name
        self.finite = finite
        self.interval_s = interval_s  # > 0: read at most this often (file sources at camera.fps)
        self.is_open = False
        self._next_index = 0

    @abstractmethod
    def open(self) -> None:
        """Make the source ready to read, or raise SourceError naming what is missing."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame; None when a finite source is exhausted; SourceError on failure."""

    def close(self) -> None:
        """Release what open() took; safe to call twice."""
        self.is_open = False

    def _frame(self, image: np.ndarray | None, source: str, error: str | None = None) -> Frame:
        frame = Frame(image, self._next_index, source, time.monotonic(), error)
        self._next_index += 1
        return frame


class FolderSource(FrameSource):
    """Image files of one folder, sorted by name, not recursive; replayed once or looped."""

    def __init__(self, path: Path, *, loop: bool, interval_s: float) -> None:
        super().__init__(str(path), finite=not loop, interval_s=interval_s)
        self._path = path
        self._loop = loop
        self._names: list[str] = []
        self._pos = 0
        self._last_name: str | None = None

    def open(self) -> None:
        self._names = self._scan()
        # Resume after the last frame handed out so a reopen neither replays nor skips frames.
        last = self._last_name
        self._pos = 0 if last is None else bisect.bisect_right(self._names, last)
        self.is_open = True
        logger.info("camera folder %s opened: %d frames", self._path, len(self._names))

    def read(self) -> Frame | None:
        while True:
            if self._pos >= len(self._names):
                if not self._loop:
                    return None
                self._names, self._pos = self._scan(), 0  # a new pass sees added files
            name = self._names[self._pos]
            self._pos += 1
            try:
                frame = _file_frame(self, self._path / name)
            except FileNotFoundError:
                if not self._path.is_dir():
                    raise SourceError(f"folder {self._path}: has gone") from None
                continue  # removed since the scan (a rotating frame buffer): not a bad frame
            self._last_name = name
            return frame

    def _scan(self) -> list[str]:
        try:
            with os.scandir(self._path) as entries:
                names = sorted(
                    e.name
                    for e in entries
                    if Path(e.name).suffix.lower() in IMAGE_EXTENSIONS and e.is_file()
                )
        except OSError as exc:  # missing, not a folder, no permission
            raise SourceError(f"folder {self._path}: {exc.strerror or exc}") from None
        if not names:
            exts = " ".join(sorted(IMAGE_EXTENSIONS))
            raise SourceError(f"folder {self._path}: no image files ({exts})")
        return names


class ImageFileSource(FrameSource):
    """One image file: one frame, or with loop the file again at each frame.

    Looping re-reads the file when it changes, so a snapshot another program keeps
    rewriting is followed; an unchanged file is not decoded again.
    """

    def __init__(self, path: Path, *, loop: bool, interval_s: float) -> None:
        super().__init__(str(path), finite=not loop, interval_s=interval_s)
        self._path = path
        self._loop = loop
        self._delivered = False
        self._cache_key: tuple[int, int] | None = None
        self._cached: tuple[np.ndarray | None, str | None] = (None, None)

    def open(self) -> None:
        if not self._path.is_file():
            raise SourceError(f"image file {self._path}: does not exist")
        self.is_open = True

    def read(self) -> Frame | None:
        if self._delivered and not self._loop:
            return None
        try:
            stat = self._path.stat()
            key = (stat.st_mtime_ns, stat.st_size)
            if key != self._cache_key:
                frame = _file_frame(self, self._path)
                kept = None if frame.image is None else frame.image.copy()
                self._cache_key, self._cached = key, (kept, frame.error)
                self._delivered = True
                return frame
        except OSError as exc:
            raise SourceError(f"image file {self._path}: {exc.strerror or exc}") from None
        image, error = self._cached
        # Copies, so a consumer drawing on its frame cannot change the next one.
        return self._frame(None if image is None else image.copy(), self._path.name, error)


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

    def read(self) -> Frame | None:
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

    def read(self) -> Frame | None:
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
        # the driver picks the nearest rate it supports, or ignores it.
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


def _file_frame(source: FrameSource, path: Path) -> Frame:
    """The decoded file, or a frame carrying the error; FileNotFoundError is left to the caller."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > DEFAULT_MAX_BYTES:  # refused before reading: a Pi has little memory
            raise ImageError(f"file is {size:,} bytes, over the limit of {DEFAULT_MAX_BYTES:,}")
        image = decode_image(path.read_bytes(), DEFAULT_MAX_PIXELS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        return source._frame(None, name, f"cannot read: {name} ({exc.strerror or exc})")
    except ImageError as exc:
        return source._frame(None, name, f"cannot decode: {name} ({exc.reason})")
    return source._frame(image, name)
