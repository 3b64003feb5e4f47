"""Continental handwriting drawn onto MNIST digits: forms its American writers rarely used.

MNIST's 1 is a bare stroke and its 7 has no crossbar, so a model trained on it alone reads
a European 1 (a long flag from the top of the stem, sometimes a foot) as a 7, and hesitates
on a crossed 7. Its 9s mostly curl their tail, and its 4s mostly close the top or join the
arm to the stem: a 9 whose tail is a straight stem down from the loop, and a 4 whose arm
stands apart from the stem (open at the top) are drawn too. Each transform finds what it
keeps in the digit's own pixels (the stem as its principal axis, the 9's loop as its hole),
draws with the digit's own stroke width and ink, then fits and centres the result the way
the reader does (`to_mnist`), since the finder sees the whole new shape. Labels never
change: a flagged 1 is still a 1.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from edge.vision.normalise import to_mnist

logger = logging.getLogger(__name__)

PAD = 10  # room around the 28x28 digit so a long flag or a foot is not clipped
SUPERSAMPLE = 4  # strokes drawn 4x larger, then averaged down: soft edges like MNIST's
INK = 0.3  # pixels above this are the digit's stroke when measuring it
MIN_SPLIT_DEG = 25.0  # the flag and the stem never run closer than this
BAR_TRIES = 6  # heights tried for a 7's crossbar before leaving that 7 as it is


@dataclass(frozen=True)
class StrokeConfig:
    """Chances and shapes; each range is what the continental forms commonly span."""

    one_flag_p: float = 0.35  # share of 1s given a flag (MNIST 1s with a flag are rare)
    foot_p: float = 0.35  # share of flagged 1s that also get a foot
    flag_length: tuple[float, float] = (0.25, 0.45)  # of the stem's length
    flag_angle_deg: tuple[float, float] = (30.0, 60.0)  # below the horizontal
    foot_length: tuple[float, float] = (0.3, 0.55)  # of the stem's length
    seven_bar_p: float = 0.35  # share of 7s given a crossbar
    bar_height: tuple[float, float] = (0.45, 0.62)  # where it crosses, from the top
    bar_length: tuple[float, float] = (0.35, 0.6)  # of the digit's height
    # Share of 9s given a straight tail; about half of MNIST's 9s have a closed loop to keep.
    nine_straight_p: float = 0.5
    nine_lean: tuple[float, float] = (-0.12, 0.08)  # the tail's sideways run per unit of height
    four_open_p: float = 0.2  # share of 4s replaced by an open 4 drawn stroke by stroke
    four_stem_start: tuple[float, float] = (0.0, 0.2)  # below the top, of the digit's height


@dataclass(frozen=True)
class Segment:
    """A drawn stroke, in the padded canvas's pixel coordinates (x right, y down)."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float


@dataclass(frozen=True)
class Stem:
    """A straight stroke found in the ink: its ends, centre, unit direction (downwards), width."""

    top: np.ndarray
    bottom: np.ndarray
    centre: np.ndarray
    down: np.ndarray
    width: float

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.bottom - self.top))


def continental_forms(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator, cfg: StrokeConfig
) -> np.ndarray:
    """float [N,28,28] 0..1 digits -> a copy where some 1s are flagged, some 7s crossed, some
    9s have a straight tail and some 4s are open."""
    out = images.copy()
    forms = (
        (1, cfg.one_flag_p, flag_one),
        (7, cfg.seven_bar_p, cross_seven),
        (9, cfg.nine_straight_p, straighten_nine),
        (4, cfg.four_open_p, open_four),
    )
    for digit, p, transform in forms:
        for i in np.nonzero(labels == digit)[0]:
            if rng.random() < p:
                canvas, segments = transform(pad(images[i]), rng, cfg)
                if segments:
                    out[i] = finish(canvas)
    return out


def pad(image: np.ndarray) -> np.ndarray:
    """A 28x28 digit on a larger black canvas (float32)."""
    return np.pad(np.asarray(image, np.float32), PAD)


def finish(canvas: np.ndarray) -> np.ndarray:
    """The padded canvas fitted and centred as the reader would hand it to the model."""
    return to_mnist(np.clip(canvas, 0.0, 1.0))


def flag_one(
    canvas: np.ndarray, rng: np.random.Generator, cfg: StrokeConfig
) -> tuple[np.ndarray, list[Segment]]:
    """A flag from the top of the stem going down-left, and sometimes a foot."""
    stem = find_stem(canvas, 0.0)
    if stem is None:
        return canvas, []
    length = stem.length * rng.uniform(*cfg.flag_length)
    # Below the horizontal, pointing left: flatter reads as a 7's bar, so the angle is kept
    # steep and at least MIN_SPLIT_DEG away from the stem's own angle on a right-leaning 1.
    stem_deg = math.degrees(math.atan2(stem.down[1], -stem.down[0]))
    angle = min(rng.uniform(*cfg.flag_angle_deg), stem_deg - MIN_SPLIT_DEG)
    angle = math.radians(max(angle, cfg.flag_angle_deg[0] - 10.0))
    direction = np.array([-math.cos(angle), math.sin(angle)])
    # Start half a stroke inside the stem's end so the two strokes join without a gap.
    start = stem.top + stem.down * stem.width / 2
    segments = [_segment(start, start + direction * length, stem.width)]
    if rng.random() < cfg.foot_p:
        half = stem.length * rng.uniform(*cfg.foot_length) / 2
        tilt = math.radians(rng.uniform(-5.0, 5.0))
        across = np.array([math.cos(tilt), math.sin(tilt)])
        foot = stem.bottom - stem.down * stem.width / 2
        segments.append(_segment(foot - across * half, foot + across * half, stem.width))
    return draw(canvas, segments, ink_level(canvas)), segments


def cross_seven(
    canvas: np.ndarray, rng: np.random.Generator, cfg: StrokeConfig
) -> tuple[np.ndarray, list[Segment]]:
    """A short bar across the 7's stem, about halfway down."""
    rows = np.nonzero((canvas > INK).any(axis=1))[0]
    if rows.size < 8:
        return canvas, []
    top, height = float(rows[0]), float(rows[-1] - rows[0] + 1)
    # Below the top bar the 7 is its stem alone, so that part gives the stem's line and width.
    stem = find_stem(canvas, 0.4)
    if stem is None:
        return canvas, []
    for _ in range(BAR_TRIES):
        y = top + height * rng.uniform(*cfg.bar_height)
        runs = _runs(canvas[round(y)])
        # Only where the row cuts the bare stem once: a kink or a loop is no place for a bar.
        if len(runs) == 1 and runs[0][1] - runs[0][0] + 1 <= 2.5 * stem.width + 1:
            run = runs[0]
            break
    else:
        return canvas, []
    half = max(height * rng.uniform(*cfg.bar_length), run[1] - run[0] + 6) / 2
    tilt = math.radians(rng.uniform(-8.0, 8.0))
    across = np.array([math.cos(tilt), math.sin(tilt)])
    centre = np.array([(run[0] + run[1]) / 2 + rng.uniform(-0.15, 0.15) * half, y])
    segments = [_segment(centre - across * half, centre + across * half, stem.width)]
    return draw(canvas, segments, ink_level(canvas)), segments


def straighten_nine(
    canvas: np.ndarray, rng: np.random.Generator, cfg: StrokeConfig
) -> tuple[np.ndarray, list[Segment]]:
    """The 9's loop kept, its tail replaced by a straight stem down from the loop's right side."""
    binary = (canvas > INK).astype(np.uint8)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    holes = (
        [c for c, h in zip(contours, hierarchy[0], strict=True) if h[3] >= 0] if contours else []
    )
    rows = np.nonzero(binary.any(axis=1))[0]
    if not holes or rows.size < 8:
        return canvas, []  # an open loop: no loop to keep
    hx, hy, hw, hh = cv2.boundingRect(max(holes, key=cv2.contourArea))
    top, bottom = float(rows[0]), float(rows[-1])
    height = bottom - top + 1
    if hh < 0.15 * height or hy + hh > top + 0.75 * height:
        return canvas, []  # a speck of a hole, or no room below the loop for a tail
    runs = _runs(canvas[hy + hh // 2])
    right = [r for r in runs if r[0] >= hx + hw - 1]
    if not right:
        return canvas, []
    width = float(np.clip(right[0][1] - right[0][0] + 1, 1.0, 5.0))
    loop_bottom = hy + hh + round(width)
    out = canvas.copy()
    out[loop_bottom + 1 :] = 0.0  # the old tail goes
    x0 = (right[0][0] + right[0][1]) / 2
    y0 = hy + hh / 2
    x1 = x0 + rng.uniform(*cfg.nine_lean) * (bottom - y0)
    segments = [Segment(float(x0), float(y0), float(x1), bottom, width)]
    return draw(out, segments, ink_level(canvas)), segments


def open_four(
    canvas: np.ndarray, rng: np.random.Generator, cfg: StrokeConfig
) -> tuple[np.ndarray, list[Segment]]:
    """An open 4 drawn in place of the digit, in its pen: an arm down to a bar that crosses a
    stem standing apart from the arm at the top."""
    rows = np.nonzero((canvas > INK).any(axis=1))[0]
    if rows.size < 8:
        return canvas, []
    stem = find_stem(canvas, 0.6)  # the 4's lower part is its stem alone
    width = stem.width if stem is not None else 2.0
    top, bottom = float(rows[0]), float(rows[-1])
    height = bottom - top
    lean = rng.uniform(-0.15, 0.2)  # x moved per unit of height upwards: a forward slant
    cx = (np.nonzero((canvas > INK).any(axis=0))[0].mean()).item()
    stem_x = cx + rng.uniform(0.05, 0.2) * height
    bar_y = top + rng.uniform(0.5, 0.68) * height
    arm_top_x = stem_x - rng.uniform(0.3, 0.55) * height
    arm_top_y = top + rng.uniform(0.0, 0.1) * height
    arm_end_x = arm_top_x - rng.uniform(-0.05, 0.12) * height

    def at(x: float, y: float) -> tuple[float, float]:
        return x + lean * (bottom - y), y

    a, b = at(arm_top_x, arm_top_y), at(arm_end_x, bar_y)
    c = at(stem_x + rng.uniform(0.12, 0.25) * height, bar_y + rng.uniform(-0.05, 0.03) * height)
    e, f = at(stem_x, top + rng.uniform(*cfg.four_stem_start) * height), at(stem_x, bottom)
    segments = [
        Segment(a[0], a[1], b[0], b[1], width),
        Segment(b[0], b[1], c[0], c[1], width),
        Segment(e[0], e[1], f[0], f[1], width),
    ]
    return draw(np.zeros_like(canvas), segments, ink_level(canvas)), segments


def _runs(row: np.ndarray) -> list[tuple[int, int]]:
    """The runs of ink pixels in a row, as (first, last) columns."""
    cols = np.nonzero(row > INK)[0]
    if cols.size == 0:
        return []
    breaks = np.nonzero(np.diff(cols) > 1)[0]
    return [(int(r[0]), int(r[-1])) for r in np.split(cols, breaks + 1)]


def find_stem(canvas: np.ndarray, below: float) -> Stem | None:
    """The principal axis of the ink in rows below `below` (a fraction of the digit's height)."""
    rows = np.nonzero((canvas > INK).any(axis=1))[0]
    if rows.size < 6:
        return None
    first = rows[0] + int(below * (rows[-1] - rows[0] + 1))
    part = np.zeros_like(canvas)
    part[first:] = canvas[first:]
    ys, xs = np.nonzero(part > INK)
    if ys.size < 6:
        return None
    points = np.stack([xs, ys], 1).astype(np.float64)
    weights = part[ys, xs].astype(np.float64)
    centre = (points * weights[:, None]).sum(0) / weights.sum()
    offsets = points - centre
    cov = (offsets * weights[:, None]).T @ offsets / weights.sum()
    down = np.linalg.eigh(cov)[1][:, -1]
    down = down if down[1] >= 0 else -down
    along = offsets @ down
    top, bottom = centre + down * along.min(), centre + down * along.max()
    return Stem(top, bottom, centre, down, stroke_width(part[first:], down))


def stroke_width(ink: np.ndarray, down: np.ndarray) -> float:
    """Width of a single stroke from its ink per row: a row cuts a stem at w / cos(slant)."""
    mass = ink.sum(axis=1)
    mass = mass[mass > INK]
    if mass.size == 0:
        return 2.0
    middle = mass[mass.size // 4 : max(mass.size // 4 + 1, 3 * mass.size // 4)]
    cos_slant = abs(float(down[1]))  # down is a unit vector; its y part is cos of the slant
    return float(np.clip(np.median(middle) * cos_slant, 1.0, 5.0))


def ink_level(canvas: np.ndarray) -> float:
    """How bright the digit's stroke cores are, so new strokes match the pen."""
    ink = canvas[canvas > INK]
    return float(np.percentile(ink, 90)) if ink.size else 1.0


def draw(canvas: np.ndarray, segments: list[Segment], level: float) -> np.ndarray:
    """The canvas with soft-edged strokes added (max of old and new ink)."""
    h, w = canvas.shape
    big = np.zeros((h * SUPERSAMPLE, w * SUPERSAMPLE), np.float32)
    for s in segments:
        # The supersampled stroke covers pixel centres within width/2: the pen's own width.
        p0 = (round((s.x0 + 0.5) * SUPERSAMPLE - 0.5), round((s.y0 + 0.5) * SUPERSAMPLE - 0.5))
        p1 = (round((s.x1 + 0.5) * SUPERSAMPLE - 0.5), round((s.y1 + 0.5) * SUPERSAMPLE - 0.5))
        cv2.line(big, p0, p1, 1.0, max(1, round(s.width * SUPERSAMPLE)), cv2.LINE_AA)
    small = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
    return np.maximum(canvas, small * level)


def _segment(a: np.ndarray, b: np.ndarray, width: float) -> Segment:
    return Segment(float(a[0]), float(a[1]), float(b[0]), float(b[1]), width)
