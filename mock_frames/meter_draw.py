"""Drawing for the meter mock frames: a water-meter faceplate, a 7-segment LCD, glare, the box.

Scenes are drawn flat in frame coordinates (float BGR, 0..1) and seen through
`render.camera_matrix`; `region_box` then finds the axis-aligned region a user would draw
on the frame and checks that cutting it into equal cells gives each wheel or digit its own.
Segments are our own polygons rather than a font, so frames do not depend on installed fonts.
"""

from __future__ import annotations

import cv2
import numpy as np
import render
from render import FRAME_H, FRAME_W

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in flat (pre-camera) coordinates
CENTRE = (FRAME_W / 2, FRAME_H / 2)

SEGMENTS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}


def blend(sheet: np.ndarray, mask: np.ndarray, colour: render.Colour, strength: float) -> None:
    """Lay `colour` over the whole-frame uint8 coverage `mask` at `strength`."""
    render.composite(sheet, mask.astype(np.float32) * (strength / 255), 0, 0, colour)


def text(
    sheet: np.ndarray,
    s: str,
    xy: tuple[float, float],
    scale: float,
    colour: render.Colour,
    thickness: int = 1,
    centred: bool = False,
) -> None:
    """Printed lettering (Hershey font, always available), optionally centred on `xy`."""
    font = cv2.FONT_HERSHEY_SIMPLEX if thickness < 2 else cv2.FONT_HERSHEY_DUPLEX
    (w, h), _ = cv2.getTextSize(s, font, scale, thickness)
    x, y = xy
    if centred:
        x, y = x - w / 2, y + h / 2
    mask = np.zeros((FRAME_H, FRAME_W), np.uint8)
    cv2.putText(mask, s, (round(x), round(y)), font, scale, 255, thickness, cv2.LINE_AA)
    blend(sheet, mask, colour, 1.0)


def face_background(rng: np.random.Generator, radius: float) -> tuple[np.ndarray, render.Colour]:
    """Meter housing (brass, black or blue plastic), bezel ring and a printed dial face."""
    housing = [(0.30, 0.52, 0.66), (0.12, 0.12, 0.13), (0.50, 0.28, 0.12)][int(rng.integers(3))]
    face_colour: render.Colour = [(0.93, 0.94, 0.94), (0.82, 0.91, 0.94), (0.94, 0.88, 0.80)][
        int(rng.integers(3))
    ]
    sheet = render.paper(rng, housing, 0.03)
    face = render.paper(rng, face_colour, 0.012)
    centre = (round(CENTRE[0]), round(CENTRE[1]))
    mask = np.zeros((FRAME_H, FRAME_W), np.uint8)
    cv2.circle(mask, centre, round(radius + 20), 255, -1, cv2.LINE_AA)
    blend(sheet, mask, (0.10, 0.10, 0.11), 0.95)  # bezel
    mask[:] = 0
    cv2.circle(mask, centre, round(radius), 255, -1, cv2.LINE_AA)
    alpha = mask.astype(np.float32)[:, :, None] / 255
    sheet[:] = sheet * (1 - alpha) + face * alpha
    mask[:] = 0
    cv2.circle(mask, centre, round(radius - 10), 255, 1, cv2.LINE_AA)
    blend(sheet, mask, render.INK_BLACK, 0.7)
    return sheet, face_colour


def small_dial(sheet: np.ndarray, centre: tuple[float, float], turn: float, label: str) -> None:
    """A litre pointer dial: ring, ten ticks, a red pointer `turn` of a revolution round."""
    cx, cy = centre
    mask = np.zeros((FRAME_H, FRAME_W), np.uint8)
    cv2.circle(mask, (round(cx), round(cy)), 24, 255, 1, cv2.LINE_AA)
    for k in range(10):
        a = 2 * np.pi * k / 10
        p0 = (round(cx + 19 * np.sin(a)), round(cy - 19 * np.cos(a)))
        p1 = (round(cx + 23 * np.sin(a)), round(cy - 23 * np.cos(a)))
        cv2.line(mask, p0, p1, 255, 1, cv2.LINE_AA)
    blend(sheet, mask, render.INK_BLACK, 0.85)
    a = 2 * np.pi * turn
    tip = np.array([cx + 20 * np.sin(a), cy - 20 * np.cos(a)])
    side = np.array([np.cos(a), np.sin(a)]) * 3.5
    tail = np.array([cx - 6 * np.sin(a), cy + 6 * np.cos(a)])
    poly = np.array([tip, tail + side, tail - side]) * 16
    mask[:] = 0
    cv2.fillPoly(mask, [poly.astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    blend(sheet, mask, (0.15, 0.15, 0.75), 1.0)
    text(sheet, label, (cx, cy + 36), 0.35, render.INK_BLACK, centred=True)


def counter_face(
    rng: np.random.Generator, digits: int, decimals: int, wheel: tuple[int, int], sep: int
) -> tuple[np.ndarray, list[Rect], list[Rect]]:
    """The faceplate with an empty counter window; returns it, the cells and the wheel slots.

    Cells are `sep` wider than a wheel, so a wheel sits centred in its cell with half a
    separator either side and equal cells of the region split exactly between wheels.
    """
    ww, wh = wheel
    pitch = ww + sep
    left, top = CENTRE[0] - digits * pitch / 2, CENTRE[1] - wh / 2 - 20
    radius = 218.0
    sheet, _ = face_background(rng, radius)
    ink = render.INK_BLACK
    x0, x1 = round(left - 7), round(left + digits * pitch + 7)
    y0, y1 = round(top - 9), round(top + wh + 9)
    mask = np.zeros((FRAME_H, FRAME_W), np.uint8)
    cv2.rectangle(mask, (x0 - 4, y0 - 4), (x1 + 4, y1 + 4), 255, -1)
    blend(sheet, mask, (0.55, 0.56, 0.57), 1.0)  # the window's moulded rim
    mask[:] = 0
    cv2.rectangle(mask, (x0, y0), (x1, y1), 255, -1)
    blend(sheet, mask, (0.05, 0.05, 0.06), 1.0)
    if decimals:
        first = left + (digits - decimals) * pitch
        mask[:] = 0
        cv2.rectangle(mask, (round(first), y1 + 6), (x1 - 2, y1 + 10), 255, -1)
        blend(sheet, mask, (0.12, 0.12, 0.70), 0.9)  # red bar: these wheels are decimals
        text(sheet, ",", (first - 6, y1 + 8), 0.9, ink, 2)
    text(sheet, "m3", (x1 - 34, y0 - 8), 0.6, ink, 2)
    brand = ["HYDROMET", "AQUATEC", "SENSOFLO"][int(rng.integers(3))]
    text(sheet, brand, (CENTRE[0], y0 - 62), 0.75, ink, 2, centred=True)
    q3 = ["Q3 = 2,5 m3/h  R160-H", "Q3 = 4 m3/h  R100-H", "Q3 = 1,6 m3/h  R80"]
    text(sheet, q3[int(rng.integers(3))], (CENTRE[0], y0 - 30), 0.5, ink, centred=True)
    serial = f"Nr {int(rng.integers(10**7, 10**8))}   M{int(rng.integers(14, 22))} 0102"
    text(sheet, serial, (CENTRE[0], y1 + 96), 0.45, ink, centred=True)
    text(sheet, "DN20  T30  MAP16  ISO 4064", (CENTRE[0], y1 + 118), 0.4, ink, centred=True)
    cells = [(left + i * pitch, top, left + (i + 1) * pitch, top + wh) for i in range(digits)]
    slots = [(cx0 + sep / 2, cy0, cx0 + sep / 2 + ww, cy1) for cx0, cy0, _, cy1 in cells]
    return sheet, cells, slots


def segment_polygons(w: float, h: float, t: float) -> dict[str, np.ndarray]:
    """Hexagonal segments a-g of an upright w x h digit with stroke `t`, small gaps between."""
    gap, half = 0.12 * t, t / 2

    def segment(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        along = np.sign([x1 - x0, y1 - y0]) * half
        across = np.array([-along[1], along[0]])
        p0, p1 = np.array([x0, y0]), np.array([x1, y1])
        near, far = p0 + along, p1 - along
        return np.array([p0, near + across, far + across, p1, far - across, near - across])

    top, mid, bottom, left, right = half, h / 2, h - half, half, w - half
    return {
        "a": segment(left + gap, top, right - gap, top),
        "g": segment(left + gap, mid, right - gap, mid),
        "d": segment(left + gap, bottom, right - gap, bottom),
        "f": segment(left, top + gap, left, mid - gap),
        "b": segment(right, top + gap, right, mid - gap),
        "e": segment(left, mid + gap, left, bottom - gap),
        "c": segment(right, mid + gap, right, bottom - gap),
    }


UNIT_W_PER_SCALE = 62.0  # "kWh" in FONT_HERSHEY_DUPLEX, 2 px strokes, at scale 1


def lcd_face(
    rng: np.random.Generator, value: str, decimals: int, height: int
) -> tuple[np.ndarray, list[Rect], list[Rect]]:
    """An electricity-meter LCD showing `value` (digits only); returns the sheet, cells, digits.

    The panel shows every segment faintly (unlit LCD segments are never quite invisible), a
    decimal point in each gap with the one before the last `decimals` digits lit.
    """
    digits = len(value)
    w, t = 0.52 * height, 0.14 * height
    slant = np.tan(np.radians(rng.uniform(0, 8)))
    gap = 0.28 * height
    ink_w = w + slant * height
    pitch = ink_w + gap
    unit_scale = height / 75
    # The width "kWh" takes, as a number: OpenCV's getTextSize measures Hershey text a few
    # pixels differently from one release to the next (5.1 vs 5.0), and the digits' cells and
    # the region's box in expected.json must not move with it.
    unit_w = UNIT_W_PER_SCALE * unit_scale
    left, top = CENTRE[0] - (digits * pitch + unit_w) / 2, CENTRE[1] - height / 2
    body: render.Colour = [(0.85, 0.86, 0.86), (0.18, 0.18, 0.19), (0.62, 0.64, 0.63)][
        int(rng.integers(3))
    ]
    panel: render.Colour = tuple(  # type: ignore[assignment]
        np.array([0.60, 0.70, 0.64]) * rng.uniform(0.85, 1.1) + rng.uniform(-0.04, 0.04, 3)
    )
    segment: render.Colour = (0.12, 0.15, 0.13)
    sheet = render.paper(rng, body, 0.02)
    px0 = round(left - 0.35 * height)
    px1 = round(left + digits * pitch + 0.1 * height + unit_w + 0.2 * height)
    py0, py1 = round(top - 0.3 * height), round(top + 1.3 * height)
    mask = np.zeros((FRAME_H, FRAME_W), np.uint8)
    cv2.rectangle(mask, (px0 - 8, py0 - 8), (px1 + 8, py1 + 8), 255, -1)
    blend(sheet, mask, (0.08, 0.08, 0.09), 0.9)  # the window's bezel
    mask[:] = 0
    cv2.rectangle(mask, (px0, py0), (px1, py1), 255, -1)
    glass = render.paper(rng, panel, 0.015)
    alpha = mask.astype(np.float32)[:, :, None] / 255
    sheet[:] = sheet * (1 - alpha) + glass * alpha
    lit, ghost = np.zeros_like(mask), np.zeros_like(mask)
    polygons = segment_polygons(w, height, t)
    cells, slots = [], []
    for i, ch in enumerate(value):
        x0 = left + i * pitch + gap / 2
        cells.append((left + i * pitch, top, left + (i + 1) * pitch, top + height))
        slots.append((x0, top, x0 + ink_w, top + height))
        for name, poly in polygons.items():
            xy = poly + np.array([x0, top])
            xy[:, 0] += slant * (height - poly[:, 1])
            target = lit if name in SEGMENTS[ch] else ghost
            cv2.fillPoly(target, [(xy * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        if i < digits - 1:  # the point sits in the gap, inside this digit's cell
            dot = (round((x0 + w + gap * 0.22) * 16), round((top + height - t / 2) * 16))
            target = lit if i == digits - decimals - 1 else ghost
            cv2.circle(target, dot, round(t * 0.45 * 16), 255, -1, cv2.LINE_AA, shift=4)
    blend(sheet, ghost, segment, rng.uniform(0.05, 0.13))
    blend(sheet, lit, segment, rng.uniform(0.82, 0.95))
    text(sheet, "kWh", (left + digits * pitch + 0.1 * height, top + height), unit_scale, segment, 2)
    label = (0.85, 0.85, 0.85) if body[0] < 0.5 else render.INK_BLACK
    rating = "1000 imp/kWh   230 V  10(60) A  50 Hz"
    text(sheet, rating, (CENTRE[0], py1 + 40), 0.45, label, centred=True)
    serial = f"Cl. {['A', 'B', '1'][int(rng.integers(3))]}   No {int(rng.integers(10**8))}"
    text(sheet, serial, (CENTRE[0], py0 - 30), 0.5, label, centred=True)
    return sheet, cells, slots


def glare(image: np.ndarray, rng: np.random.Generator, strength: float) -> None:
    """A soft specular reflection off the cover glass, added in camera space."""
    mask = np.zeros((FRAME_H // 4, FRAME_W // 4), np.float32)
    centre = (
        round(rng.uniform(0.25, 0.75) * FRAME_W / 4),
        round(rng.uniform(0.25, 0.75) * FRAME_H / 4),
    )
    axes = (round(rng.uniform(6, 22)), round(rng.uniform(3, 9)))
    cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(2, 5))
    mask = cv2.resize(mask, (FRAME_W, FRAME_H), interpolation=cv2.INTER_CUBIC)
    image += strength * np.clip(mask, 0, 1)[:, :, None] * np.float32([0.95, 0.98, 1.0])


def region_box(
    matrix: np.ndarray, cells: list[Rect], slots: list[Rect], margin: int = 2
) -> list[int] | None:
    """The [x, y, w, h] a user draws round the wheels in the frame, or None if it fails.

    x spans the outer cell edges as the camera sees them, y every slot's corners plus
    `margin`; it fails when the equal split would cut into a wheel (too much tilt) or the
    box leaves the frame.
    """
    n = len(cells)
    mid = (cells[0][1] + cells[0][3]) / 2
    edges = np.float32([[(cells[0][0], mid), (cells[-1][2], mid)]])
    (left, _), (right, _) = cv2.perspectiveTransform(edges, matrix)[0]
    corners = np.float32([[(x, y) for x in (s[0], s[2]) for y in (s[1], s[3])] for s in slots])
    seen = cv2.perspectiveTransform(corners.reshape(1, -1, 2), matrix)[0].reshape(n, 4, 2)
    x0, x1 = round(float(left)), round(float(right))
    y0 = int(np.floor(seen[:, :, 1].min())) - margin
    y1 = int(np.ceil(seen[:, :, 1].max())) + margin
    width = x1 - x0
    for i in range(n):
        lo, hi = x0 + i * width / n, x0 + (i + 1) * width / n
        if seen[i, :, 0].min() < lo + 0.5 or seen[i, :, 0].max() > hi - 0.5:
            return None
    if x0 < 0 or y0 < 0 or x1 > FRAME_W or y1 > FRAME_H:
        return None
    return [x0, y0, width, y1 - y0]
