"""Paper, pens, light and camera for the REPORT frames (see reportset.py).

A model of a phone or Pi photo of handwriting written apart from the tuning renderer
(render.py), so that what the reader was tuned on does not decide what it is measured on.
Ink is a filter: a pixel keeps paper * (1 - coverage * (1 - pen colour)), so a stroke over a
ruled line or inside a shadow darkens it the way real ink does. Colours are BGR, 0..1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 640, 480
PAPERS = {  # base colour of the sheet
    "white": (0.93, 0.94, 0.95),
    "cream": (0.80, 0.91, 0.96),
    "recycled": (0.76, 0.81, 0.81),
    "grey": (0.68, 0.69, 0.70),
}
RULE_COLOURS = ((0.90, 0.74, 0.58), (0.86, 0.80, 0.70), (0.70, 0.83, 0.72), (0.72, 0.72, 0.74))


@dataclass
class Pen:
    """How a writing tool leaves ink: colour, stroke width and graphite grain."""

    name: str  # pencil | ballpoint | felt-tip
    colour: np.ndarray  # BGR transmittance of a full stroke
    width_share: float  # stroke width as a share of the digit height
    min_width_px: float  # a thin pen is still at least this wide on the sensor
    grain: float  # 0: even ink; pencil leaves gaps where the paper's tooth is low


@dataclass
class Camera:
    """Where the sheet lands in the photo and how the photo degrades it."""

    matrix: np.ndarray  # 3x3 homography, sheet pixels -> photo pixels
    blur_sigma: float
    motion_px: int  # length of a hand-shake smear; 0 for none
    noise: float  # sensor noise, in 8-bit levels at mid grey
    vignette: float
    quality: int  # JPEG


def pick_pen(rng: np.random.Generator) -> Pen:
    """Pencil (grey, grainy), ballpoint (thin, blue-ish dark) or felt-tip (thick, dark)."""
    kind = rng.choice(["pencil", "ballpoint", "felt-tip"], p=[0.3, 0.4, 0.3])
    if kind == "pencil":
        grey = rng.uniform(0.28, 0.55)
        return Pen(
            "pencil",
            np.array([grey, grey, grey * 1.03]),
            rng.uniform(0.05, 0.09),
            1.3,
            rng.uniform(0.25, 0.6),
        )
    if kind == "ballpoint":
        blue = rng.random() < 0.75
        colour = (
            np.array([rng.uniform(0.35, 0.6), rng.uniform(0.12, 0.3), rng.uniform(0.04, 0.2)])
            if blue
            else np.full(3, rng.uniform(0.1, 0.2))
        )
        return Pen("ballpoint", colour, rng.uniform(0.03, 0.06), 1.1, rng.uniform(0.0, 0.12))
    return Pen(
        "felt-tip",
        rng.uniform(0.03, 0.16) + rng.uniform(0, 0.08, 3),
        rng.uniform(0.11, 0.19),
        2.2,
        0.0,
    )


def sheet(
    rng: np.random.Generator,
    ruling: str,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    spacing: float | None = None,
) -> np.ndarray:
    """A HxWx3 float32 sheet of paper: fibre clouds and grain, plain, ruled or grid."""
    w, h = size
    base = np.asarray(PAPERS[rng.choice(list(PAPERS))], np.float32) * rng.uniform(0.97, 1.03, 3)
    clouds = cv2.resize(
        rng.standard_normal((7, 9)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR
    )
    grain = rng.standard_normal((h, w), dtype=np.float32)
    shade = 1 + rng.uniform(0.01, 0.04) * clouds + rng.uniform(0.004, 0.02) * grain
    paper = base[None, None, :] * shade[:, :, None]
    if ruling == "ruled":
        rules(paper, rng, spacing or rng.uniform(20, 36), grid=False)
    elif ruling == "grid":
        rules(paper, rng, spacing or rng.uniform(12, 28), grid=True)
    return paper


def rules(paper: np.ndarray, rng: np.random.Generator, spacing: float, grid: bool) -> None:
    """Printed lines: horizontal rules (and a red margin now and then) or a squared grid."""
    h, w = paper.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    thickness = 1 if rng.random() < 0.75 else 2
    bold_every = int(rng.integers(4, 6)) if grid and rng.random() < 0.3 else 0
    for axis, length in ((0, h), (1, w)) if grid else ((0, h),):
        pos, n = rng.uniform(0, spacing), 0
        while pos < length:
            width = thickness + (1 if bold_every and n % bold_every == 0 else 0)
            a, b = (
                ((0, round(pos)), (w, round(pos)))
                if axis == 0
                else ((round(pos), 0), (round(pos), h))
            )
            cv2.line(mask, a, b, 255, width, cv2.LINE_AA)
            pos, n = pos + spacing, n + 1
    colour = np.asarray(RULE_COLOURS[int(rng.integers(len(RULE_COLOURS)))])
    ink(paper, mask.astype(np.float32) / 255 * rng.uniform(0.35, 0.85), colour)
    if not grid and rng.random() < 0.35:
        margin = np.zeros((h, w), np.float32)
        margin[:, int(rng.uniform(0.06, 0.14) * w)] = rng.uniform(0.5, 0.9)
        ink(paper, margin, np.array([0.62, 0.60, 0.92]))


def ink(
    paper: np.ndarray,
    coverage: np.ndarray,
    colour: np.ndarray,
    grain: float = 0.0,
    rng: np.random.Generator | None = None,
) -> None:
    """Filter the paper through ink of `colour` wherever `coverage` (HxW, 0..1) says, in place."""
    ys, xs = np.nonzero(coverage > 0.01)
    if len(ys) == 0:
        return
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    cover = coverage[y0:y1, x0:x1]
    if grain > 0 and rng is not None:
        tooth = cv2.GaussianBlur(rng.random(cover.shape, dtype=np.float32), (0, 0), 0.7)
        tooth = (tooth - tooth.mean()) / (tooth.std() + 1e-6)
        cover = cover * np.clip(1 - grain * (0.5 + 0.5 * tooth), 0.1, 1)
    filt = 1 - cover[:, :, None] * (1 - np.asarray(colour, np.float32))[None, None, :]
    paper[y0:y1, x0:x1] *= filt


def light(
    rng: np.random.Generator, size: tuple[int, int] = (WIDTH, HEIGHT), shadows: bool = True
) -> tuple[np.ndarray, list[str]]:
    """HxWx3 illumination of the sheet (gradient, soft and hard shadows) and its conditions."""
    w, h = size
    yy, xx = np.ogrid[0:h, 0:w]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (xx / w - 0.5) + np.sin(angle) * (yy / h - 0.5)
    field = (rng.uniform(0.62, 1.08) * (1 + rng.uniform(0, 0.5) * ramp)).astype(np.float32)
    tags: list[str] = []
    field = np.repeat(field[:, :, None], 3, axis=2)
    if shadows and rng.random() < 0.3:  # a soft shadow: a hand or the phone held far above
        small = np.zeros((h // 4, w // 4), np.float32)  # drawn small: the blur is wide anyway
        centre = (int(rng.uniform(0, w // 4)), int(rng.uniform(0, h // 4)))
        axes = (int(rng.uniform(0.05, 0.15) * w), int(rng.uniform(0.05, 0.15) * h))
        cv2.ellipse(small, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        blob = cv2.resize(
            cv2.GaussianBlur(small, (0, 0), rng.uniform(6, 18)),
            (w, h),
            interpolation=cv2.INTER_LINEAR,
        )
        field *= 1 - rng.uniform(0.2, 0.45) * blob[:, :, None] * np.array([0.9, 1.0, 1.0])
        tags.append("soft-shadow")
    if shadows and rng.random() < 0.3:  # a hard shadow: an object close to the sheet, sun or lamp
        field *= 1 - hard_shadow(rng, w, h)[:, :, None] * np.array([0.85, 1.0, 1.0])
        tags.append("hard-shadow")
    return field.astype(np.float32), tags


def hard_shadow(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Darkening (HxW) of a polygon entering from one side of the sheet, edges barely blurred."""
    side = int(rng.integers(4))
    depth = rng.uniform(0.2, 0.6)
    along = sorted(rng.uniform(-0.2, 1.2, 2))
    if side in (0, 2):  # from the top or bottom edge
        edge_y, tip_y = (0.0, depth) if side == 0 else (1.0, 1 - depth)
        pts = [
            (along[0], edge_y),
            (along[1], edge_y),
            (along[1] + rng.uniform(-0.3, 0.3), tip_y),
            (along[0] + rng.uniform(-0.3, 0.3), tip_y),
        ]
    else:
        edge_x, tip_x = (0.0, depth) if side == 3 else (1.0, 1 - depth)
        pts = [
            (edge_x, along[0]),
            (edge_x, along[1]),
            (tip_x, along[1] + rng.uniform(-0.3, 0.3)),
            (tip_x, along[0] + rng.uniform(-0.3, 0.3)),
        ]
    mask = np.zeros((h, w), np.float32)
    poly = np.array([[x * w, y * h] for x, y in pts], np.int32)
    cv2.fillPoly(mask, [poly], 1.0, cv2.LINE_AA)
    return cv2.GaussianBlur(mask, (0, 0), rng.uniform(0.6, 2.5)) * rng.uniform(0.25, 0.55)


def pick_camera(rng: np.random.Generator, digit_px: float, tilt: float) -> tuple[Camera, list[str]]:
    """A homography of strength `tilt`, blur that a person could still read, noise and JPEG."""
    corners = np.array([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]], np.float32)
    moved = corners + rng.uniform(-tilt, tilt, (4, 2)) * [WIDTH, HEIGHT]
    turn = np.deg2rad(rng.uniform(-5, 5))
    centre = np.array([WIDTH / 2, HEIGHT / 2])
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    moved = ((moved - centre) @ rot.T + centre).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    blur = min(rng.uniform(0, 1.8), max(0.5, digit_px / 22))
    motion = int(rng.integers(3, 8)) if rng.random() < 0.12 and digit_px > 30 else 0
    camera = Camera(
        matrix, blur, motion, rng.uniform(1.5, 9), rng.uniform(0, 0.35), int(rng.integers(40, 91))
    )
    tags = ["perspective"] if tilt > 0.05 else []
    tags += ["blur"] if blur > 1.0 or motion else []
    tags += ["noise"] if camera.noise > 6 else []
    tags += ["jpeg<60"] if camera.quality < 60 else []
    return camera, tags


def to_photo(points: np.ndarray, camera: Camera) -> np.ndarray:
    """Sheet (x, y) points, Nx2, as photo pixels."""
    return cv2.perspectiveTransform(
        points.reshape(-1, 1, 2).astype(np.float32), camera.matrix
    ).reshape(-1, 2)


def shoot(paper: np.ndarray, camera: Camera, rng: np.random.Generator, warp: bool = True) -> bytes:
    """The lit sheet photographed: warp, vignette, blur or shake, sensor noise, JPEG."""
    h, w = paper.shape[:2]
    image = paper
    if warp:
        image = cv2.warpPerspective(
            paper, camera.matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101
        )
    if camera.vignette > 0:
        yy, xx = np.ogrid[0:h, 0:w]
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        image = image * (1 - camera.vignette * 0.5 * r2).astype(np.float32)[:, :, None]
    if camera.motion_px:
        kernel = np.zeros((camera.motion_px, camera.motion_px), np.float32)
        cv2.line(
            kernel,
            (0, int(rng.integers(camera.motion_px))),
            (camera.motion_px - 1, int(rng.integers(camera.motion_px))),
            1.0,
            1,
        )
        image = cv2.filter2D(image, -1, kernel / kernel.sum())
    if camera.blur_sigma > 0.1:
        image = cv2.GaussianBlur(image, (0, 0), camera.blur_sigma)
    level = np.clip(image, 0, 1) * 255
    luma = rng.standard_normal((h, w), dtype=np.float32)[:, :, None]
    chroma = 0.5 * rng.standard_normal((h, w, 3), dtype=np.float32)
    # Shot noise grows with the signal, read noise does not.
    sigma = camera.noise * (0.4 + 0.6 * np.sqrt(level / 128))
    pixels = np.clip(level + sigma * (luma + chroma) + 0.5, 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, camera.quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
