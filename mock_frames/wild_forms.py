"""Continental forms for the tuning renderer: a 1 with a flag (and a foot), a crossed 7.

MNIST's writers are mostly American: their 1 is a bare stroke, their 7 has no bar. Much of
the world writes a 1 with a flag from the top of its stem (often long, sometimes curved,
sometimes with a foot) and crosses its 7. The model learns such forms from
`training/strokes.py`; the tuning frames draw their own here, with other shapes and ranges
and other code, so that the tuning frames can tell whether the reader knows continental
writing or only the forms it was trained on. The forms are drawn onto the MNIST image
before the renderer scales and re-strokes it with the pen (wild_hand.write_number), at the
digit's own stroke width, so the pen decides the final width as for any digit.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

INK = 100  # an MNIST pixel at least this bright is the digit's stroke
SUPER = 4  # strokes drawn 4x larger, then averaged down: soft edges like MNIST's
FLAG_P, FOOT_P, BAR_P = 0.9, 0.3, 0.85  # chances of a flag on a 1, a foot under it, a bar on a 7


def continental(
    image: np.ndarray, label: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[str]]:
    """An MNIST digit (uint8 [28,28], white on black) perhaps in a continental form, and
    the forms drawn ("flag", "foot", "crossbar"); other digits come back as they were."""
    if label == 1 and rng.random() < FLAG_P:
        return flagged_one(image, rng)
    if label == 7 and rng.random() < BAR_P:
        return crossed_seven(image, rng)
    return image, []


def _ink(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The stroke's pixel rows and columns, and its width (the ink's area over its height:
    a 1's stem, a 7's stroke seen row by row)."""
    ys, xs = np.nonzero(image >= INK)
    height = float(ys.max() - ys.min() + 1) if ys.size else 1.0
    width = float(np.clip(ys.size / height, 1.6, 4.5)) if ys.size else 2.0
    return ys, xs, width


def _draw(image: np.ndarray, points: list[tuple[float, float]], width: float) -> np.ndarray:
    """A polyline in 28x28 pixel coordinates (x, y), drawn at `width` with soft edges, merged
    into the digit (the brighter of the two)."""
    big = np.zeros((28 * SUPER, 28 * SUPER), np.uint8)
    pts = [(round(x * SUPER + SUPER / 2), round(y * SUPER + SUPER / 2)) for x, y in points]
    for a, b in itertools.pairwise(pts):
        cv2.line(big, a, b, 255, max(1, round(width * SUPER)), cv2.LINE_AA)
    small = cv2.resize(big, (28, 28), interpolation=cv2.INTER_AREA)
    return np.maximum(image, small)


def flagged_one(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A flag from the top of the stem down to the left, 20-55% of the digit's height long,
    22-65 degrees below the horizontal, now and then bent further down half-way (a hand that
    curls it); sometimes a foot across the bottom of the stem."""
    ys, xs, width = _ink(image)
    if ys.size < 8:
        return image, []
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    top_x = float(xs[ys <= top + 1].mean())
    bottom_x = float(xs[ys >= bottom - 1].mean())
    length = rng.uniform(0.2, 0.55) * height
    angle = np.radians(rng.uniform(22, 65))
    start = (top_x + rng.uniform(-0.3, 0.3) * width, top + 0.3 * width)
    if rng.random() < 0.3:  # curled: the second half steeper than the first
        bend = np.radians(rng.uniform(10, 30))
        half = (start[0] - 0.5 * length * np.cos(angle), start[1] + 0.5 * length * np.sin(angle))
        steep = min(angle + bend, np.radians(80))
        end = (half[0] - 0.5 * length * np.cos(steep), half[1] + 0.5 * length * np.sin(steep))
        points = [start, half, end]
    else:
        points = [start, (start[0] - length * np.cos(angle), start[1] + length * np.sin(angle))]
    if min(x for x, _ in points) < 0.5:
        return image, []  # no room on the left: leave this 1 as it is
    out = _draw(image, points, width * rng.uniform(0.8, 1.1))
    forms = ["flag"]
    if rng.random() < FOOT_P:
        half_foot = rng.uniform(0.15, 0.35) * height
        tilt = np.tan(np.radians(rng.uniform(-6, 6))) * half_foot
        y = bottom - 0.3 * width
        foot = [(bottom_x - half_foot, y + tilt), (bottom_x + half_foot, y - tilt)]
        if min(foot[0][0], foot[1][0]) >= 0.5 and max(foot[0][0], foot[1][0]) <= 27.5:
            out = _draw(out, foot, width * rng.uniform(0.8, 1.1))
            forms.append("foot")
    return out, forms


def crossed_seven(image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """A bar across the 7's stroke, 48-68% of the way down, 30-60% of the digit's height
    long, centred on the stroke give or take a fifth of its length, tilted up to 10 degrees."""
    ys, xs, width = _ink(image)
    if ys.size < 8:
        return image, []
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    row = round(top + rng.uniform(0.48, 0.68) * height)
    # The stroke where the bar crosses it: its ink on that row (the 7's arm having ended
    # above), else the nearest row with ink.
    near = ys[np.argmin(np.abs(ys - row))]
    centre = float(xs[ys == near].mean())
    length = rng.uniform(0.3, 0.6) * height
    middle = centre + rng.uniform(-0.2, 0.2) * length
    tilt = np.tan(np.radians(rng.uniform(-10, 10))) * length / 2
    bar = [(middle - length / 2, row + tilt), (middle + length / 2, row - tilt)]
    if min(bar[0][0], bar[1][0]) < 0.5 or max(bar[0][0], bar[1][0]) > 27.5:
        return image, []
    return _draw(image, bar, width * rng.uniform(0.7, 1.0)), ["crossbar"]
