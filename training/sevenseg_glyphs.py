"""How a meter's display draws its digits: a DSEG7 font (SIL OFL, fonts-dseg), cv2 polygons
of varied shape, thickness and gaps with the forms of 6, 7 and 9 fonts lack, or a 5x7
dot-matrix character LCD. Each style gives a digit's mask in glyph space, the all-segments
(all-dots) "ghost" and the '8' box that training/sevenseg.py places into a camera crop.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from training.sevenseg import SevenSegConfig

FONT_DIR = Path("/usr/share/fonts/truetype/dseg")  # fonts-dseg; without it only polygons draw
FONT_GLOBS = ("DSEG7Classic*.ttf", "DSEG7Modern*.ttf")  # not SEGGCHAN: a round novelty font
GLYPH_H = 80  # digit height in glyph space: enough to keep segment gaps and points sharp
PAD = 8  # room around a cell so slanted fonts and round caps are not clipped
SEGMENTS = ("abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg")
VARIANTS = {6: "cdefg", 7: "abcf", 9: "abcfg"}  # 6 without its top, 7 with a hook, 9 no bottom
Range = tuple[float, float]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class Style:
    """One display: how it draws a digit, its all-segments ghost, its '8' box and stroke width."""

    draw: Callable[[int], np.ndarray]  # digit -> uint8 mask of one cell
    ghost: np.ndarray  # uint8 mask of every segment of a cell
    box: Box  # the full digit ('8') in a cell
    thick: float  # segment width, for the size of points
    italic: bool  # the font slants already


def uniform(rng: np.random.Generator, r: Range) -> float:
    return float(rng.uniform(r[0], r[1]))


def fixed_point(points: object) -> np.ndarray:
    """int32 points with 4 fractional bits: cv2 draws them sub-pixel with shift=4."""
    return (np.asarray(points, np.float64) * 16).round().astype(np.int32)


@functools.lru_cache(maxsize=4)
def font_paths(folder: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for g in FONT_GLOBS for p in folder.glob(g))) if folder.is_dir() else ()


def font_cell(font: ImageFont.FreeTypeFont, text: str) -> np.ndarray:
    """The text drawn white on black in a cell fitted around '8', the font's full glyph."""
    left, top, right, bottom = font.getbbox("8")  # ints at stroke_width 0, typed float
    img = Image.new("L", (int(right - left + 2 * PAD), int(bottom - top + 2 * PAD)), 0)
    ImageDraw.Draw(img).text((PAD - left, PAD - top), text, font=font, fill=255)
    return np.asarray(img, np.uint8)


@functools.lru_cache(maxsize=64)
def font_style(path: Path) -> Style:
    font = ImageFont.truetype(str(path), GLYPH_H)
    left, top, right, bottom = font.getbbox("8")
    one = font_cell(font, "1")  # two vertical segments: area / height is their width
    thick = float(one.sum()) / 255.0 / (bottom - top)
    cells = [font_cell(font, str(d)) for d in range(10)]  # cached with the font: fast renders
    box = (PAD, PAD, PAD + right - left, PAD + bottom - top)
    return Style(cells.__getitem__, font_cell(font, "8"), box, thick, "Italic" in path.name)


def polygon_style(rng: np.random.Generator, cfg: SevenSegConfig) -> Style:
    """A display drawn with cv2: segment shape, thickness, gaps and width vary per display."""
    width = GLYPH_H * uniform(rng, cfg.aspect)
    t = min(GLYPH_H * uniform(rng, cfg.thickness), width / 4)  # bars stay longer than thick
    gap, shape, h = min(GLYPH_H * uniform(rng, cfg.gap), t / 4), int(rng.integers(3)), t / 2
    x0, x1, y0, ym, y1 = PAD + h, PAD + width - h, PAD + h, PAD + GLYPH_H / 2, PAD + GLYPH_H - h
    ends = dict(
        a=((x0, y0), (x1, y0)), b=((x1, y0), (x1, ym)), c=((x1, ym), (x1, y1)),
        d=((x0, y1), (x1, y1)), e=((x0, ym), (x0, y1)), f=((x0, y0), (x0, ym)),
        g=((x0, ym), (x1, ym)),
    )  # fmt: skip

    def draw_segments(segments: str) -> np.ndarray:
        canvas = np.zeros((GLYPH_H + 2 * PAD, math.ceil(width) + 2 * PAD), np.uint8)
        for s in segments:
            p, q = (np.array(e, np.float64) for e in ends[s])
            u = (q - p) / np.linalg.norm(q - p)
            n = np.array([-u[1], u[0]])
            p, q = p + u * gap, q - u * gap
            if shape == 0:  # hexagons: pointed ends that meet their neighbours' at 45 degrees
                pts = [p, p + (u + n) * h, q + (n - u) * h, q, q - (u + n) * h, p + (u - n) * h]
            elif shape == 1:  # rectangles: uprights fill the corners, bars sit between
                p, q = (p + u * h, q - u * h) if u[1] == 0 else (p - u * h, q + u * h)
                pts = [p + n * h, q + n * h, q - n * h, p - n * h]
            else:  # cv2's thick lines have round caps
                a, b = (tuple(fixed_point(v).tolist()) for v in (p + u * h, q - u * h))
                cv2.line(canvas, a, b, 255, max(1, round(t)), cv2.LINE_AA, 4)
                continue
            cv2.fillPoly(canvas, [fixed_point(pts)], 255, cv2.LINE_AA, 4)
        return canvas

    forms = list(SEGMENTS)  # one display uses one form of 6, 7 and 9 for all its digits
    chances = (cfg.six_no_top_p, cfg.seven_hook_p, cfg.nine_no_bottom_p)
    for p, (digit, form) in zip(chances, VARIANTS.items(), strict=True):
        forms[digit] = form if rng.random() < p else forms[digit]
    box = (PAD, PAD, PAD + width, PAD + GLYPH_H)
    return Style(lambda d: draw_segments(forms[d]), draw_segments("abcdefg"), box, t, False)


# 5x7 dot-matrix digits, rows top to bottom, as the common character-LCD controllers' ROM
# draws them (the HD44780's: a 0 with a slash, a 7 with a diagonal stem, a 9 with a hooked
# tail), each with the other forms that dot-matrix fonts use.
MATRIX_DIGITS: tuple[tuple[str, ...], ...] = (
    ("01110 10001 10011 10101 11001 10001 01110", "01110 10001 10001 10001 10001 10001 01110",
     "01110 10001 10001 10101 10001 10001 01110"),
    ("00100 01100 00100 00100 00100 00100 01110", "00100 01100 00100 00100 00100 00100 00100",
     "00010 00110 01010 00010 00010 00010 00010"),
    ("01110 10001 00001 00010 00100 01000 11111", "01110 10001 00001 00110 01000 10000 11111"),
    ("11111 00010 00100 00010 00001 10001 01110", "01110 10001 00001 00110 00001 10001 01110"),
    ("00010 00110 01010 10010 11111 00010 00010", "10010 10010 10010 11111 00010 00010 00010"),
    ("11111 10000 11110 00001 00001 10001 01110", "11111 10000 10000 11110 00001 10001 01110"),
    ("00110 01000 10000 11110 10001 10001 01110", "01110 10000 10000 11110 10001 10001 01110"),
    ("11111 00001 00010 00100 01000 01000 01000", "11111 00001 00010 00100 00100 00100 00100",
     "11111 00001 00001 00010 00100 00100 00100"),
    ("01110 10001 10001 01110 10001 10001 01110",),
    ("01110 10001 10001 01111 00001 00010 01100", "01110 10001 10001 01111 00001 00001 01110"),
)  # fmt: skip


def matrix_style(rng: np.random.Generator, cfg: SevenSegConfig) -> Style:
    """A 5x7 dot-matrix character LCD: square, tall or round dots with gaps between them; one
    form of each digit per display; the unlit dots are its ghost."""
    rows, cols = 7, 5
    pitch_y = GLYPH_H / rows
    pitch_x = pitch_y * uniform(rng, cfg.matrix_dot_aspect)
    fill = uniform(rng, cfg.matrix_fill)  # share of a dot's pitch that is lit
    round_dots = rng.random() < cfg.matrix_round_p
    width = cols * pitch_x
    forms = [f[int(rng.integers(len(f)))] if rng.random() < 0.5 else f[0] for f in MATRIX_DIGITS]

    def draw_dots(bits: str) -> np.ndarray:
        canvas = np.zeros((GLYPH_H + 2 * PAD, math.ceil(width) + 2 * PAD), np.uint8)
        for r, row in enumerate(bits.split()):
            for c, bit in enumerate(row):
                if bit != "1":
                    continue
                cx, cy = PAD + (c + 0.5) * pitch_x, PAD + (r + 0.5) * pitch_y
                hx, hy = fill * pitch_x / 2, fill * pitch_y / 2
                if round_dots:
                    centre, axes = fixed_point((cx, cy)), fixed_point((hx, hy))
                    cv2.ellipse(
                        canvas, tuple(centre.tolist()), tuple(axes.tolist()), 0, 0, 360,
                        255, -1, cv2.LINE_AA, 4,
                    )  # fmt: skip
                else:
                    corners = [(cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy),
                               (cx - hx, cy + hy)]  # fmt: skip
                    cv2.fillPoly(canvas, [fixed_point(corners)], 255, cv2.LINE_AA, 4)
        return canvas

    all_dots = " ".join(["11111"] * rows)
    box = (PAD, PAD, PAD + width, PAD + GLYPH_H)
    return Style(lambda d: draw_dots(forms[d]), draw_dots(all_dots), box, fill * pitch_x, False)
