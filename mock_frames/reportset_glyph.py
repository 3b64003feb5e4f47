"""The stroke model of the REPORT frames: an MNIST digit redrawn with a pen (see reportset.py).

The digit's outline is taken at a low grey level, enlarged, and turned into a signed distance
field; growing or shrinking that field by half the change of width gives the stroke of a fine
ballpoint, a pencil or a felt-tip at any size, and shrinking it back with area averaging gives
anti-aliased edges. European 1s and 7s get their extra strokes drawn on the enlarged outline.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import reportset_paper as rp

logger = logging.getLogger(__name__)

MASTER_PX = 240  # strokes are modelled at about this glyph height, then shrunk (anti-aliased)
OUTLINE = 0.3  # MNIST grey level taken as the stroke's outline: faint scans keep their strokes


def stroke_width(binary: np.ndarray) -> float:
    """Mean stroke width of a 0/1 mask: twice the area over the outline length."""
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2 * float(binary.sum()) / max(outline, 1.0)


def continental(big: np.ndarray, label: int, width: float, rng: np.random.Generator) -> list[str]:
    """Continental forms on the master glyph: a 1's flag (sometimes a foot), a 7's crossbar, a
    9's straight tail, an open 4."""
    ys, xs = np.nonzero(big >= OUTLINE)
    top, bottom = int(ys.min()), int(ys.max())
    tall = bottom - top
    thick = max(1, round(width))
    if label == 1:
        tip = float(xs[ys <= top + 0.05 * tall].mean())
        turn, length = np.deg2rad(rng.uniform(35, 60)), rng.uniform(0.3, 0.45) * tall
        end = (round(tip - length * np.sin(turn)), round(top + length * np.cos(turn)))
        cv2.line(big, (round(tip), top + thick // 2), end, 1.0, thick)
        if rng.random() >= 0.4:
            return ["flag"]
        foot = float(xs[ys >= bottom - 0.05 * tall].mean())
        half = rng.uniform(0.2, 0.35) * tall
        cv2.line(
            big,
            (round(foot - half), bottom - thick // 2),
            (round(foot + half), bottom - thick // 2),
            1.0,
            thick,
        )
        return ["flag", "foot"]
    if label == 7:
        row = top + int(rng.uniform(0.45, 0.62) * tall)
        stem = xs[ys == row]
        if len(stem) == 0:
            return []
        centre = float(np.median(stem)) + rng.uniform(-0.05, 0.05) * tall
        half, tilt = rng.uniform(0.15, 0.23) * tall, np.tan(np.deg2rad(rng.uniform(-8, 8)))
        cv2.line(
            big,
            (round(centre - half), round(row + half * tilt)),
            (round(centre + half), round(row - half * tilt)),
            1.0,
            thick,
        )
        return ["crossbar"]
    if label == 9:
        return straight_tail(big, thick, rng)
    if label == 4:
        return open_top(big, xs, top, tall, thick, rng)
    return []


def straight_tail(big: np.ndarray, thick: int, rng: np.random.Generator) -> list[str]:
    """A 9 keeps its loop; the curled tail becomes a straight stroke down from the loop."""
    mask = (big >= OUTLINE).astype(np.uint8)
    contours, tree = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    inner = [c for c, t in zip(contours, tree[0] if contours else [], strict=True) if t[3] >= 0]
    if not inner:
        return []  # a loop left open: nothing to keep
    lx, ly, lw, lh = cv2.boundingRect(max(inner, key=cv2.contourArea))
    ys = np.nonzero(mask.any(axis=1))[0]
    bottom = int(ys.max())
    if lh < 0.12 * (bottom - ys.min()) or ly + lh + 2 * thick >= bottom:
        return []
    middle = ly + lh // 2
    side = np.nonzero(mask[middle, lx + lw :])[0]
    if len(side) == 0:
        return []
    x = lx + lw + float(side[: max(1, thick)].mean())
    big[ly + lh + thick :] = 0.0
    lean = rng.uniform(-0.15, 0.1) * (bottom - middle)
    cv2.line(big, (round(x), middle), (round(x + lean), bottom), 1.0, thick)
    return ["straight-tail"]


def open_top(
    big: np.ndarray, xs: np.ndarray, top: int, tall: int, thick: int, rng: np.random.Generator
) -> list[str]:
    """A 4 written open: an arm (upright to diagonal) that never meets the stem at the top."""
    middle = float(xs.mean())
    big[:] = 0.0
    stem = middle + rng.uniform(0.05, 0.18) * tall
    bar = top + rng.uniform(0.5, 0.7) * tall
    left = stem - rng.uniform(0.35, 0.55) * tall
    arm_x = left + rng.uniform(0.0, 0.3) * tall  # 0: upright arm, larger: a diagonal one
    start = top + rng.uniform(0.18, 0.4) * tall  # the stem starts below the arm's top
    points = [
        ((arm_x, top), (left, bar)),
        ((left, bar), (stem + rng.uniform(0.1, 0.25) * tall, bar)),
        ((stem, start), (stem, top + tall)),
    ]
    for a, b in points:
        cv2.line(big, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), 1.0, thick)
    return ["open-top"]


def glyph(
    image: np.ndarray,
    label: int,
    height: float,
    pen: rp.Pen,
    shear_deg: float,
    rng: np.random.Generator,
    european: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Ink coverage (0..1) of an MNIST digit `height` px tall, drawn with `pen`, sheared."""
    ys, xs = np.nonzero(image >= 40)
    crop = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255
    ss = float(np.clip(MASTER_PX / height, 1.5, 4.0))
    scale = height * ss / crop.shape[0]
    pad = round(0.5 * height * ss / scale)  # room for a flag, a thicker pen and the shear
    padded = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    big = cv2.resize(
        padded,
        (max(1, round(padded.shape[1] * scale)), max(1, round(padded.shape[0] * scale))),
        interpolation=cv2.INTER_CUBIC,
    )
    natural = stroke_width((big >= OUTLINE).astype(np.uint8))
    tags = continental(big, label, natural, rng) if european else []
    lean = np.tan(np.deg2rad(shear_deg))
    rows, cols = big.shape
    shear = np.array([[1, -lean, lean * rows / 2 + abs(lean) * rows / 2], [0, 1, 0]], np.float32)
    leaning = cv2.warpAffine(
        big, shear, (cols + int(abs(lean) * rows) + 1, rows), flags=cv2.INTER_LINEAR
    )
    binary = (leaning >= OUTLINE).astype(np.uint8)
    inside = cv2.distanceTransform(binary, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - binary, cv2.DIST_L2, 5)
    distance = np.where(binary > 0, inside - 0.5, 0.5 - outside)
    # Grow or shrink the outline by half the change of width; never thin a stroke away.
    wanted = max(pen.min_width_px, pen.width_share * height) * ss
    grow = max((wanted - natural) / 2, -0.3 * natural)
    fine = np.clip(distance + grow + 0.5, 0, 1).astype(np.float32)
    small = cv2.resize(
        fine,
        (max(1, round(fine.shape[1] / ss)), max(1, round(fine.shape[0] / ss))),
        interpolation=cv2.INTER_AREA,
    )
    ys, xs = np.nonzero(small > 0.02)
    return small[ys.min() : ys.max() + 2, xs.min() : xs.max() + 2], tags


def ink_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """x, y, w, h of the visible ink (coverage over one half)."""
    ys, xs = np.nonzero(alpha > 0.5)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
