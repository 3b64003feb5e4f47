"""Following a meter when the camera shifts (`align = true` on a counter or display region).

A camera taped to a pipe or clipped to a meter cupboard sags, is bumped, or moves with the
heat; a few pixels are enough to cut a wheel in half, and a fixed box then reads the wrong
digits, surely. AI-on-the-edge-device aligns every picture on two marks its users pick; here
the region's own surroundings are the mark, with nothing to set up: the first frame a region
reads `ok` (its box then shows digits) gives the reference, the region's window with a margin
of faceplate around it, kept in the store. Every later frame is searched for that patch within
`align_max_shift` pixels of where it was (normalised cross-correlation, so light that
changes evenly does not matter; coarse on a smaller copy first, then to the pixel), and the
region's boxes move by the shift found. The digits inside the window change from frame to
frame; the faceplate around them does not, and outweighs them.

A match weaker than MIN_SCORE (glare over the meter, a hand in front of it, the camera moved
further than `align_max_shift`) moves nothing: the region keeps the shift it last had, and
the log says so. Changing the region's box (or its wheels), or the frame size, takes a new
reference, since the boxes were then set on a new picture. Translation only: a camera that
turns keeps most of its digits within a pixel or two of a shift for the few degrees a mount
sags.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from edge.config import RegionSettings
from edge.meter.printed import Box

logger = logging.getLogger(__name__)

# The weakest normalised correlation taken as the meter found. The same faceplate under
# other light, glare and other digits in the window matched at 0.78 and above (median 0.91)
# on the bundled water-meter frames; other pictures at 0.35 at most.
MIN_SCORE = 0.5
# The margin of faceplate around the window that makes the reference, as a share of the
# window's height (at least MIN_MARGIN_PX).
MARGIN = 0.6
MIN_MARGIN_PX = 8
# The coarse search matches a copy whose template is about this many pixels on its short side.
COARSE_SIDE = 32
# A reference this flat (standard deviation of its grey levels) has nothing to match on.
MIN_CONTRAST = 4.0


@dataclass
class Reference:
    """The picture a region is aligned to: grey pixels around its window, and where."""

    key: str  # the window and frame size it was taken with (key_of)
    origin: tuple[int, int]  # the patch's top-left corner in that frame
    image: np.ndarray  # uint8 grey


class ReferenceStore(Protocol):
    """Where references live (edge.store.Store has these)."""

    def meter_reference(self, region: str) -> tuple[str, tuple[int, int], np.ndarray] | None: ...

    def save_meter_reference(
        self, region: str, key: str, origin: tuple[int, int], image: np.ndarray
    ) -> None: ...


def key_of(window: Box, frame_size: tuple[int, int]) -> str:
    """What a reference is valid for: the window as configured, in a frame of this size."""
    return json.dumps({"window": list(window), "frame": list(frame_size)})


def patch_box(window: Box, frame_size: tuple[int, int]) -> Box:
    """The window with its margin of faceplate, inside the frame."""
    x, y, w, h = window
    width, height = frame_size
    margin = max(MIN_MARGIN_PX, round(MARGIN * h))
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(width, x + w + margin), min(height, y + h + margin)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def bounding(boxes: list[Box]) -> Box:
    """The box around every box of a region (its wheels)."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def find(gray: np.ndarray, reference: Reference, max_shift: int) -> tuple[int, int, float] | None:
    """Where the reference patch is in `gray` within `max_shift` pixels of its place: (dx, dy,
    score), or None when the search area is too small to hold it.

    Coarse first, on copies shrunk until the patch is about COARSE_SIDE pixels on its short
    side; then to the pixel around what that found, a coarse step either way. To the pixel:
    a wheel's position in tenths is read from where its digits stand in the box, and boxes
    placed a pixel off (a search on copies of half the size) read a wheel wrong now and then.
    """
    th, tw = reference.image.shape
    tx, ty = reference.origin
    height, width = gray.shape
    area = max(0, tx - max_shift), max(0, ty - max_shift)
    end = min(width, tx + tw + max_shift), min(height, ty + th + max_shift)
    if end[0] - area[0] < tw or end[1] - area[1] < th:
        return None
    coarse = max(1, min(tw, th) // COARSE_SIDE)
    best = _best(gray, reference.image, area, end, coarse)
    if best is not None and coarse > 1:  # to the pixel, a coarse step either way
        x, y = best[0], best[1]
        area = max(area[0], x - coarse), max(area[1], y - coarse)
        end = min(end[0], x + tw + coarse), min(end[1], y + th + coarse)
        best = _best(gray, reference.image, area, end, 1)
    if best is None:
        return None
    return best[0] - tx, best[1] - ty, best[2]


def _best(
    gray: np.ndarray,
    patch: np.ndarray,
    area: tuple[int, int],
    end: tuple[int, int],
    factor: int,
) -> tuple[int, int, float] | None:
    """The best place (full-size pixels) and score of `patch` in gray[area:end], both shrunk
    by `factor`."""
    search = gray[area[1] : end[1], area[0] : end[0]]
    if factor > 1:
        th, tw = patch.shape
        patch = cv2.resize(patch, (tw // factor, th // factor), interpolation=cv2.INTER_AREA)
        size = (search.shape[1] // factor, search.shape[0] // factor)
        search = cv2.resize(search, size, interpolation=cv2.INTER_AREA)
    if search.shape[0] < patch.shape[0] or search.shape[1] < patch.shape[1]:
        return None
    scores = cv2.matchTemplate(search, patch, cv2.TM_CCOEFF_NORMED)
    _, score, _, (bx, by) = cv2.minMaxLoc(scores)
    if not np.isfinite(score):
        return None
    return area[0] + bx * factor, area[1] + by * factor, float(score)


def inside(window: Box, dx: int, dy: int, frame_size: tuple[int, int]) -> tuple[int, int]:
    """(dx, dy), cut so that `window` moved by it stays inside the frame."""
    x, y, w, h = window
    width, height = frame_size
    return min(max(dx, -x), width - x - w), min(max(dy, -y), height - y - h)


def moved(box: Box, dx: int, dy: int) -> Box:
    return box[0] + dx, box[1] + dy, box[2], box[3]


class Alignment:
    """The references and last shifts of a device's aligned meter regions."""

    def __init__(self, regions: list[RegionSettings], store: ReferenceStore | None) -> None:
        self.store = store
        self.regions = {r.name: r for r in regions if r.align}
        self.references: dict[str, Reference] = {}
        self.last: dict[str, tuple[int, int]] = {}  # the shift each region last had
        self.lost: dict[str, int] = dict.fromkeys(self.regions, 0)  # frames matched too weakly
        self.missing: dict[str, int] = dict.fromkeys(self.regions, 0)  # ...of them in a row now
        for name in self.regions:
            self._load(name)

    def _load(self, name: str) -> None:
        if self.store is None:
            return
        try:
            saved = self.store.meter_reference(name)
        except Exception as exc:  # an unreadable store: a new reference will be taken
            logger.warning("region %s: no saved alignment reference (%s)", name, exc)
            return
        if saved is not None:
            key, origin, image = saved
            self.references[name] = Reference(key, origin, image)

    def shift(self, region: RegionSettings, gray: np.ndarray, window: Box) -> tuple[int, int]:
        """How far `region` has moved from where its boxes were set (0, 0 before a reference)."""
        if region.name not in self.regions:
            return 0, 0
        reference = self.references.get(region.name)
        if reference is None or reference.key != key_of(window, gray.shape[::-1]):
            return 0, 0
        found = find(gray, reference, region.align_max_shift)
        last = self.last.get(region.name, (0, 0))
        if found is None or found[2] < MIN_SCORE:
            self.lost[region.name] += 1
            self.missing[region.name] += 1
            logger.warning(
                "region %s: the meter was not found within %d px of its place (match %.2f); "
                "reading it where it last was, shifted by %s",
                region.name,
                region.align_max_shift,
                -1.0 if found is None else found[2],
                list(last),
            )
            return last
        dx, dy, _ = found
        self.missing[region.name] = 0
        if (dx, dy) != last and max(abs(dx - last[0]), abs(dy - last[1])) > 2:
            logger.info("region %s: the camera moved; boxes shifted by %s", region.name, [dx, dy])
        self.last[region.name] = dx, dy
        return dx, dy

    def state(self, name: str) -> dict[str, object] | None:
        """What the API shows of an aligned region: its shift (None before a reference) and the
        frames in a row in which the meter was not found; None when it is not aligned."""
        if name not in self.regions:
            return None
        has = name in self.references
        return {
            "shift": list(self.last.get(name, (0, 0))) if has else None,
            "unmatched_frames": self.missing[name],
        }

    def wants_reference(
        self, region: RegionSettings, frame_size: tuple[int, int], window: Box
    ) -> bool:
        """Whether `region` is aligned and has no reference for this window and frame size."""
        if region.name not in self.regions:
            return False
        reference = self.references.get(region.name)
        return reference is None or reference.key != key_of(window, frame_size)

    def take_reference(self, region: RegionSettings, gray: np.ndarray, window: Box) -> bool:
        """Keep the patch around `window` of this frame as `region`'s reference; False when
        it is too flat to match on."""
        frame_size = (gray.shape[1], gray.shape[0])
        x, y, w, h = patch_box(window, frame_size)
        image = np.ascontiguousarray(gray[y : y + h, x : x + w])
        if image.size == 0 or float(image.std()) < MIN_CONTRAST:
            return False
        reference = Reference(key_of(window, frame_size), (x, y), image)
        self.references[region.name] = reference
        self.last[region.name] = (0, 0)
        logger.info(
            "region %s: alignment reference taken (%dx%d px at %d,%d)", region.name, w, h, x, y
        )
        if self.store is not None:
            try:
                self.store.save_meter_reference(region.name, reference.key, (x, y), image)
            except Exception as exc:  # a full disk: kept for this run, taken again next start
                logger.warning("region %s: alignment reference not saved: %s", region.name, exc)
        return True
