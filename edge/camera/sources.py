"""Frame sources: the FrameSource interface, a folder of frames and a single image file.

Cameras, video files and streams read through OpenCV live in edge.camera.capture.
A source only reads; pacing, hand-off and reopening after failures live in edge.camera.grabber.
"""

from __future__ import annotations

import bisect
import logging
import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edge.camera.imageio import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, decode_image
from edge.camera.turn import turn_image

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".ppm", ".pnm"})
IMAGE_EXTENSIONS_TEXT = " ".join(sorted(IMAGE_EXTENSIONS))
VIDEO_EXTENSIONS = frozenset({".avi", ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".mjpeg", ".mjpg"})
# tcp: what `rpicam-vid --codec mjpeg --listen -o tcp://0.0.0.0:8888` serves; a way to
# reach a Pi camera module (CSI), which OpenCV's V4L2 backend cannot read through libcamera.
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https", "tcp"})


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
    turn_deg = 0.0  # camera.rotate: every frame turned this many degrees clockwise

    def __init__(self, name: str, *, finite: bool, interval_s: float) -> None:
        self.name = name
        self.finite = finite
        self.interval_s = interval_s  # > 0: read at most this often (file sources at camera.fps)
        self.is_open = False
        self._next_index = 0

    @abstractmethod
    def open(self) -> None:
        """Make the source ready to read, or raise SourceError naming what is missing."""

    def read(self) -> Frame | None:
        """The next frame, turned by `turn_deg`; None when a finite source is exhausted;
        SourceError on failure."""
        frame = self._read()
        if frame is None or frame.image is None or not self.turn_deg:
            return frame
        return replace(frame, image=turn_image(frame.image, self.turn_deg))

    @abstractmethod
    def _read(self) -> Frame | None:
        """The next frame as the source gives it; None when exhausted; SourceError."""

    def close(self) -> None:
        """Release what open() took; safe to call twice."""
        self.is_open = False

    def _frame(self, image: np.ndarray | None, source: str, error: str | None = None) -> Frame:
        frame = Frame(image, self._next_index, source, time.monotonic(), error)
        self._next_index += 1
        return frame


def image_names(folder: Path) -> list[str]:
    """The names of a folder's image files (by extension), sorted, not recursive; OSError
    when the folder cannot be listed."""
    with os.scandir(folder) as entries:
        return sorted(
            e.name
            for e in entries
            if Path(e.name).suffix.lower() in IMAGE_EXTENSIONS and e.is_file()
        )


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

    def _read(self) -> Frame | None:
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
            names = image_names(self._path)
        except OSError as exc:  # missing, not a folder, no permission
            raise SourceError(f"folder {self._path}: {exc.strerror or exc}") from None
        if not names:
            raise SourceError(f"folder {self._path}: no image files ({IMAGE_EXTENSIONS_TEXT})")
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

    def _read(self) -> Frame | None:
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
