"""Flaws of real pages, for the tuning renderer's `wild-flawed` scenarios.

A page under a camera is seldom clean: the punched holes of a ring binder with the table
showing through, a fold, the sheet's edge with the desk beyond it, a coffee ring or a drop,
dust and eraser crumbs, a hair, the glare of a lamp on glossy paper. They are drawn on the
flat sheet before the camera takes it, so the camera warps, lights, blurs and compresses them
with the page (the glare is light the camera adds to the lit page, so it may saturate). Flaws
that would change what is written (a hole, the page's end, a stain, a hair, glare) keep clear
of the writing; a fold and specks may run under it. Tuning frames like the rest of wild.py.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import render
from render import FRAME_H, FRAME_W

FLAWS = ("holes", "fold", "page-edge", "stain", "specks", "hair", "glare")
# What shows through a hole or past the page's end: wood, grey, light and black desks (BGR).
DESKS = ((0.16, 0.24, 0.35), (0.33, 0.33, 0.33), (0.59, 0.63, 0.67), (0.1, 0.1, 0.1))
COFFEE = (0.24, 0.41, 0.59)
PLACEMENTS = 20  # tries to place a flaw clear of the writing


def add_flaws(
    rng: np.random.Generator, sheet: np.ndarray, writing: np.ndarray | None
) -> tuple[list[str], np.ndarray | None]:
    """Draw one or two flaws on `sheet` (HxWx3 float, in place), those that must keep clear of
    the writing away from `writing` (HxW bool: the ink and a margin round it; None on a blank
    page). Returns the names of the flaws drawn (a flaw with no room left is not drawn) and
    the glare, if any: HxW, the share of the way to beyond white, for the camera to add."""
    clear = np.zeros((FRAME_H, FRAME_W), bool) if writing is None else writing
    count = 1 if rng.random() < 0.7 else 2
    drawn, shine = [], None
    for name in rng.choice(FLAWS, count, replace=False):
        if name == "glare":
            shine = glare(rng, clear)
            if shine is not None:
                drawn.append("glare")
        elif DRAW[str(name)](rng, sheet, clear):
            drawn.append(str(name))
    return drawn, shine


def glare(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray | None:
    """A lamp's or a window's reflection: a soft bright patch, round or drawn out."""

    def shape(rng: np.random.Generator) -> np.ndarray:
        alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
        radius = rng.uniform(12, 90)
        centre = (rng.uniform(0, FRAME_W), rng.uniform(0, FRAME_H))
        axes = (2 * radius, 2 * radius * rng.uniform(0.3, 1.0))
        cv2.ellipse(alpha, (centre, axes, rng.uniform(0, 180)), 1.0, -1, cv2.LINE_AA)
        soft = cv2.GaussianBlur(alpha, (0, 0), radius * rng.uniform(0.15, 0.4))
        return np.clip(soft * rng.uniform(0.8, 1.4), 0, 1)

    return placed(rng, clear, shape)


def placed(
    rng: np.random.Generator, clear: np.ndarray, shape: Callable[[np.random.Generator], np.ndarray]
) -> np.ndarray | None:
    """An alpha mask from `shape` that does not touch the writing, or None."""
    for _ in range(PLACEMENTS):
        alpha = shape(rng)
        if not np.any((alpha > 0.02) & clear):
            return alpha
    return None


def laid(
    rng: np.random.Generator,
    sheet: np.ndarray,
    clear: np.ndarray,
    shape: Callable[[np.random.Generator], np.ndarray],
    colour: render.Colour,
) -> bool:
    """Lay a flaw of `colour` placed clear of the writing; False when it found no room."""
    alpha = placed(rng, clear, shape)
    if alpha is None:
        return False
    render.composite(sheet, alpha, 0, 0, colour)
    return True


def holes(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """Two to four holes of a ring binder along the left or right side; the desk shows through."""
    count = int(rng.choice([2, 3, 4]))
    desk = DESKS[int(rng.integers(len(DESKS)))]

    def shape(rng: np.random.Generator) -> np.ndarray:
        alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
        radius = rng.uniform(6, 12)
        inset = rng.uniform(radius + 4, 45)
        x = inset if rng.random() < 0.5 else FRAME_W - inset
        pitch = rng.uniform(0.22, 0.3) * FRAME_H if count > 2 else rng.uniform(0.45, 0.7) * FRAME_H
        top = rng.uniform(-0.2, 0.2) * FRAME_H + (FRAME_H - pitch * (count - 1)) / 2
        for k in range(count):
            centre = (int(x * 16), int((top + k * pitch) * 16))
            cv2.circle(alpha, centre, int(radius * 16), 1.0, -1, cv2.LINE_AA, shift=4)
        return alpha

    return laid(rng, sheet, clear, shape, desk)


def fold(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """A fold across the page parallel to a side (it may cross the writing), or a dog-ear: a
    corner folded over, clear of the writing."""
    if rng.random() < 0.7:
        across = rng.random() < 0.5
        at = rng.uniform(0.15, 0.85) * (FRAME_H if across else FRAME_W)
        lean = np.tan(np.radians(rng.uniform(-2, 2)))
        ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
        offset = (ys - at - lean * xs) if across else (xs - at - lean * ys)
        side = (offset > 0).astype(np.float32)
        sheet *= (1 - rng.uniform(0.01, 0.07) * side)[
            :, :, None
        ]  # the far side turned a little away
        crease = np.exp(-0.5 * (offset / rng.uniform(0.6, 1.2)) ** 2) * rng.uniform(0.08, 0.25)
        ridge = np.exp(-0.5 * ((offset - rng.uniform(1.5, 3)) / 1.2) ** 2) * rng.uniform(0.1, 0.3)
        render.composite(sheet, crease.astype(np.float32), 0, 0, (0, 0, 0))
        render.composite(sheet, ridge.astype(np.float32), 0, 0, (1, 1, 1))
        return True

    def corner(rng: np.random.Generator) -> np.ndarray:
        alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
        a, b = rng.uniform(40, 130), rng.uniform(40, 130)
        cx = 0 if rng.random() < 0.5 else FRAME_W
        cy = 0 if rng.random() < 0.5 else FRAME_H
        points = np.array([(cx, cy), (abs(cx - a), cy), (cx, abs(cy - b))], np.float32).reshape(
            -1, 1, 2
        )
        cv2.fillPoly(alpha, [np.round(points * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        return alpha

    alpha = placed(rng, clear, corner)
    if alpha is None:
        return False
    back = rng.uniform(0.75, 0.95)  # the back of the sheet, in the fold's shadow
    shadow = cv2.GaussianBlur(alpha, (0, 0), 3) * 0.3
    render.composite(sheet, shadow, 0, 0, (0, 0, 0))
    sheet *= (1 - (1 - back) * alpha)[:, :, None]
    return True


def page_edge(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """The sheet ends before the frame does: past a straight edge, the desk, in the page's
    soft shadow, sometimes with a wood grain."""
    desk = np.asarray(DESKS[int(rng.integers(len(DESKS)))], np.float32)
    ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)

    def shape(rng: np.random.Generator) -> np.ndarray:
        depth, lean = rng.uniform(12, 100), rng.uniform(-0.08, 0.08)
        side = int(rng.integers(4))
        beyond = (
            depth - xs + lean * ys,
            xs - (FRAME_W - depth) + lean * ys,
            depth - ys + lean * xs,
            ys - (FRAME_H - depth) + lean * xs,
        )[side]
        return np.clip(beyond / 1.5 + 0.5, 0, 1).astype(np.float32)

    alpha = placed(rng, clear, shape)
    if alpha is None:
        return False
    grain = 1 + (rng.random() < 0.4) * 0.12 * np.sin(ys / rng.uniform(3, 9) + xs * 0.03)
    shade = 1 - 0.35 * cv2.GaussianBlur(alpha, (0, 0), 4)  # the page's shadow on the desk
    table = desk[None, None, :] * (grain * shade)[:, :, None]
    sheet[:] = sheet * (1 - alpha[:, :, None]) + table * alpha[:, :, None]
    return True


def stain(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """A coffee cup's ring (darker at its rim, uneven, tinted inside) or a dried drop."""
    ring = rng.random() < 0.6

    def shape(rng: np.random.Generator) -> np.ndarray:
        alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
        radius = rng.uniform(50, 150) if ring else rng.uniform(8, 30)
        centre = (rng.uniform(0, FRAME_W), rng.uniform(0, FRAME_H))
        axes = (radius, radius * rng.uniform(0.85, 1.0))
        angle = rng.uniform(0, 180)
        inside = np.zeros_like(alpha)
        cv2.ellipse(inside, (centre, (2 * axes[0], 2 * axes[1]), angle), 1.0, -1, cv2.LINE_AA)
        rim = np.zeros_like(alpha)
        width = int(rng.integers(2, 6)) if ring else 1
        cv2.ellipse(rim, (centre, (2 * axes[0], 2 * axes[1]), angle), 1.0, width, cv2.LINE_AA)
        ys, xs = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
        around = np.arctan2(ys - centre[1], xs - centre[0])
        uneven = np.clip(0.6 + 0.5 * np.sin(around * rng.integers(1, 4) + rng.uniform(0, 6)), 0, 1)
        alpha = rng.uniform(0.25, 0.6) * rim * uneven + rng.uniform(0.04, 0.15) * inside
        return cv2.GaussianBlur(alpha, (0, 0), rng.uniform(0.8, 2.0))

    return laid(rng, sheet, clear, shape, COFFEE)


def specks(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """Dust, eraser crumbs and pencil dots, anywhere."""
    alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
    for _ in range(int(rng.integers(10, 60))):
        centre = (int(rng.uniform(0, FRAME_W) * 16), int(rng.uniform(0, FRAME_H) * 16))
        radius = int(rng.uniform(0.6, 1.8) * 16)
        cv2.circle(alpha, centre, radius, float(rng.uniform(0.3, 0.9)), -1, cv2.LINE_AA, shift=4)
    render.composite(sheet, alpha, 0, 0, (0.2, 0.2, 0.2))
    return True


def hair(rng: np.random.Generator, sheet: np.ndarray, clear: np.ndarray) -> bool:
    """A hair or a fibre lying on the page, clear of the writing."""

    def shape(rng: np.random.Generator) -> np.ndarray:
        alpha = np.zeros((FRAME_H, FRAME_W), np.float32)
        x, y = rng.uniform(0, FRAME_W), rng.uniform(0, FRAME_H)
        heading, points = rng.uniform(0, 2 * np.pi), []
        for _ in range(int(rng.uniform(30, 150))):
            points.append((x * 16, y * 16))
            heading += rng.normal(0, 0.08)
            x, y = x + np.cos(heading), y + np.sin(heading)
        line = np.round(np.array(points)).astype(np.int32)
        cv2.polylines(alpha, [line], False, float(rng.uniform(0.5, 0.9)), 1, cv2.LINE_AA, shift=4)
        return alpha

    return laid(rng, sheet, clear, shape, (0.12, 0.12, 0.12))


DRAW: dict[str, Callable[[np.random.Generator, np.ndarray, np.ndarray], bool]] = {
    "holes": holes,
    "fold": fold,
    "page-edge": page_edge,
    "stain": stain,
    "specks": specks,
    "hair": hair,
}
