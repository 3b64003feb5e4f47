"""Synthetic 7-segment display digits: training data for reading meters' LCD and LED digits.

Real meter crops are too few to train on (lcd_digits is for validation only; nothing here is
fitted to it), so each crop is drawn: (1) a display style, a DSEG7 font (SIL OFL, fonts-dseg)
or cv2 polygons of varied shape with the forms of 6, 7 and 9 fonts lack, draws the digit, some
neighbours and the unlit "ghost" segments as masks; (2) one affine (slant, rotation, scale,
offset) maps them into a camera-sized crop with the whole digit inside, 60-100% of its height;
(3) the panel, light and camera: polarity, contrast, uneven light, glare, blur, noise and JPEG
at the camera's size, then the INTER_AREA resize to 20x32 that the reader uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from training.sevenseg_glyphs import (
    FONT_DIR,
    GLYPH_H,
    Box,
    Range,
    Style,
    fixed_point,
    font_paths,
    font_style,
    matrix_style,
    polygon_style,
    uniform,
)

CROP_H, CROP_W = 32, 20  # the model input: 32 rows, 20 columns, grayscale uint8


@dataclass(frozen=True)
class SevenSegConfig:
    """Chances and ranges; each spans what meters, panels and phone-grade cameras show."""

    font_p: float = 0.5  # DSEG fonts are exact displays; polygons add shapes fonts lack
    matrix_p: float = 0.2  # 5x7 dot-matrix character LCDs (0: only 7-segment displays)
    matrix_dot_aspect: Range = (0.75, 1.15)  # a dot's width / height (pitch)
    matrix_fill: Range = (0.6, 0.92)  # lit share of a dot's pitch: the rest is the gap
    matrix_round_p: float = 0.3  # some panels have round dots
    aspect: Range = (0.42, 0.66)  # digit width / height: narrow meters to wide clocks
    thickness: Range = (0.07, 0.17)  # segment width / digit height: thin LCD to bold LED
    gap: Range = (0.0, 0.04)  # space between segment ends / height; some panels nearly touch
    six_no_top_p: float = 0.25  # some displays draw 6 without its top bar
    seven_hook_p: float = 0.25  # ... and 7 with its upper-left segment
    nine_no_bottom_p: float = 0.25  # ... and 9 without its bottom bar
    ghost_p: float = 0.5  # many LCDs show their unlit segments faintly
    ghost_level: Range = (0.03, 0.3)  # of the lit segments' contrast; some LCDs show them plainly
    light_on_dark_p: float = 0.25  # LED displays and backlit or inverted panels
    bloom_p: float = 0.5  # of light-on-dark: an LED glows past its segment
    bg_level: Range = (105.0, 240.0)  # grey, green and yellow LCD panels after gray conversion
    dark_level: Range = (0.0, 100.0)  # unlit LED faces and dark backlit panels
    contrast: Range = (0.3, 0.85)  # ink darkening (or lighting) as a share of the range
    low_contrast_p: float = 0.2  # faded LCDs, oblique views and overexposure
    low_contrast: Range = (0.08, 0.3)  # contrast then
    gradient_p: float = 0.5  # light falls unevenly across a meter's window
    gradient: Range = (0.1, 0.6)  # brightness change from one side to the other
    glare_p: float = 0.15  # the window's cover reflects a lamp or the sky
    glare: Range = (0.2, 0.8)  # how far the glare lifts the pixels towards white
    blur_p: float = 0.5  # focus and small camera modules
    blur_sigma: Range = (0.2, 1.0)  # in output pixels
    motion_p: float = 0.1  # a hand-held or vibrating camera
    motion_len: Range = (1.0, 3.0)  # in output pixels
    slant_p: float = 0.5  # many meters use italic digits (italic fonts slant already)
    slant_deg: Range = (0.0, 12.0)  # shear, top to the right
    rotation_deg: float = 4.0  # the camera is mounted slightly crooked
    fill: Range = (0.6, 1.0)  # digit height / crop height, as digit finders crop
    camera_h: Range = (36.0, 160.0)  # crop height in camera pixels before the resize
    crop_aspect: Range = (0.52, 0.68)  # crop width / height: finders crop a bit narrow
    neighbour_p: float = 0.8  # digits sit in a row: a crop often catches a neighbour's segments
    pitch: Range = (1.08, 1.4)  # digit pitch / digit width
    neighbour_piece: float = 0.4  # at most this share of a neighbour shows: never a whole digit
    row_p: float = 0.3  # multi-line displays: digits of the line above or below
    row_pitch: Range = (1.15, 1.6)  # line pitch / digit height
    point_p: float = 0.3  # a decimal point or comma beside the digit
    comma_p: float = 0.4  # of points: many meters print a decimal comma
    point_after_p: float = 0.7  # of points and colons: the right side (it follows the digit)
    colon_p: float = 0.08  # clocks and timers
    bezel_p: float = 0.3  # the window's edge shows as a band at the top or bottom
    bezel_level: Range = (0.15, 1.4)  # of the panel's level: a dark frame or a bright surround
    noise_p: float = 0.7  # sensor noise
    noise_sigma: Range = (1.0, 10.0)  # gray levels, at the camera's size
    jpeg_p: float = 0.8  # frames arrive as JPEG
    jpeg_quality: tuple[int, int] = (30, 90)  # cheap cameras and streams compress hard


def _layout(
    rng: np.random.Generator, cfg: SevenSegConfig, box: Box, reach: np.ndarray, pose: np.ndarray
) -> tuple[np.ndarray, tuple[int, int], tuple[float, float]]:
    """The 2x3 affine from glyph space to a camera crop, the crop's (height, width), and the
    margins above and below the digit. The whole box is inside and fills 60-100% of the height;
    the crop reaches at most `reach` (glyph units) past the box, so neighbours show in part."""
    rot = math.radians(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    lin = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]]) @ pose
    corners = lin @ np.array([[box[0], box[2], box[2], box[0]], [box[1], box[1], box[3], box[3]]])
    lo, size = corners.min(axis=1), np.ptp(corners, axis=1)
    cam_h = round(uniform(rng, cfg.camera_h))
    scale = uniform(rng, cfg.fill) * cam_h / size[1]
    cam_w = max(round(cam_h * uniform(rng, cfg.crop_aspect)), math.ceil(scale * size[0]))  # no cuts
    reach_px = scale * reach * np.abs(np.diag(pose))
    cam = np.clip(np.floor(scale * size + 2 * reach_px), np.ceil(scale * size), [cam_w, cam_h])
    cam = cam.astype(int)
    slack = cam - scale * size
    low, high = np.maximum(0, slack - reach_px), np.minimum(slack, reach_px)
    place = low + rng.uniform(0.0, 1.0, 2) * np.maximum(high - low, 0)
    affine = np.hstack([scale * lin, (place - scale * lo)[:, None]])
    return affine, (int(cam[1]), int(cam[0])), (float(place[1]), float(slack[1] - place[1]))


def _scene(
    rng: np.random.Generator, cfg: SevenSegConfig, style: Style, digit: int
) -> tuple[np.ndarray, np.ndarray, Box, np.ndarray]:
    """uint8 ink and ghost masks of the display around the digit, the digit's box in them and
    how far (x, y) past the box a crop may reach."""
    cell_h, cell_w = style.ghost.shape
    digit_w = style.box[2] - style.box[0]
    pitch = round(digit_w * uniform(rng, cfg.pitch))  # neighbours in the row, either side
    row_pitch = round(GLYPH_H * uniform(rng, cfg.row_pitch))  # the lines above and below
    ink = np.zeros((cell_h + 2 * row_pitch, cell_w + 2 * pitch), np.uint8)
    ghost = np.zeros_like(ink)
    cells = [(0, 0)]
    cells += [(0, -1), (0, 1)] if rng.random() < cfg.neighbour_p else []
    cells += [(-1, 0), (1, 0)] if rng.random() < cfg.row_p else []
    # (r, y, x): a cell's row and corner in the loop, the point's radius and centre below
    r: float
    y: float
    x: float
    for r, c in cells:
        y, x = (r + 1) * row_pitch, (c + 1) * pitch
        mask = style.draw(digit if (r, c) == (0, 0) else int(rng.integers(10)))
        for layer, cell in ((ink, mask), (ghost, style.ghost)):  # cells' margins overlap
            view = layer[y : y + cell_h, x : x + cell_w]
            np.maximum(view, cell, out=view)
    x0, y0, x1, y1 = style.box
    box = (x0 + pitch, y0 + row_pitch, x1 + pitch, y1 + row_pitch)
    piece = cfg.neighbour_piece  # how far a crop may reach into the neighbours
    reach = np.array([pitch - digit_w * (1 - piece), row_pitch - GLYPH_H * (1 - piece)])
    # A decimal point, comma or colon in the gap on one side: outside the digit's box.
    side = 1 if rng.random() < cfg.point_after_p else -1
    x, r = (box[0] + box[2]) / 2 + side * (digit_w + pitch) / 2, max(2.0, 0.6 * style.thick)
    dots = [box[3] - r] if (point := rng.random() < cfg.point_p) else []
    if not point and rng.random() < cfg.colon_p:
        dots = [box[1] + 0.3 * GLYPH_H, box[1] + 0.7 * GLYPH_H]
    for y in dots:
        cv2.circle(ink, tuple(fixed_point((x, y)).tolist()), round(r * 16), 255, -1, cv2.LINE_AA, 4)
    if point and rng.random() < cfg.comma_p:  # the comma's tail, down to the left
        tail = [(x + 0.6 * r, dots[0]), (x - 0.6 * r, dots[0] + 2.2 * r), (x + 0.1 * r, dots[0])]
        cv2.fillPoly(ink, [fixed_point(tail)], 255, cv2.LINE_AA, 4)
    return ink, ghost, box, reach


def _light(
    rng: np.random.Generator, cfg: SevenSegConfig, lit: np.ndarray, margins: tuple[float, float]
) -> np.ndarray:
    """float gray levels of the panel: polarity, contrast, window edge, uneven light, glare."""
    cam_h, cam_w = lit.shape
    low = rng.random() < cfg.low_contrast_p
    contrast = uniform(rng, cfg.low_contrast if low else cfg.contrast)
    if rng.random() < cfg.light_on_dark_p:
        base = uniform(rng, cfg.dark_level)
        if rng.random() < cfg.bloom_p:
            lit = np.minimum(1, lit + 0.6 * cv2.GaussianBlur(lit, (0, 0), 0.06 * cam_h))
        img = base + contrast * (255 - base) * lit
    else:
        base = uniform(rng, cfg.bg_level)
        img = base * (1 - contrast * lit)
    side = int(rng.integers(2))  # the window's edge, never across the digit
    if rng.random() < cfg.bezel_p and margins[side] >= 2:
        depth, level = (
            max(1, int(margins[side] * rng.uniform(0.3, 1.0))),
            uniform(rng, cfg.bezel_level),
        )
        img[slice(0, depth) if side == 0 else slice(cam_h - depth, cam_h)] = base * level
    if rng.random() < cfg.gradient_p:
        yy, xx = np.mgrid[0:cam_h, 0:cam_w].astype(np.float32)
        a = rng.uniform(0, 2 * math.pi)
        ramp = (xx - cam_w / 2) * math.cos(a) + (yy - cam_h / 2) * math.sin(a)
        img *= 1 + uniform(rng, cfg.gradient) * ramp / max(np.ptp(ramp), 1)
    if rng.random() < cfg.glare_p:
        glare: np.ndarray = np.zeros((cam_h, cam_w), np.float32)
        axes = (round(cam_w * rng.uniform(0.1, 0.5)), round(cam_w * rng.uniform(0.05, 0.3)))
        centre = (int(rng.integers(cam_w)), int(rng.integers(cam_h)))
        cv2.ellipse(glare, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        glare = cv2.GaussianBlur(glare, (0, 0), max(axes) * 0.5 + 0.5)
        img += (255 - img) * uniform(rng, cfg.glare) * glare / max(float(glare.max()), 1e-6)
    return img


def _sensor(rng: np.random.Generator, cfg: SevenSegConfig, img: np.ndarray) -> np.ndarray:
    """The camera's blur, noise and JPEG at its own size, then the reader's 20x32 resize."""
    per_px = img.shape[0] / CROP_H  # camera pixels per output pixel
    if rng.random() < cfg.blur_p:
        img = cv2.GaussianBlur(img, (0, 0), uniform(rng, cfg.blur_sigma) * per_px)
    if rng.random() < cfg.motion_p:
        size = round(uniform(rng, cfg.motion_len) * per_px) | 1  # odd: the kernel has a centre
        kernel = np.zeros((size, size), np.float32)
        kernel[size // 2] = 1.0  # a streak, turned to a random direction
        turn = cv2.getRotationMatrix2D((size // 2, size // 2), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (size, size))
        img = cv2.filter2D(img, -1, kernel / kernel.sum())
    if rng.random() < cfg.noise_p:
        img = img + rng.normal(0, uniform(rng, cfg.noise_sigma), img.shape).astype(np.float32)
    img = np.clip(img, 0, 255).round().astype(np.uint8)
    if rng.random() < cfg.jpeg_p:
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        _, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
        img = cast(np.ndarray, cv2.imdecode(data, cv2.IMREAD_GRAYSCALE))  # decodes its own JPEG
    return cv2.resize(img, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)


def render_sevenseg(
    rng: np.random.Generator, digit: int, config: SevenSegConfig = SevenSegConfig()
) -> np.ndarray:
    """One 32x20 uint8 grayscale crop of `digit` (0-9) on a 7-segment display
    under camera conditions."""
    if not 0 <= digit <= 9:
        raise ValueError(f"digit must be 0-9, not {digit}")
    cfg, fonts = config, font_paths(FONT_DIR)
    # matrix_p 0 draws no number for it: the 7-segment renders stay those of earlier versions
    if cfg.matrix_p and rng.random() < cfg.matrix_p:
        style, stretch = matrix_style(rng, cfg), 1.0
    elif fonts and rng.random() < cfg.font_p:
        style = font_style(fonts[int(rng.integers(len(fonts)))])
        width = (style.box[2] - style.box[0]) / GLYPH_H  # DSEG's digits are wide (0.8)
        stretch = uniform(rng, cfg.aspect) / width
    else:
        style, stretch = polygon_style(rng, cfg), 1.0  # drawn at a random width already
    slant = uniform(rng, cfg.slant_deg) if not style.italic and rng.random() < cfg.slant_p else 0.0
    pose = np.array([[stretch, -math.tan(math.radians(slant))], [0.0, 1.0]])  # top leans right
    ink, ghost, box, reach = _scene(rng, cfg, style, digit)
    affine, (cam_h, cam_w), margins = _layout(rng, cfg, box, reach, pose)
    # Warp at a size where the glyph shrinks at most 2x (no aliasing), then average down.
    k = max(1, math.ceil(0.5 / math.sqrt(abs(np.linalg.det(affine[:, :2])))))
    big = cv2.warpAffine(np.dstack([ink, ghost]), affine * k, (cam_w * k, cam_h * k))
    layers = cv2.resize(big, (cam_w, cam_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    lit = layers[..., 0]
    if rng.random() < cfg.ghost_p:  # unlit segments, faintly
        lit = np.maximum(lit, layers[..., 1] * uniform(rng, cfg.ghost_level))
    return _sensor(rng, cfg, _light(rng, cfg, lit, margins))


def render_sevenseg_batch(
    rng: np.random.Generator, count: int, config: SevenSegConfig = SevenSegConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """images uint8 [count,32,20], labels int64 [count] (digits uniformly)."""
    # Balanced, then shuffled: every class equally often, in no order a model could learn.
    labels = rng.permutation(np.arange(count, dtype=np.int64) % 10)
    images = np.empty((count, CROP_H, CROP_W), np.uint8)
    for i, digit in enumerate(labels):
        images[i] = render_sevenseg(rng, int(digit), config)
    return images, labels


def lcd_paths(data_dir: Path) -> list[Path]:
    """The real crops' files of data_dir (the lcd_digits folder, <0-9>/*.jpg), sorted by path;
    the folder N (not a digit) is left out."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"no LCD digit crops at {data_dir}: expected <0-9>/*.jpg folders")
    suffixes = (".jpg", ".jpeg", ".png")
    paths = sorted(p for p in data_dir.glob("[0-9]/*") if p.suffix.lower() in suffixes)
    if not paths:
        raise FileNotFoundError(f"no crops in {data_dir}/<0-9>/ (*.jpg)")
    return paths


def read_lcd_crop(path: Path) -> np.ndarray:
    """One real crop as the data set holds it, grey; ValueError naming a file that is not one."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError(f"cannot decode {path}")
    return image


def load_lcd_crops(data_dir: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The real crops of data_dir (the lcd_digits folder): images uint8 [n,32,20] (grayscale,
    resized with cv2.INTER_AREA to 20 wide x 32 high), labels int64 (0-9; the folder N, not a
    digit, is skipped), and the file names. Sorted by path for determinism."""
    paths = lcd_paths(data_dir)
    images = np.empty((len(paths), CROP_H, CROP_W), np.uint8)
    for i, path in enumerate(paths):
        images[i] = cv2.resize(read_lcd_crop(path), (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    labels = np.array([int(p.parent.name) for p in paths], np.int64)
    return images, labels, [p.name for p in paths]
