"""The REPORT frames: a second renderer, used only to measure the reader and never to tune it.

    frames = report_frames("numbers", images, labels, count=300, seed=5150)

Built apart from the tuning renderer (generate.py + render.py): its own stroke model (a
signed distance field around the MNIST ink gives pencil, ballpoint and felt-tip widths), its
own layout (digits placed along a straight or slanted baseline, wandering off it, sheared,
touching or far apart) and its own paper, light and camera (reportset_paper.py). MNIST test
images 5000-9999 by default (the vision core was tuned on 0-4999); each scenario draws them
in its own seeded order, none twice until the range is used up. Every frame is fixed by
(seed, scenario, frame number) and the frames before it in its scenario.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, NamedTuple

import cv2
import numpy as np
import reportset_paper as rp
from reportset_glyph import glyph, ink_box

logger = logging.getLogger(__name__)

SCENARIOS = ("numbers", "single", "crops", "continental", "blank")
CONTINENTAL = (1, 4, 7, 9)  # the digits the continental scenario writes in European forms
FIRST_INDEX, END_INDEX = 5000, 10000
EDGE_PX = 40  # flat-sheet margin that keeps the writing inside the photo after the warp


class ReportFrame(NamedTuple):
    name: str
    data: bytes  # JPEG
    expected: dict[str, Any]


class Pool:
    """MNIST test indices in a seeded order; `group` 'continental' holds the digits written
    differently on the Continent (1, 4, 7, 9), 'other' the rest."""

    def __init__(self, labels: np.ndarray, first: int, end: int, rng: np.random.Generator):
        span = np.arange(first, min(end, len(labels)))
        if len(span) == 0:
            raise ValueError(f"no MNIST test images in [{first}, {end})")
        flag = np.isin(labels[span], CONTINENTAL)
        self.order = {
            "any": rng.permutation(span),
            "continental": rng.permutation(span[flag]),
            "other": rng.permutation(span[~flag]),
        }
        self.taken = dict.fromkeys(self.order, 0)

    def take(self, group: str = "any") -> int:
        order = self.order[group]
        index = int(order[self.taken[group] % len(order)])
        self.taken[group] += 1
        return index


def lay_row(
    glyphs: list[np.ndarray],
    gaps: list[float],
    wander: list[float],
    angle_deg: float,
    rng: np.random.Generator,
) -> list[np.ndarray] | None:
    """Each glyph's coverage on the sheet, left to right along a baseline; None if it won't fit."""
    c, s = np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))
    boxes = [ink_box(g) for g in glyphs]
    along, shifts, corners, last = 0.0, [], [], -np.inf
    for i, (bx, by, bw, bh) in enumerate(boxes):
        centre = (along + bw / 2) * c - (wander[i] - bh / 2) * s
        if centre < last + 2:  # on a slanted line, each digit's centre still lies right of the last
            along += (last + 2 - centre) / c
        last = (along + bw / 2) * c - (wander[i] - bh / 2) * s
        # Glyph pixel (x, y) -> baseline frame (u along, v below the line); ink bottom at wander.
        a, b = along - bx, wander[i] - by - bh
        shifts.append((a, b))
        for u in (along, along + bw):
            corners += [(u * c - v * s, u * s + v * c) for v in (wander[i] - bh, wander[i])]
        along += bw + (gaps[i] if i < len(gaps) else 0)
    pts = np.array(corners)
    span_x = (EDGE_PX - pts[:, 0].min(), rp.WIDTH - EDGE_PX - pts[:, 0].max())
    span_y = (EDGE_PX - pts[:, 1].min(), rp.HEIGHT - EDGE_PX - pts[:, 1].max())
    if span_x[0] > span_x[1] or span_y[0] > span_y[1]:
        return None
    tx, ty = rng.uniform(*span_x), rng.uniform(*span_y)
    placed = []
    for g, (a, b) in zip(glyphs, shifts, strict=True):
        matrix = np.array([[c, -s, c * a - s * b + tx], [s, c, s * a + c * b + ty]], np.float32)
        placed.append(cv2.warpAffine(g, matrix, (rp.WIDTH, rp.HEIGHT), flags=cv2.INTER_LINEAR))
    return placed


def write_number(
    rng: np.random.Generator,
    picks: list[tuple[np.ndarray, int]],
    pen: rp.Pen,
    single: bool,
    european: bool,
) -> tuple[list[np.ndarray], list[str]]:
    """Per-digit sheet coverage of one handwritten number and the conditions that shaped it."""
    span = (24, 180) if single else (26, 120)
    height = float(np.exp(rng.uniform(np.log(span[0]), np.log(span[1]))))
    shear = rng.uniform(-20, 20)
    sizes = 1 + rng.uniform(-0.5, 0.5, len(picks)) * rng.uniform(0, 0.3)
    drift = rng.uniform(0, 0.4)
    wander = list(rng.uniform(-drift, drift, len(picks)))
    angle = 0.0 if rng.random() < 0.5 else rng.choice([-1, 1]) * rng.uniform(4, 15)
    style = rng.choice(["touching", "normal", "wide"], p=[0.2, 0.55, 0.25])
    low, high = {"touching": (-0.08, 0.03), "normal": (0.1, 0.6), "wide": (0.8, 3.0)}[style]
    shares = rng.uniform(low, high, len(picks) - 1)
    tags = [] if single else [f"gaps-{style}"]
    tags += ["slant"] if abs(shear) > 10 else []
    tags += ["wander"] if drift > 0.2 and not single else []
    tags += ["slanted-baseline"] if angle and not single else []
    squeeze = 1.0
    for _ in range(30):  # shrink the writing, then the gaps, until the number fits the sheet
        glyphs, extra = [], set()
        for (image, label), size in zip(picks, sizes, strict=True):
            g, marks = glyph(image, label, height * size, pen, shear, rng, european)
            glyphs.append(g)
            extra.update(marks)
        gaps = [share * height * squeeze for share in shares]
        placed = lay_row(glyphs, gaps, [w * height for w in wander], angle, rng)
        if placed is not None:
            return placed, tags + sorted(extra) + [
                "small" if height < 32 else "medium" if height < 100 else "large"
            ]
        if height > 26:
            height *= 0.88
        else:
            squeeze *= 0.75
    raise RuntimeError("a number could not be laid out on the sheet")


def photo_boxes(placed: list[np.ndarray], camera: rp.Camera) -> list[list[int]]:
    """Each digit's ink box in photo pixels."""
    boxes = []
    for cover in placed:
        ys, xs = np.nonzero(cover > 0.5)
        pts = rp.to_photo(np.stack([xs, ys], axis=1).astype(np.float32), camera)
        x0, y0 = np.floor(pts.min(axis=0)).astype(int)
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int)
        boxes.append([int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)])
    return boxes


def inside(boxes: list[list[int]], margin: int = 4) -> bool:
    return all(
        x >= margin and y >= margin and x + w <= rp.WIDTH - margin and y + h <= rp.HEIGHT - margin
        for x, y, w, h in boxes
    )


def photograph(
    rng: np.random.Generator, paper: np.ndarray, placed: list[np.ndarray], digit_px: float
) -> tuple[bytes, list[list[int]], list[str]]:
    """Light the sheet, pick a camera that keeps every digit in view, and take the photo."""
    field, tags = rp.light(rng)
    paper *= field
    tilt = rng.uniform(0, 0.09)
    for _ in range(8):
        camera, seen = rp.pick_camera(rng, digit_px, tilt)
        boxes = photo_boxes(placed, camera)
        if inside(boxes):
            break
        tilt *= 0.6
    return rp.shoot(paper, camera, rng), boxes, tags + seen


def number_frame(
    rng: np.random.Generator,
    images: np.ndarray,
    labels: np.ndarray,
    indices: list[int],
    european: bool = False,
) -> tuple[bytes, dict[str, Any]]:
    """A photo of one handwritten number (or single digit) and what it must read."""
    pen = rp.pick_pen(rng)
    ruling = str(rng.choice(["plain", "ruled", "grid"]))
    picks = [(images[i], int(labels[i])) for i in indices]
    single = len(indices) == 1
    placed, tags = write_number(rng, picks, pen, single, european)
    paper = rp.sheet(rng, ruling)
    rp.ink(paper, np.maximum.reduce(placed), pen.colour, pen.grain, rng)
    height = float(np.median([ink_box(p)[3] for p in placed]))
    data, boxes, seen = photograph(rng, paper, placed, height)
    return data, {
        "value": "".join(str(label) for _, label in picks),
        "status": "ok",
        "kind": "digit" if single else "number",
        "mnist_test_indices": list(indices),
        "conditions": [pen.name, ruling, *tags, *seen],
        "boxes": boxes,
        "digit_height_px": round(height),
    }


def crop_frame(
    rng: np.random.Generator, image: np.ndarray, label: int, index: int
) -> tuple[bytes, dict[str, Any]]:
    """A tight crop of one digit as cut from a form cell or grid sheet, often touching an edge."""
    target = int(rng.integers(28, 91))
    touching = rng.random() < 0.5
    pen = rp.pick_pen(rng)
    g, _ = glyph(
        image,
        label,
        target * rng.uniform(*((0.8, 1.05) if touching else (0.6, 0.86))),
        pen,
        rng.uniform(-15, 15),
        rng,
    )
    bx, by, bw, bh = ink_box(g)
    room = 2 * target  # flat paper around the glyph, wider than any crop window
    paper = rp.sheet(rng, "plain", (g.shape[1] + 2 * room, g.shape[0] + 2 * room))
    cover = np.zeros(paper.shape[:2], np.float32)
    cover[room : room + g.shape[0], room : room + g.shape[1]] = g
    near = [rng.uniform(1.5, max(2.0, 0.15 * target)) for _ in range(4)]  # left, top, right, bottom
    if touching:  # the cut runs at the ink's edge or up to 15 % into it, on one side or a corner
        first = int(rng.integers(4))
        for side in (first, (first + 1) % 4) if rng.random() < 0.3 else (first,):
            near[side] = -rng.uniform(0, 0.15) * (bw if side in (0, 2) else bh)
    x0, y0 = round(room + bx - near[0]), round(room + by - near[1])
    x1, y1 = round(room + bx + bw + near[2]), round(room + by + bh + near[3])
    wider = round(target * rng.uniform(0.7, 1.2)) - (x1 - x0)  # a cell is wider than a 1
    if wider > 0:
        left = 0 if near[0] < 0 else wider if near[2] < 0 else int(rng.integers(wider + 1))
        x0, x1 = x0 - left, x1 + wider - left
    tags = [pen.name]
    if rng.random() < 0.45:  # a piece of the cell's printed border along one edge
        tags.append(border_line(rng, paper, (x0, y0, x1, y1)))
    rp.ink(paper, cover, pen.colour, pen.grain, rng)
    paper *= rp.light(rng, (paper.shape[1], paper.shape[0]), shadows=False)[0]
    window = np.ascontiguousarray(paper[y0:y1, x0:x1])
    clean = cover[y0:y1, x0:x1]
    touches = bool(
        max(clean[0].max(), clean[-1].max(), clean[:, 0].max(), clean[:, -1].max()) > 0.5
    )
    tags.append("touches-edge" if touches else "clear-margin")
    camera = rp.Camera(
        np.eye(3), rng.uniform(0, 0.8), 0, rng.uniform(1.5, 7), 0.0, int(rng.integers(40, 91))
    )
    box = ink_box(clean) if (clean > 0.5).any() else (0, 0, 0, 0)
    return rp.shoot(window, camera, rng, warp=False), {
        "value": str(label),
        "status": "ok",
        "kind": "digit",
        "mnist_test_indices": [index],
        "conditions": tags,
        "boxes": [list(box)],
        "touches_edge": touches,
        "size": [int(x1 - x0), int(y1 - y0)],
    }


def border_line(rng: np.random.Generator, paper: np.ndarray, window: tuple[int, ...]) -> str:
    """Draw a form-cell rule (dark) or grid line (light) just inside one edge of the window."""
    x0, y0, x1, y1 = window
    side, inset = int(rng.integers(4)), int(rng.integers(0, 3))
    mask = np.zeros(paper.shape[:2], np.uint8)
    thick = int(rng.integers(1, 4))
    h, w = paper.shape[0], paper.shape[1]
    if side in (0, 2):
        x = x0 + inset if side == 0 else x1 - 1 - inset
        cv2.line(mask, (x, 0), (x, h), 255, thick)
    else:
        y = y0 + inset if side == 1 else y1 - 1 - inset
        cv2.line(mask, (0, y), (w, y), 255, thick)
    form = rng.random() < 0.5
    colour = np.full(3, rng.uniform(0.15, 0.45)) if form else np.array(rp.RULE_COLOURS[0])
    rp.ink(paper, mask.astype(np.float32) / 255, colour)
    return "cell-border" if form else "grid-line"


def blank_frame(rng: np.random.Generator) -> tuple[bytes, dict[str, Any]]:
    """Paper with no writing: rules or grid, shadows, specks of dust."""
    ruling = str(rng.choice(["plain", "ruled", "grid"]))
    paper = rp.sheet(rng, ruling)
    tags = [ruling]
    if rng.random() < 0.6:
        specks = np.zeros(paper.shape[:2], np.float32)
        for _ in range(int(rng.integers(3, 25))):
            centre = (int(rng.integers(rp.WIDTH)), int(rng.integers(rp.HEIGHT)))
            cv2.circle(
                specks, centre, int(rng.integers(0, 2)), rng.uniform(0.3, 0.8), -1, cv2.LINE_AA
            )
        rp.ink(paper, specks, np.full(3, rng.uniform(0.2, 0.5)))
        tags.append("specks")
    data, _, seen = photograph(rng, paper, [], 40.0)
    return data, {
        "value": None,
        "status": "no_digit",
        "kind": "number",
        "mnist_test_indices": [],
        "conditions": tags + seen,
        "boxes": [],
    }


def report_frames(
    scenario: str,
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    seed: int,
    first_index: int = FIRST_INDEX,
    end_index: int = END_INDEX,
) -> Iterator[ReportFrame]:
    """`count` frames of one scenario, drawing MNIST test images from [first_index, end_index)."""
    number = SCENARIOS.index(scenario)
    pool = Pool(labels, first_index, end_index, np.random.default_rng([seed, number]))
    for n in range(count):
        rng = np.random.default_rng([seed, number, n])
        if scenario == "blank":
            data, expected = blank_frame(rng)
        elif scenario == "crops":
            i = pool.take()
            data, expected = crop_frame(rng, images[i], int(labels[i]), i)
        elif scenario == "continental":
            size = 1 if rng.random() < 0.5 else int(rng.integers(2, 6))
            forced = int(rng.integers(size))  # every frame holds at least one 1, 4, 7 or 9
            groups = [
                "continental" if k == forced or rng.random() < 0.5 else "other" for k in range(size)
            ]
            data, expected = number_frame(
                rng, images, labels, [pool.take(g) for g in groups], european=True
            )
        else:
            size = 1 if scenario == "single" else int(rng.integers(2, 7))
            data, expected = number_frame(rng, images, labels, [pool.take() for _ in range(size)])
        yield ReportFrame(f"{scenario}_{n:04d}", data, expected)
