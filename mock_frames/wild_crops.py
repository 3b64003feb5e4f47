"""Tight single-digit crops (kind `digit`) as a form reader or a grid-sheet cutter makes them.

A digit written in a printed form cell or a square of a grid sheet, often as big as the cell
and spilling over its lines, photographed, then cut along the cell (a little inside or
outside its border lines) or along the digit's own box. Strokes touch or cross the crop's
edge and bits of the cell's lines show at some edges. 28-120 px tall, JPEG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import render
import wild_ink

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
CELL_PX = 160  # the cell is drawn this tall, then the crop is shrunk to its final size


class Source(Protocol):
    def take(self) -> tuple[np.ndarray, int, int]: ...


def cell_lines(
    rng: np.random.Generator, shape: tuple[int, int], cell: Box, form: bool
) -> tuple[np.ndarray, render.Colour]:
    """Coverage of the printed lines: the cell's box and its neighbours', or the sheet's grid."""
    x0, y0, x1, y1 = cell
    lines = np.zeros(shape, np.float32)
    if form:  # printed boxes: dark and crisp, 0.5-1.5 px once shrunk
        width = rng.uniform(2.0, 6.0)
        strength = rng.uniform(0.7, 1.0)
        colour = [render.INK_BLACK, wild_ink.RULE_GREY, (0.55, 0.35, 0.2)][rng.choice(3)]
    else:  # the grid's faint squares
        width = rng.uniform(1.5, 4.0)
        strength = rng.uniform(0.4, 0.9)
        colour = [render.LINE_BLUE, wild_ink.RULE_GREY, wild_ink.GRID_GREEN][rng.choice(3)]
    half = width / 2
    step_x, step_y = x1 - x0, y1 - y0
    for x in np.arange(x0 - 3 * step_x, shape[1] + step_x, step_x):
        lines[:, max(0, int(x - half)) : max(0, int(np.ceil(x + half)))] = strength
    for y in np.arange(y0 - 3 * step_y, shape[0] + step_y, step_y):
        lines[max(0, int(y - half)) : max(0, int(np.ceil(y + half))), :] = strength
    return lines, colour


def digit_in_cell(
    rng: np.random.Generator,
    image: np.ndarray,
    shape: tuple[int, int],
    cell: Box,
    form: bool,
    pen: wild_ink.Pen,
) -> np.ndarray:
    """The digit's coverage: about the cell's size, slanted, off its centre."""
    x0, y0, x1, y1 = cell
    fill = rng.uniform(0.55, 1.0) if form else rng.uniform(0.65, 1.25)
    height = round((y1 - y0) * fill)
    g = wild_ink.restroke(render.glyph(image, height, rng), pen.width * height)
    slant = rng.uniform(-6, 6) if rng.random() < 0.5 else rng.uniform(6, 20)
    g = wild_ink.shear(g, slant)
    bx, by, bw, bh = render.tight(g)
    cx = (x0 + x1) / 2 + rng.normal(0, 0.08) * (x1 - x0)
    cy = (y0 + y1) / 2 + rng.normal(0, 0.08) * (y1 - y0)
    alpha = np.zeros(shape, np.float32)
    x, y = round(cx - bx - bw / 2), round(cy - by - bh / 2)
    h, w = g.shape
    xa, ya, xb, yb = max(x, 0), max(y, 0), min(x + w, shape[1]), min(y + h, shape[0])
    alpha[ya:yb, xa:xb] = g[ya - y : yb - y, xa - x : xb - x]
    return alpha


def crop_box(rng: np.random.Generator, cell: Box, ink: np.ndarray) -> tuple[Box, str]:
    """Where the cutter cuts: along the cell (a bit inside or outside) or along the digit."""
    ys, xs = np.nonzero(ink > 0.5)
    digit = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
    if rng.random() < 0.6:
        size, base, how = cell[3] - cell[1], cell, "cell"
    else:
        size, base, how = digit[3] - digit[1], digit, "digit-box"
    low, high = (-0.1, 0.1) if how == "cell" else (-0.06, 0.1)
    move = rng.uniform(low, high, 4) * size  # positive: outwards
    box = (base[0] - move[0], base[1] - move[1], base[2] + move[2], base[3] + move[3])
    return box, how


def readable(ink: np.ndarray, box: Box) -> bool:
    """At most a sliver of the digit is cut off: a person still reads what is left."""
    x0, y0, x1, y1 = (round(v) for v in box)
    ys, xs = np.nonzero(ink > 0.5)
    w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    cut = max(
        (x0 - xs.min()) / w, (xs.max() + 1 - x1) / w, (y0 - ys.min()) / h, (ys.max() + 1 - y1) / h
    )
    kept = ink[max(y0, 0) : y1, max(x0, 0) : x1].sum() / ink.sum()
    return cut <= 0.12 and kept >= 0.94


@dataclass
class Cell:
    """One written cell, drawn large: the printed lines and the digit, as coverage."""

    form: bool  # a printed form's box, or a square of a grid sheet
    shape: tuple[int, int]
    box: Box
    pen: wild_ink.Pen
    lines: np.ndarray
    line_colour: render.Colour
    ink: np.ndarray


def draw_cell(rng: np.random.Generator, image: np.ndarray) -> Cell:
    """A digit in a form cell or grid square, the sheet turned a few degrees under the camera."""
    form = rng.random() < 0.55
    aspect = rng.uniform(0.75, 1.35) if form else 1.0  # form cells are boxes of any width
    margin = 0.6 * CELL_PX
    box = (margin, margin, margin + CELL_PX * aspect, margin + CELL_PX)
    shape = (int(CELL_PX + 2 * margin), int(CELL_PX * aspect + 2 * margin))
    pen = wild_ink.pick_pen(rng)
    lines, line_colour = cell_lines(rng, shape, box, form)
    ink = digit_in_cell(rng, image, shape, box, form, pen)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    turn = cv2.getRotationMatrix2D(centre, rng.uniform(-4, 4), 1)
    lines = cv2.warpAffine(lines, turn, shape[::-1], flags=cv2.INTER_LINEAR)
    ink = cv2.warpAffine(ink, turn, shape[::-1], flags=cv2.INTER_LINEAR)
    return Cell(form, shape, box, pen, lines, line_colour, ink)


def cut(rng: np.random.Generator, cell: Cell) -> tuple[tuple[int, int, int, int], str]:
    """The crop's pixel box (x0, y0, x1, y1) and how it was found, keeping the digit readable."""
    for _attempt in range(30):
        box, how = crop_box(rng, cell.box, cell.ink)
        if readable(cell.ink, box):
            break
    else:
        ys, xs = np.nonzero(cell.ink > 0.5)
        box, how = (xs.min() - 4.0, ys.min() - 4.0, xs.max() + 5.0, ys.max() + 5.0), "digit-box"
    limits = cell.shape[::-1] * 2
    x0, y0, x1, y1 = (min(max(round(v), 0), lim) for v, lim in zip(box, limits, strict=True))
    return (x0, y0, x1, y1), how


def crop_file(rng: np.random.Generator, source: Source) -> tuple[bytes, dict[str, Any]]:
    """One JPEG crop of one digit and its expectation."""
    image, label, index = source.take()
    cell = draw_cell(rng, image)
    (x0, y0, x1, y1), how = cut(rng, cell)
    side = int(np.exp(rng.uniform(np.log(28), np.log(120))))
    size = (max(8, round(side * (x1 - x0) / (y1 - y0))), side)
    paper = [render.PAPER_WHITE, render.PAPER_CREAM, render.PAPER_GREY][
        rng.choice(3, p=[0.6, 0.3, 0.1])
    ]
    h, w = cell.shape
    sheet = render.paper(rng, paper, rng.uniform(0.01, 0.035))[:h, :w].copy()
    render.composite(sheet, cell.lines, 0, 0, cell.line_colour)
    pen = cell.pen
    render.composite(
        sheet, cell.ink * pen.intensity * wild_ink.grain(rng, (h, w), pen.grain), 0, 0, pen.colour
    )
    light, shadowed = window_light(rng, cell.shape, side / (y1 - y0))
    sheet *= light[:, :, None]
    small = cv2.resize(sheet[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    frame = render.sensor(small, rng, rng.uniform(0.0, 0.7), rng.uniform(1.0, 5.0))
    small_ink = cv2.resize(cell.ink[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    small_lines = cv2.resize(cell.lines[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    rim = np.concatenate([small_ink[0], small_ink[-1], small_ink[:, 0], small_ink[:, -1]])
    kept = cell.ink[y0:y1, x0:x1].sum() / cell.ink.sum()
    found = wild_ink.flagged(
        {
            "edge-touch": rim.max() > 0.4,
            "cut": kept < 0.995,
            "cell-border": small_lines.max() > 0.25,
            "tiny": side < 40,
            "shadow": shadowed,
        }
    )
    ys = np.nonzero((small_ink > 0.4).any(axis=1))[0]
    return render.jpeg(frame, int(rng.integers(55, 96))), {
        "value": str(label),
        "status": "ok",
        "kind": "digit",
        "digit_height_px": int(ys.max() - ys.min() + 1) if len(ys) else side,
        "crop_px": [size[0], size[1]],
        "mnist_test_indices": [index],
        "conditions": ["form" if cell.form else "grid", pen.name, how, *found],
    }


def window_light(
    rng: np.random.Generator, shape: tuple[int, int], scale: float
) -> tuple[np.ndarray, bool]:
    """The light over the cell: a window of a whole photo's lighting, at the photo's scale."""
    shadow = rng.uniform(0.25, 0.6) if rng.random() < 0.35 else 0.0
    brightness = rng.uniform(0.5, 1.05)
    shadow = min(shadow, 1 - 0.25 / brightness)  # as wild.pick_camera
    field = render.lighting(
        rng,
        brightness,
        rng.uniform(0.0, 0.7),
        rng.uniform(0.0, 0.4),
        shadow,
        rng.uniform(1, 10),
    )
    h = min(max(2, round(shape[0] * scale)), field.shape[0])
    w = min(max(2, round(shape[1] * scale)), field.shape[1])
    y = int(rng.integers(0, field.shape[0] - h + 1))
    x = int(rng.integers(0, field.shape[1] - w + 1))
    window = cv2.resize(field[y : y + h, x : x + w], shape[::-1], interpolation=cv2.INTER_LINEAR)
    return window, bool(window.min() / window.max() < 0.8)
