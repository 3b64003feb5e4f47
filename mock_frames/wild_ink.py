"""Pens and papers for the wild scenarios: what real digits are written with and on.

A pen is a stroke width (a share of the digit height), an ink colour, an intensity and, for
pencil, graphite grain. A paper is plain, ruled or squared, with the faint printed lines real
pads have.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import render
from render import FRAME_H, FRAME_W

FELT_BLUE: render.Colour = (0.45, 0.15, 0.05)
FELT_RED: render.Colour = (0.20, 0.18, 0.72)
FELT_GREEN: render.Colour = (0.30, 0.50, 0.12)
GRAPHITE: render.Colour = (0.30, 0.30, 0.32)
RULE_GREY: render.Colour = (0.70, 0.70, 0.70)
RULE_DARK_BLUE: render.Colour = (0.85, 0.60, 0.40)
GRID_GREEN: render.Colour = (0.72, 0.85, 0.68)


def flagged(flags: dict[str, object]) -> list[str]:
    """The condition tags whose test came out true, in the order given."""
    return [name for name, on in flags.items() if on]


@dataclass(frozen=True)
class Pen:
    name: str  # "pencil", "ballpoint" or "felt": the condition tag
    colour: render.Colour
    width: float  # stroke width as a share of the digit height
    intensity: float  # coverage of a solid stroke: pencil lays less than ink
    grain: float  # share of coverage the paper's tooth takes from a pencil stroke


def fine_pen(rng: np.random.Generator) -> Pen:
    """A fine liner, or a ballpoint on digits written large: strokes 2-4.5% of the digit
    height, under every pick_pen pen. Drawn only when asked for (`--fine-pens`)."""
    colour = render.INK_BLUE if rng.random() < 0.5 else render.INK_BLACK
    return Pen("fine", colour, rng.uniform(0.02, 0.045), rng.uniform(0.8, 1.0), 0.0)


def pick_pen(rng: np.random.Generator) -> Pen:
    """Pencil (thin, grey, grainy), ballpoint (medium) or felt-tip (thick, saturated)."""
    kind = rng.choice(3, p=[0.3, 0.45, 0.25])
    if kind == 0:
        colour = GRAPHITE if rng.random() < 0.4 else render.INK_PENCIL
        return Pen(
            "pencil",
            colour,
            rng.uniform(0.045, 0.075),
            rng.uniform(0.6, 0.9),
            rng.uniform(0.1, 0.35),
        )
    if kind == 1:
        colour = render.INK_BLUE if rng.random() < 0.6 else render.INK_BLACK
        return Pen("ballpoint", colour, rng.uniform(0.065, 0.11), rng.uniform(0.8, 1.0), 0.0)
    colours = [render.INK_BLACK, FELT_BLUE, FELT_RED, FELT_GREEN]
    colour = colours[rng.choice(4, p=[0.45, 0.3, 0.15, 0.1])]
    return Pen("felt", colour, rng.uniform(0.13, 0.19), rng.uniform(0.95, 1.0), 0.0)


def stroke_width(alpha: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the ink area over its outline length."""
    ink = (alpha > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(ink.sum()) / max(outline, 1.0)


def restroke(alpha: np.ndarray, target_px: float) -> np.ndarray:
    """Thicken or thin a glyph's strokes to `target_px` wide, to a fraction of a pixel.

    The outline is moved along the signed distance to the ink's edge, so a pen of fixed nib
    width writes small and large digits alike (MNIST strokes scale with the digit). Thinning
    keeps every stroke's centre line at the pen's width: a stroke thinner than the digit's
    mean (the bar of a 7) would otherwise vanish and change the digit.
    """
    target = max(target_px, 1.3)
    grow = (target - stroke_width(alpha)) / 2
    if abs(grow) < 0.15:
        return alpha
    pad = int(np.ceil(max(grow, 0))) + 2
    ink = cv2.copyMakeBorder(
        (alpha > 0.5).astype(np.uint8), pad, pad, pad, pad, cv2.BORDER_CONSTANT
    )
    inside = cv2.distanceTransform(ink, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - ink, cv2.DIST_L2, 5)
    # Pixel centres next to the edge are half a pixel from it, not one.
    signed = np.where(ink > 0, inside - 0.5, 0.5 - outside)
    moved = np.clip(signed + grow + 0.5, 0, 1)
    if grow > 0:
        return moved.astype(np.float32)
    ridge = (inside >= cv2.dilate(inside, np.ones((3, 3), np.uint8)) - 0.3) & (ink > 0)
    to_ridge = cv2.distanceTransform((~ridge).astype(np.uint8), cv2.DIST_L2, 5)
    centre = np.clip(target / 2 - to_ridge + 0.5, 0, 1)
    return np.maximum(moved, centre).astype(np.float32)


def shear(alpha: np.ndarray, degrees: float) -> np.ndarray:
    """Slant a glyph: its bottom row stays, its top moves right (forward slant) or left."""
    h, w = alpha.shape
    t = float(np.tan(np.radians(degrees)))
    extra = int(np.ceil(abs(t) * h)) + 1
    shift = t * (h - 1) if t > 0 else 0.0
    matrix = np.array([[1, -t, shift], [0, 1, 0]], np.float32)
    return cv2.warpAffine(alpha, matrix, (w + extra, h), flags=cv2.INTER_LINEAR)


def grain(rng: np.random.Generator, shape: tuple[int, int], amount: float) -> np.ndarray:
    """Coverage multiplier of a pencil stroke on paper tooth (1: solid)."""
    if amount <= 0:
        return np.ones(shape, np.float32)
    tooth = np.abs(cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 0.7))
    return np.clip(1.0 - amount * tooth * 1.6, 0.2, 1.0).astype(np.float32)


@dataclass(frozen=True)
class Paper:
    name: str  # "plain", "ruled" or "grid": the condition tag
    colour: render.Colour
    texture: float
    pitch: float  # px between rules or grid lines (0 on plain paper)
    phase: float  # y of the first rule
    line_colour: render.Colour
    line_px: int
    line_strength: float


def pick_paper(rng: np.random.Generator, digit_height: float) -> Paper:
    """Plain, ruled or squared paper, with lines spaced as people's writing fills them."""
    colour = [render.PAPER_WHITE, render.PAPER_CREAM, render.PAPER_GREY][
        rng.choice(3, p=[0.6, 0.3, 0.1])
    ]
    texture = rng.uniform(0.01, 0.035)
    kind = rng.choice(3, p=[0.35, 0.35, 0.3])
    if kind == 0:
        return Paper("plain", colour, texture, 0.0, 0.0, colour, 0, 0.0)
    if kind == 1:  # digits fill 55-105 % of the rule spacing
        pitch = digit_height / rng.uniform(0.55, 1.05)
        lines = [render.LINE_BLUE, RULE_GREY, RULE_DARK_BLUE][rng.choice(3, p=[0.55, 0.25, 0.2])]
        weight = rng.uniform(0.015, 0.035)
    else:  # 5 mm squares: digits span half a square to a square and a third
        pitch = digit_height / rng.uniform(0.5, 1.3)
        lines = [render.LINE_BLUE, RULE_GREY, GRID_GREEN][rng.choice(3, p=[0.5, 0.3, 0.2])]
        weight = rng.uniform(0.01, 0.03)
    return Paper(
        ["plain", "ruled", "grid"][kind],
        colour,
        texture,
        float(pitch),
        float(rng.uniform(0, pitch)),
        lines,
        max(1, round(pitch * weight)),
        float(rng.uniform(0.4, 0.95)),
    )


def draw_paper(rng: np.random.Generator, paper: Paper) -> np.ndarray:
    """The flat sheet with its rules or grid (and, on some ruled pads, the red margin)."""
    sheet = render.paper(rng, paper.colour, paper.texture)
    if paper.name == "plain":
        return sheet
    rows = np.full((paper.line_px, FRAME_W), paper.line_strength, np.float32)
    for y in np.arange(paper.phase, FRAME_H, paper.pitch):
        render.composite(sheet, rows, 0, int(y), paper.line_colour)
    if paper.name == "grid":
        cols = np.full((FRAME_H, paper.line_px), paper.line_strength, np.float32)
        for x in np.arange(rng.uniform(0, paper.pitch), FRAME_W, paper.pitch):
            render.composite(sheet, cols, int(x), 0, paper.line_colour)
    elif rng.random() < 0.3:
        margin = np.full((FRAME_H, 2), paper.line_strength, np.float32)
        render.composite(sheet, margin, int(rng.uniform(30, 90)), 0, render.LINE_RED)
    return sheet


def rule_near(paper: Paper, y: float) -> float:
    """The rule or grid line closest to y (y itself on plain paper)."""
    if paper.pitch <= 0:
        return y
    k = round((y - paper.phase) / paper.pitch)
    return paper.phase + k * paper.pitch + paper.line_px / 2
