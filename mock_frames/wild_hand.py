"""Hands for the wild scenarios: how one writer lays out the digits of a number.

A hand is one writer's habits for a number: slant, how far the digits wander off the
baseline, how their sizes differ and how far apart they are put. write_number lays MNIST
glyphs out with those habits on a transparent strip, measuring gaps between the inks (not
their boxes), so digits can touch, cross a little or kern under each other's strokes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import render
import wild_ink
from wild_ink import Pen


@dataclass(frozen=True)
class Hand:
    slant_deg: float  # shear of the upright strokes; positive leans forward
    drift: list[float]  # each digit's baseline offset, share of the height (down positive)
    sizes: list[float]  # each digit's height factor
    gaps: list[float]  # aimed ink gap before each digit but the first, share of the height


def pick_hand(rng: np.random.Generator, count: int) -> Hand:
    """One writer's habits for one number, up to what real writing does."""
    if rng.random() < 0.4:
        slant = rng.uniform(-6, 6)
    else:
        slant = rng.uniform(6, 20) if rng.random() < 0.8 else -rng.uniform(6, 15)
    reach = rng.uniform(0, 0.1) if rng.random() < 0.35 else rng.uniform(0.1, 0.4)
    if rng.random() < 0.5:  # the baseline wanders: each digit a step from the last
        drift = [rng.uniform(-reach / 2, reach / 2)]
        for _ in range(count - 1):
            drift.append(float(np.clip(drift[-1] + rng.normal(0, reach * 0.7), -reach, reach)))
    else:  # digits jump up and down independently
        drift = [rng.uniform(-reach, reach) for _ in range(count)]
    if count == 1 or rng.random() < 0.4:  # a steady hand
        sizes = rng.uniform(1.0, 1.1, count)
    else:  # the smallest and the largest digit differ by 10-30 %
        spread = rng.uniform(0.1, 0.3)
        sizes = rng.permutation([1.0, 1.0 + spread, *rng.uniform(1.0, 1.0 + spread, count - 2)])
    habit = rng.choice(3, p=[0.3, 0.45, 0.25])
    gaps = [
        gap(rng, habit if rng.random() < 0.85 else int(rng.integers(3))) for _ in range(count - 1)
    ]
    if habit == 2 and gaps and max(gaps) < 1.0:
        gaps[int(rng.integers(len(gaps)))] = rng.uniform(1.0, 3.0)
    sizes = sizes / sizes.mean()
    return Hand(float(slant), [float(d) for d in drift], [float(v) for v in sizes], gaps)


def gap(rng: np.random.Generator, habit: int) -> float:
    """One ink gap: cramped (touching, even crossing a little), ordinary, or spread out."""
    if habit == 0:
        return rng.uniform(-0.04, 0.0) if rng.random() < 0.55 else rng.uniform(0.02, 0.15)
    if habit == 1:
        return rng.uniform(0.08, 0.6)
    return rng.uniform(0.3, 3.0)


@dataclass
class Written:
    """A number written on a transparent strip: coverage, baseline start and what happened."""

    alpha: np.ndarray
    anchor: tuple[float, float]  # (x, y) of the baseline where the first digit starts
    touching: bool
    widest_gap: float  # in digit heights
    boxes: list[tuple[int, int, int, int]]  # each digit's ink box (x, y, w, h) on the strip


def write_number(
    rng: np.random.Generator, images: list[np.ndarray], height: int, hand: Hand, pen: Pen
) -> Written:
    """Lay the digits left to right on a strip, each at its own size, slant, drift and gap."""
    glyphs = []
    for image, size in zip(images, hand.sizes, strict=True):
        g = render.glyph(image, max(8, round(height * size)), rng)
        g = wild_ink.restroke(g, pen.width * height)
        glyphs.append(wild_ink.shear(g, hand.slant_deg + rng.normal(0, 2.0)))
    pad = 4
    tallest = max(g.shape[0] for g in glyphs)
    baseline = tallest + height  # room above and below for any drift; trimmed at the end
    right = np.full(2 * tallest + 2 * height, -1e9)  # rightmost ink so far, per row
    spots: list[tuple[int, int]] = []
    inks: list[tuple[int, int, int, int]] = []
    prev_left = prev_right = prev_w = prev_h = 0.0
    touching, widest = False, 0.0
    for i, g in enumerate(glyphs):
        bx, by, bw, bh = render.tight(g)
        y = round(baseline + hand.drift[i] * height - (by + bh))
        rows = np.nonzero((g > 0.35).any(axis=1))[0]
        lefts = np.array([np.argmax(g[r] > 0.35) for r in rows])
        x = -bx
        if i > 0:
            target = hand.gaps[i - 1] * height
            seen = right[y + rows] > -1e8
            # Boxes overlap at most a quarter of the wider digit: kerned, never stacked.
            floor = max(round(prev_right - 0.25 * max(bw, prev_w) - bx), round(prev_left - bx) + 1)
            if seen.any():
                gaps = lefts[seen] - right[y + rows][seen]
                x = beside(gaps, target, floor, 0.2 * min(bh, prev_h))
                realised = float(np.min(x + gaps))
            else:
                x = max(round(prev_right + target - bx), floor)
                realised = x + bx - prev_right
            touching |= realised <= 1.0  # strokes meet, or merge once blurred
            widest = max(widest, realised / height)
        w = g.shape[1]
        rights = np.array([w - 1 - np.argmax(g[r, ::-1] > 0.35) for r in rows])
        right[y + rows] = np.maximum(right[y + rows], x + rights)
        spots.append((x, y))
        inks.append((x + bx, y + by, bw, bh))
        prev_left, prev_right, prev_w, prev_h = x + bx, x + bx + bw, bw, bh
    dx, dy = pad - min(x for x, _ in spots), pad - min(y for _, y in spots)
    width = max(x + g.shape[1] for (x, _), g in zip(spots, glyphs, strict=True)) + dx + pad
    depth = max(y + g.shape[0] for (_, y), g in zip(spots, glyphs, strict=True)) + dy + pad
    strip = np.zeros((depth, width), np.float32)
    for (x, y), g in zip(spots, glyphs, strict=True):
        patch = strip[y + dy : y + dy + g.shape[0], x + dx : x + dx + g.shape[1]]
        np.maximum(patch, g, out=patch)
    boxes = [(x + dx, y + dy, w, h) for x, y, w, h in inks]
    return Written(strip, (float(dx), baseline + dy), touching, widest, boxes)


def beside(gaps: np.ndarray, target: float, floor: int, contact_rows: float) -> int:
    """Where the next digit goes: its ink `target` px from the ink before it, row by row.

    gaps: per shared row, the next digit's leftmost ink minus the ink before it, at x = 0.
    Touching digits meet at a point, not along a stroke: strokes glued side by side over a
    long stretch read as one digit, so the digit moves right until they meet on at most
    `contact_rows` rows.
    """
    x = max(round(target - float(np.min(gaps))), floor)
    while np.count_nonzero(x + gaps <= 1.5) > contact_rows:
        x += 1
    return x
