"""Rendered counter wheels: printed digits on a drum, caught at any tenth of a step.

The real wheel crops come from a few dozen installations, so a model trained on them alone
knows a few dozen typefaces; a meter with another one is read worse (the report set shows it).
These renders add typefaces and layouts: Debian's DejaVu and Liberation fonts in their
widths and weights when installed, OpenCV's own Hershey fonts always. A wheel at position
d.t shows digit d moved up by t of the digit pitch, with d+1 coming in from below, as on a
real counter; the drum is shaded like a cylinder, the window's frame may show at the top and
bottom, and the crop is as tight or loose as real ROIs are. Camera effects (light, blur,
noise, polarity) are left to the training augmentation.
"""

from __future__ import annotations

import functools
import glob
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

CROP_H, CROP_W = 32, 20
SCALE = 4  # drawn at 4x, then reduced with INTER_AREA as a camera crop would be
FONT_GLOBS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif*.ttf",
    "/usr/share/fonts/truetype/liberation*/Liberation*.ttf",
)
HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


@functools.cache
def font_paths() -> tuple[Path, ...]:
    """The TrueType fonts installed (none is fine: the Hershey fonts remain)."""
    paths = sorted({Path(p) for pattern in FONT_GLOBS for p in glob.glob(pattern)})
    return tuple(p for p in paths if "Math" not in p.name)


def _glyph(rng: np.random.Generator, digit: int, height: int, style: tuple) -> np.ndarray:
    """One digit as a white-on-black mask, `height` pixels tall, tightly cropped."""
    kind, which, bold = style
    if kind == "ttf":
        font = ImageFont.truetype(str(which), size=height)
        left, top, right, bottom = font.getbbox(str(digit))  # ints at stroke_width 0, typed float
        image = Image.new("L", (int(right - left + 4), int(bottom - top + 4)), 0)
        ImageDraw.Draw(image).text((2 - left, 2 - top), str(digit), fill=255, font=font)
        mask = np.asarray(image)
    else:
        scale = height / 22.0
        thick = max(1, round(scale * (2.2 if bold else 1.2)))
        (w, h), _ = cv2.getTextSize(str(digit), which, scale, thick)
        mask = np.zeros((h + 4 * thick, w + 4 * thick), np.uint8)
        cv2.putText(
            mask, str(digit), (2 * thick, h + 2 * thick), which, scale, 255, thick, cv2.LINE_AA
        )
    ys, xs = np.nonzero(mask > 40)
    mask = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return cv2.resize(mask, (max(2, round(mask.shape[1] * height / mask.shape[0])), height))


def _style(rng: np.random.Generator) -> tuple:
    fonts = font_paths()
    if fonts and rng.random() < 0.7:
        return ("ttf", fonts[int(rng.integers(len(fonts)))], False)
    return ("hershey", HERSHEY[int(rng.integers(len(HERSHEY)))], bool(rng.random() < 0.5))


def render_wheel(rng: np.random.Generator, tenths: int) -> np.ndarray:
    """One 32x20 grey crop of a wheel standing at `tenths` (37: seven tenths from 3 to 4)."""
    style = _style(rng)
    out_h, out_w = CROP_H * SCALE, CROP_W * SCALE
    digit_h = round(out_h * rng.uniform(0.5, 0.8))
    pitch = round(digit_h * rng.uniform(1.25, 1.7))
    squeeze = rng.uniform(0.75, 1.15)  # condensed or wide figures
    strip_h = pitch * 4
    strip = np.zeros((strip_h, out_w), np.float32)
    base, frac = tenths // 10, (tenths % 10) / 10
    for k, offset in enumerate((-1, 0, 1, 2)):
        glyph: np.ndarray = (
            _glyph(rng, (base + offset) % 10, digit_h, style).astype(np.float32) / 255
        )
        width = min(out_w - 2, max(2, round(glyph.shape[1] * squeeze)))
        glyph = cv2.resize(glyph, (width, digit_h))
        x = (out_w - width) // 2 + int(rng.integers(-2, 3))
        y = k * pitch + (pitch - digit_h) // 2
        x = min(max(x, 0), out_w - width)
        strip[y : y + digit_h, x : x + width] = np.maximum(
            strip[y : y + digit_h, x : x + width], glyph
        )
    centre = round(pitch * 1.5 + frac * pitch + rng.normal(0, pitch * 0.02))
    top = min(max(centre - out_h // 2, 0), strip_h - out_h)
    window = strip[top : top + out_h]
    # The drum: ink and ground levels, darker towards the top and bottom as a cylinder turns away.
    ink, ground = (0.9, 0.1) if rng.random() < 0.7 else (0.1, 0.85)
    rows = np.linspace(-1, 1, out_h)[:, None]
    shade = 1 - rng.uniform(0.1, 0.6) * rows**2
    image = (ground + (ink - ground) * window) * shade
    if rng.random() < 0.5:  # the window's frame above and below the drum
        bar = int(rng.integers(1, out_h // 8))
        level = rng.uniform(0.0, 0.3) if ground > 0.5 else rng.uniform(0.4, 0.8)
        image[:bar] = level
        image[out_h - int(rng.integers(1, out_h // 8)) :] = level
    small = cv2.resize(image, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    return np.clip(small * 255, 0, 255).astype(np.uint8)


def render_wheels(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Crops uint8 [count,32,20] and their positions in tenths, uniformly."""
    tenths = rng.integers(0, 100, count)
    if count == 0:
        return np.zeros((0, CROP_H, CROP_W), np.uint8), tenths.astype(np.int64)
    return np.stack([render_wheel(rng, int(t)) for t in tenths]), tenths.astype(np.int64)
