"""Synthetic "not a digit" images: what the digit finder hands over that is not a digit.

Each maker draws ink (white on black, 0..1) on a canvas of its own size; the reader's own
normaliser, `edge.vision.normalise.to_mnist`, then fits and centres it, so a negative looks
exactly like a crop the model gets at run time: ruled and squared paper, specks, broken
strokes, half a digit, two digits stuck together, letters, noise.

Some shapes are digits whatever the label says, so they are never made: a lone straight
stroke near the vertical (a 1), a top-right corner (a 7), any piece the fit turns into one
thin straight stroke (most halves of a 1, a 4 or a 7), and the halves that keep their digit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import cv2
import numpy as np

from edge.vision.normalise import to_mnist

logger = logging.getLogger(__name__)

# How often each kind is drawn; letters and grid crossings are what cameras meet most.
KINDS = {
    "line": 0.10,
    "grid": 0.16,
    "specks": 0.10,
    "strokes": 0.10,
    "half": 0.10,
    "pair": 0.14,
    "letter": 0.22,
    "noise": 0.08,
}
# Letters that no handwriting of a digit resembles (no O, I, l, S, Z, G, q, g, o, s, z, t, y).
LETTERS = "ABCEFHKLMNPRTUVWXYabcdehkmnruvwx"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
)
MAX_THICKNESS = 0.45  # spread across / along below this: one straight stroke, or a fat bar
MAX_TRIES = 8
HALF_KEPT = (0.3, 0.5)  # share of the digit's height or width a half keeps
# The sides (top, bottom, left) each digit may be cut down to; the rest stay digits: any
# part of a 1 or a 7 (a 1 or a 7), the top of an 8 or a 9 or the bottom of a 6 or an 8 (a 0),
# the top of a 2 (a 2 or a 7), the left of a 6 (a 6), the right of most digits (a 1, 2 or 3).
HALF_SIDES = {0: "tb", 2: "b", 3: "tbl", 4: "t", 5: "tb", 8: "l", 9: "l"}


def make_negatives(
    n: int, rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """n negatives, float32 [n,28,28] 0..1; MNIST `digits` (uint8) and labels feed halves, pairs."""
    names = list(KINDS)
    weights = np.array([KINDS[k] for k in names])
    kinds = rng.choice(len(names), size=n, p=weights / weights.sum())
    out = np.zeros((n, 28, 28), np.float32)
    for i, k in enumerate(kinds):
        out[i] = make_one(names[k], rng, digits, labels)
    return out


def make_one(
    kind: str, rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """One negative of the given kind, retried until it cannot pass for a digit."""
    for _ in range(MAX_TRIES):
        image = to_mnist(np.clip(MAKERS[kind](rng, digits, labels), 0.0, 1.0))
        if not looks_like_a_one(image):
            return image
    return to_mnist(np.clip(noise(rng), 0.0, 1.0))


def looks_like_a_one(image: np.ndarray) -> bool:
    """True for an empty image or one thin straight stroke within 45 degrees of the vertical."""
    ys, xs = np.nonzero(image > 0.1)
    if ys.size < 3:
        return True
    weights = image[ys, xs].astype(np.float64)
    points = np.stack([xs, ys], 1) - np.average(np.stack([xs, ys], 1), axis=0, weights=weights)
    cov = (points * weights[:, None]).T @ points / weights.sum()
    (minor, major), vectors = np.linalg.eigh(cov)
    thin = minor < (MAX_THICKNESS**2) * major
    return bool(thin and abs(vectors[1, 1]) > math.cos(math.radians(45)))


def _canvas(size: int) -> np.ndarray:
    return np.zeros((size, size), np.float32)


def _line(
    img: np.ndarray, p0: tuple[float, float], p1: tuple[float, float], level: float, thickness: int
) -> None:
    # 4 fractional bits: sub-pixel positions, so thin lines land between pixels like ink does.
    a = (round(p0[0] * 16), round(p0[1] * 16))
    b = (round(p1[0] * 16), round(p1[1] * 16))
    cv2.line(img, a, b, float(level), thickness, cv2.LINE_AA, shift=4)


def line(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """A straight fragment of a ruled line, or two parallel ones, never near the vertical."""
    img = _canvas(48)
    # Within 30 degrees of the horizontal: rotation augmentation adds 12 more, and 1s lean 35.
    angle = math.radians(rng.uniform(-30.0, 30.0))
    length = rng.uniform(12.0, 44.0)
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    thickness, level = int(rng.integers(1, 4)), rng.uniform(0.5, 1.0)
    lines = 1 if rng.random() < 0.7 else 2
    gap = rng.uniform(5.0, 12.0)
    for k in range(lines):
        cx, cy = 24 - k * gap * math.sin(angle), 20 + k * gap * math.cos(angle)
        _line(img, (cx - dx, cy - dy), (cx + dx, cy + dy), level, thickness)
    return img


def grid(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """Squared paper: a crossing, a T, a corner (never the 7-like top-right one) or a patch."""
    img = _canvas(48)
    thickness, level = int(rng.integers(1, 4)), rng.uniform(0.5, 1.0)
    x0, y0 = rng.uniform(14, 34), rng.uniform(14, 34)
    if rng.random() < 0.3:  # a patch of the grid: two or three lines each way
        step = rng.uniform(8.0, 16.0)
        for k in range(int(rng.integers(2, 4))):
            _line(img, (4, y0 - 10 + k * step), (44, y0 - 10 + k * step), level, thickness)
        for k in range(int(rng.integers(2, 4))):
            _line(img, (x0 - 10 + k * step, 4), (x0 - 10 + k * step, 44), level, thickness)
    else:
        # Which arms leave the crossing: left, right, up, down. (left, down) is a 7.
        arms = [
            (1, 1, 1, 1),
            (1, 1, 0, 1),
            (1, 1, 1, 0),
            (0, 1, 1, 1),
            (1, 0, 1, 1),
            (0, 1, 1, 0),
            (1, 0, 1, 0),
            (0, 1, 0, 1),
        ][int(rng.integers(0, 8))]
        left, right, up, down = (rng.uniform(8, 22) * a for a in arms)
        _line(img, (x0 - left, y0), (x0 + right, y0), level, thickness)
        _line(img, (x0, y0 - up), (x0, y0 + down), level, thickness)
    tilt = rng.uniform(-10.0, 10.0)  # a camera is never quite square to the page
    matrix = cv2.getRotationMatrix2D((24, 24), tilt, 1.0)
    return cv2.warpAffine(img, matrix, (48, 48), flags=cv2.INTER_LINEAR)


def specks(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """Dust, dots and blobs: one to six filled ellipses of assorted sizes."""
    img = _canvas(40)
    for _k in range(int(rng.integers(1, 7))):
        centre = (int(rng.integers(6, 34)), int(rng.integers(6, 34)))
        axes = (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
        cv2.ellipse(
            img,
            centre,
            axes,
            rng.uniform(0, 180),
            0,
            360,
            float(rng.uniform(0.4, 1.0)),
            -1,
            cv2.LINE_AA,
        )
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    return img


def strokes(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """Broken short strokes scattered apart: pen slips, the pieces of a faint crossing-out."""
    img = _canvas(36)
    thickness, level = int(rng.integers(1, 4)), rng.uniform(0.5, 1.0)
    for _k in range(int(rng.integers(2, 5))):
        x, y = rng.uniform(4, 32), rng.uniform(4, 32)
        angle, length = rng.uniform(0, math.pi), rng.uniform(3.0, 9.0)
        _line(
            img,
            (x, y),
            (x + math.cos(angle) * length, y + math.sin(angle) * length),
            level,
            thickness,
        )
    return img


def half(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The smaller part of an MNIST digit cut at a random horizontal or vertical line."""
    allowed = np.nonzero(np.isin(labels, list(HALF_SIDES)))[0]
    index = int(rng.choice(allowed))
    sides = HALF_SIDES[int(labels[index])]
    side = sides[int(rng.integers(0, len(sides)))]
    digit = digits[index].astype(np.float32) / 255
    axis = 0 if side in "tb" else 1
    extent = np.nonzero((digit > 0.1).any(axis=1 - axis))[0]
    if extent.size == 0:
        return digit
    kept = rng.uniform(*HALF_KEPT) * float(extent[-1] - extent[0] + 1)
    first = side in "tl"
    cut = round(float(extent[0]) + kept) if first else round(float(extent[-1]) + 1 - kept)
    dropped = slice(cut, None) if first else slice(None, cut)
    out = digit.copy()
    if axis == 0:
        out[dropped] = 0.0
    else:
        out[:, dropped] = 0.0
    return out


def pair(rng: np.random.Generator, digits: np.ndarray, _: np.ndarray) -> np.ndarray:
    """Two MNIST digits side by side, touching or overlapping: the finder merged them."""
    img = np.zeros((36, 64), np.float32)
    a, b = (digits[int(rng.integers(0, len(digits)))].astype(np.float32) / 255 for _ in "ab")
    gap = int(rng.integers(-3, 2))  # negative: the two overlap
    x_b = int(np.clip(4 + _ink_width(a)[1] + gap - _ink_width(b)[0], 0, 64 - 28))
    y_b = 4 + int(rng.integers(-3, 4))
    img[4:32, 4:32] = a
    img[y_b : y_b + 28, x_b : x_b + 28] = np.maximum(img[y_b : y_b + 28, x_b : x_b + 28], b)
    return img


def _ink_width(digit: np.ndarray) -> tuple[int, int]:
    cols = np.nonzero((digit > 0.1).any(axis=0))[0]
    return (int(cols[0]), int(cols[-1])) if cols.size else (0, 27)


def letter(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """A printed or cursive letter (Hershey fonts) at assorted sizes, weights and slants."""
    img = np.zeros((96, 96), np.uint8)  # OpenCV draws text on 8-bit images only
    font = FONTS[int(rng.integers(0, len(FONTS)))]
    if rng.random() < 0.3:
        font |= cv2.FONT_ITALIC
    char = LETTERS[int(rng.integers(0, len(LETTERS)))]
    scale, thickness = rng.uniform(1.2, 2.6), int(rng.integers(1, 6))
    cv2.putText(img, char, (24, 66), font, scale, 255, thickness, cv2.LINE_AA)
    shear, tilt = rng.uniform(-0.3, 0.3), math.radians(rng.uniform(-12.0, 12.0))
    c, s = math.cos(tilt), math.sin(tilt)
    matrix = np.array([[c, -s + shear, 0.0], [s, c, 0.0]], np.float32)
    matrix[:, 2] = np.array([48.0, 48.0]) - matrix[:, :2] @ np.array([48.0, 48.0])
    level = rng.uniform(0.6, 1.0) / 255
    return cv2.warpAffine(img, matrix, (96, 96), flags=cv2.INTER_LINEAR).astype(np.float32) * level


def noise(rng: np.random.Generator, *_: np.ndarray) -> np.ndarray:
    """Sensor noise, sparse salt, or thresholded smooth clouds (texture, shadows)."""
    size = int(rng.integers(12, 40))
    style = rng.random()
    if style < 0.35:
        return rng.random((size, size), dtype=np.float32) * rng.uniform(0.3, 1.0)
    if style < 0.7:
        return (rng.random((size, size)) < rng.uniform(0.03, 0.2)).astype(np.float32)
    cloud = cv2.GaussianBlur(rng.random((size, size), dtype=np.float32), (0, 0), 2.0)
    return np.clip((cloud - cloud.mean()) * rng.uniform(6.0, 14.0), 0.0, 1.0)


MAKERS: dict[str, Callable[..., np.ndarray]] = {
    "line": line,
    "grid": grid,
    "specks": specks,
    "strokes": strokes,
    "half": half,
    "pair": pair,
    "letter": letter,
    "noise": noise,
}
