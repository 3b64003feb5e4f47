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

A match weaker than MIN_SCORE (glare over the meter, a hand in front of it), or one further
away than `align_max_shift` (the search looks WIDE times as far, to tell a camera knocked
too far from a lookalike within reach), moves nothing: the region keeps the shift it last
had, the log says so, and health turns degraded after a few such frames in a row. Changing
the region's box (or its wheels), or the frame size, takes a new reference, since the boxes
were then set on a new picture. Translation only: the boxes follow a camera that turns a
degree or two as well, but a turn lifts one end of a wide window against the other, and now
and then a wheel is read a digit off (mock_frames/drift_sim.py --max-turn; README).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from edge.config import RegionSettings
from edge.meter.printed import Box

logger = logging.getLogger(__name__)

# The weakest normalised correlation taken as the meter found. The same faceplate under
# other light, glare and other digits in the window matched at 0.78 and above (median 0.91)
# on the bundled water-meter frames moved within reach, a drawn LCD at 0.55 and above (a
# shadow across it and glare); other pictures at 0.35 at most (drift seeds 1-5).
MIN_SCORE = 0.5
# The margin of faceplate around the window that makes the reference, as a share of the
# window's height (at least MIN_MARGIN_PX).
MARGIN = 0.6
MIN_MARGIN_PX = 8
# The coarse search matches a copy whose template is about this many pixels on its short side.
COARSE_SIDE = 32
# The coarse search looks this many times align_max_shift around the place, to tell a camera
# moved too far from a meter within reach.
WIDE = 3
# A reference this flat (standard deviation of its grey levels) has nothing to match on.
MIN_CONTRAST = 4.0


@dataclass
class Reference:
    """The picture a region is aligned to: grey pixels around its window, and where."""

    key: str  # the window and frame size it was taken with (key_of)
    origin: tuple[int, int]  # the patch's top-left corner in that frame
    image: np.ndarray  # uint8 grey
    # The patch shrunk for the coarse search, made once: the same for every frame.
    _shrunk: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def shrunk(self, factor: int) -> np.ndarray:
        if factor not in self._shrunk:
            th, tw = self.image.shape
            size = (tw // factor, th // factor)
            self._shrunk[factor] = cv2.resize(self.image, size, interpolation=cv2.INTER_AREA)
        return self._shrunk[factor]


class ReferenceStore(Protocol):
    """Where references live (edge.store.Store has these)."""

    def meter_reference(self, region: str) -> tuple[str, tuple[int, int], np.ndarray] | None: ...

    def save_meter_reference(
        self, region: str, key: str, origin: tuple[int, int], image: np.ndarray
    ) -> None: ...

    def forget_meter_reference(self, region: str) -> None: ...


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


@dataclass
class Match:
    """Where the reference was found: the shift, how well it matched (normalised
    correlation), and whether that place is further than `align_max_shift` (`beyond`: the
    camera moved more than it may; the boxes are not moved there)."""

    dx: int
    dy: int
    score: float
    beyond: bool = False


def find(gray: np.ndarray, reference: Reference, max_shift: int) -> Match | None:
    """Where the reference patch is in `gray`, looked for up to WIDE times `max_shift` pixels
    from its place, or None when none of the searched part is in the frame.

    The wider look tells a camera moved further than `max_shift` (the faceplate found out
    there: `beyond`) from a meter within reach; without it, a display whose digits repeat (an
    LCD's cells) would be "found" a cell-width from the edge of the search, nearly as well as
    where it is. Beyond the frame's edge the search sees the mean grey of what it cut, so a
    meter whose faceplate the camera moved partly out of the picture is still found where it
    is (the part outside matches nothing; the score is lower by as much).

    Coarse first, on copies shrunk until the patch is about COARSE_SIDE pixels on its short
    side; then to the pixel around the best place within reach and, when the best of all lies
    beyond, around that one too: the finer look decides between them (on coarse copies an
    LCD's cells look much alike). To the pixel: a wheel's position in tenths is read from
    where its digits stand in the box, and boxes placed a pixel off read a wheel wrong now
    and then.
    """
    th, tw = reference.image.shape
    tx, ty = reference.origin
    if gray.shape[0] < th or gray.shape[1] < tw:
        return None
    pad = WIDE * max_shift
    # The part of the frame searched, padded where it runs off the frame; the patch was at
    # (pad, pad) in it, and the coarse map's cell (i, j) is the shift (j, i) * coarse - pad.
    padded = _cut(gray, tx - pad, ty - pad, tx + tw + pad, ty + th + pad)
    if padded is None:
        return None
    coarse = max(1, min(tw, th) // COARSE_SIDE)
    small, area = reference.image, padded
    if coarse > 1:
        small = reference.shrunk(coarse)
        size = (area.shape[1] // coarse, area.shape[0] // coarse)
        area = cv2.resize(area, size, interpolation=cv2.INTER_AREA)
    scores = cv2.matchTemplate(area, small, cv2.TM_CCOEFF_NORMED)
    scores = np.nan_to_num(scores, nan=-1.0, posinf=-1.0, neginf=-1.0)
    shifts_x = np.arange(scores.shape[1]) * coarse - pad
    shifts_y = np.arange(scores.shape[0]) * coarse - pad
    reach = max_shift + coarse
    inside_x, inside_y = np.abs(shifts_x) <= reach, np.abs(shifts_y) <= reach
    within = np.full_like(scores, -1.0)
    within[np.ix_(inside_y, inside_x)] = scores[np.ix_(inside_y, inside_x)]
    candidates = [np.unravel_index(int(np.argmax(within)), scores.shape)]
    anywhere = np.unravel_index(int(np.argmax(scores)), scores.shape)
    if not (inside_y[anywhere[0]] and inside_x[anywhere[1]]):
        candidates.append(anywhere)
    best = None
    for n, (i, j) in enumerate(candidates):
        dx, dy = int(shifts_x[j]), int(shifts_y[i])
        limit = max_shift if n == 0 else pad  # the place within reach stays within reach
        match = _refine(padded, reference.image, (pad, pad), dx, dy, coarse, limit)
        if match is None:
            continue
        match.beyond = n > 0
        if best is None or match.score > best.score:
            best = match
    return best


def _cut(gray: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray | None:
    """gray[y0:y1, x0:x1], padded with the mean grey of what is in the frame where the
    rectangle runs off it; None when none of it is in the frame."""
    height, width = gray.shape
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    crop = gray[cy0:cy1, cx0:cx1]
    if (cx0, cy0, cx1, cy1) == (x0, y0, x1, y1):
        return crop
    fill = float(crop.mean())
    return cv2.copyMakeBorder(
        crop, cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1, cv2.BORDER_CONSTANT, value=fill
    )


def _refine(
    padded: np.ndarray,
    patch: np.ndarray,
    origin: tuple[int, int],
    dx: int,
    dy: int,
    step: int,
    limit: int,
) -> Match | None:
    """The best shift to the pixel within `step` of (dx, dy) and `limit` of no shift."""
    th, tw = patch.shape
    x0, y0 = max(-limit, dx - step), max(-limit, dy - step)
    x1, y1 = min(limit, dx + step), min(limit, dy + step)
    if x1 < x0 or y1 < y0:
        return None
    ox, oy = origin
    search = padded[oy + y0 : oy + y1 + th, ox + x0 : ox + x1 + tw]
    if search.shape[0] < th or search.shape[1] < tw:
        return None
    scores = cv2.matchTemplate(search, patch, cv2.TM_CCOEFF_NORMED)
    _, score, _, (bx, by) = cv2.minMaxLoc(scores)
    if not np.isfinite(score):
        return None
    return Match(x0 + bx, y0 + by, float(score))


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
        # The frames in a row in which the meter was not found (too weak a match, or beyond).
        self.missing: dict[str, int] = dict.fromkeys(self.regions, 0)
        # References to drop before the next frame (asked from another thread: the API).
        self.retake: set[str] = set()
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
        size = (gray.shape[1], gray.shape[0])
        if region.name not in self.regions or self.wants_reference(region, size, window):
            return 0, 0  # not aligned, or no reference for this window yet
        reference = self.references[region.name]
        found = find(gray, reference, region.align_max_shift)
        last = self.last.get(region.name, (0, 0))
        if found is None or found.score < MIN_SCORE or found.beyond:
            self.missing[region.name] += 1
            logger.warning(
                "region %s: the meter was not found within %d px of its place (%s); reading "
                "it where it last was, shifted by %s",
                region.name,
                region.align_max_shift,
                "no match"
                if found is None
                else f"best match {found.score:.2f} at {[found.dx, found.dy]}",
                list(last),
            )
            return last
        dx, dy = found.dx, found.dy
        self.missing[region.name] = 0
        if max(abs(dx - last[0]), abs(dy - last[1])) > 2:
            logger.info("region %s: the camera moved; boxes shifted by %s", region.name, [dx, dy])
        self.last[region.name] = dx, dy
        return dx, dy

    def state(self, name: str) -> dict[str, Any] | None:
        """What the API shows of an aligned region: its shift (None before a reference) and the
        frames in a row in which the meter was not found; None when it is not aligned."""
        if name not in self.regions:
            return None
        has = name in self.references and name not in self.retake
        return {
            "shift": list(self.last.get(name, (0, 0))) if has else None,
            "unmatched_frames": self.missing[name],
        }

    def wants_reference(
        self, region: RegionSettings, frame_size: tuple[int, int], window: Box
    ) -> bool:
        """Whether `region` is aligned and has no reference for this window and frame size.
        Called by the capture loop before each frame, it first drops a reference the API asked
        to be taken again (ask_retake), so only that thread changes the references."""
        if region.name not in self.regions:
            return False
        if region.name in self.retake:
            self._drop(region.name)
        reference = self.references.get(region.name)
        return reference is None or reference.key != key_of(window, frame_size)

    def ask_retake(self, name: str) -> None:
        """Take `name`'s reference again from the next frame it reads `ok` (after the camera
        was re-aimed, or the light around the meter changed for good). Any thread; the capture
        loop drops the old one before its next frame."""
        self.retake.add(name)

    def _drop(self, name: str) -> None:
        self.retake.discard(name)
        self.references.pop(name, None)
        self.last.pop(name, None)
        self.missing[name] = 0
        logger.info(
            "region %s: alignment reference dropped; the next frame read ok gives one", name
        )
        if self.store is not None:
            try:
                self.store.forget_meter_reference(name)
            except Exception as exc:  # a full disk: the old row is replaced when a new one is kept
                logger.warning("region %s: old alignment reference not deleted: %s", name, exc)

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
