"""Drawing primitives for mock camera frames: paper, ink, ruled lines, light, lens and sensor.

A scene is built flat (paper colour, then lines and digits composited by their alpha), then
seen through a camera: a small rotation/perspective warp, uneven light, blur, noise and JPEG.
Everything takes an explicit numpy Generator so each frame is reproducible on its own.
"""

from __future__ import annotations

import cv2
import numpy as np

FRAME_W, FRAME_H = 640, 480
Colour = tuple[float, float, float]  # BGR, 0..1

PAPER_WHITE: Colour = (0.94, 0.95, 0.95)
PAPER_CREAM: Colour = (0.80, 0.92, 0.95)
PAPER_GREY: Colour = (0.70, 0.71, 0.72)
BOARD_DARK: Colour = (0.16, 0.20, 0.18)  # slate / dark card, written on with chalk or paint pen
INK_BLACK: Colour = (0.10, 0.10, 0.12)
INK_BLUE: Colour = (0.55, 0.22, 0.12)
INK_PENCIL: Colour = (0.42, 0.42, 0.44)
INK_CHALK: Colour = (0.88, 0.90, 0.90)
LINE_BLUE: Colour = (0.92, 0.78, 0.62)
LINE_RED: Colour = (0.55, 0.55, 0.92)


def paper(rng: np.random.Generator, colour: Colour, texture: float) -> np.ndarray:
    """A HxWx3 float32 sheet: low-frequency blotches and fine grain of relative size `texture`."""
    coarse = cv2.resize(
        rng.normal(0, 1, (12, 16)).astype(np.float32),
        (FRAME_W, FRAME_H),
        interpolation=cv2.INTER_CUBIC,
    )
    grain = cv2.GaussianBlur(rng.normal(0, 1, (FRAME_H, FRAME_W)).astype(np.float32), (0, 0), 0.8)
    shade = 1.0 + texture * (0.6 * coarse + 0.4 * grain)
    return np.asarray(colour, np.float32)[None, None, :] * shade[:, :, None]


def composite(canvas: np.ndarray, alpha: np.ndarray, x: int, y: int, colour: Colour) -> None:
    """Lay ink of `colour` with coverage `alpha` (hxw, 0..1) at (x, y), clipped to the canvas."""
    h, w = alpha.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = canvas[y0:y1, x0:x1]
    region[:] = region * (1 - a) + np.asarray(colour, np.float32) * a


def glyph(
    mnist_image: np.ndarray, height: int, rng: np.random.Generator, weight: float = 0.0
) -> np.ndarray:
    """An MNIST digit as pen coverage (0..1), `height` px tall, with crisp pen-like edges.

    Upscaling a 20 px MNIST digit smears its 1 px anti-aliased rim over many pixels; a contrast
    ramp restores a pen's sharp edge at the same stroke width (the 0.5 level). `weight` > 0
    thickens and < 0 thins the stroke (fine pen or marker), in units of the stroke width.
    """
    ys, xs = np.nonzero(mnist_image)
    crop = mnist_image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255
    scale = height / crop.shape[0]
    aspect = rng.uniform(0.92, 1.08)  # writers vary in how wide they make digits
    # Two blank pixels around the crop give the cubic upscale room to fade out.
    padded = cv2.copyMakeBorder(crop, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0)
    size = (max(1, round(padded.shape[1] * scale * aspect)), max(1, round(padded.shape[0] * scale)))
    big = cv2.resize(padded, size, interpolation=cv2.INTER_CUBIC)
    level = 0.5 - 0.3 * weight
    sharpness = max(1.0, height / 28)
    alpha = np.clip((big - level) * 2.2 * sharpness + 0.5, 0, 1)
    return alpha


def tight(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box (x, y, w, h) of the visible ink in a coverage map."""
    ys, xs = np.nonzero(alpha > 0.25)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def ruled_lines(
    canvas: np.ndarray, rng: np.random.Generator, spacing: float, colour: Colour, margin_line: bool
) -> None:
    """Notebook rules across the sheet, and sometimes the red margin line."""
    y = rng.uniform(0, spacing)
    thickness = int(rng.integers(1, 3))
    strength = rng.uniform(0.55, 1.0)
    while y < FRAME_H:
        alpha = np.full((thickness, FRAME_W), strength, np.float32)
        composite(canvas, alpha, 0, int(y), colour)
        y += spacing
    if margin_line:
        composite(
            canvas,
            np.full((FRAME_H, 2), strength, np.float32),
            int(rng.uniform(30, 80)),
            0,
            LINE_RED,
        )


def scribble(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random pen squiggle (a stray mark, a crossed-out letter): coverage in a size x size box."""
    canvas = np.zeros((size, size), np.uint8)
    points = rng.uniform(0.1, 0.9, (int(rng.integers(3, 7)), 2)) * size
    thickness = max(1, size // 12)
    cv2.polylines(canvas, [points.astype(np.int32)], False, 255, thickness, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255


def camera_matrix(rng: np.random.Generator, max_degrees: float, perspective: float) -> np.ndarray:
    """The 3x3 sheet -> frame map of camera_warp, for scenes that check where the digits land."""
    centre = (FRAME_W / 2 + rng.normal(0, 20), FRAME_H / 2 + rng.normal(0, 20))
    rotation = cv2.getRotationMatrix2D(centre, rng.uniform(-max_degrees, max_degrees), 1.0)
    corners = np.float32([[0, 0], [FRAME_W, 0], [FRAME_W, FRAME_H], [0, FRAME_H]])
    jitter = rng.uniform(-perspective, perspective, (4, 2)) * [FRAME_W, FRAME_H]
    tilt = cv2.getPerspectiveTransform(corners, (corners + jitter).astype(np.float32))
    return tilt @ np.vstack([rotation, [0, 0, 1]])


def warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The flat sheet seen through a camera_matrix."""
    return cv2.warpPerspective(
        image, matrix, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def camera_warp(
    image: np.ndarray, rng: np.random.Generator, max_degrees: float, perspective: float
) -> np.ndarray:
    """Rotate a few degrees about a point near the centre and tilt the sheet a little."""
    return warp(image, camera_matrix(rng, max_degrees, perspective))


def lighting(
    rng: np.random.Generator,
    brightness: float,
    gradient: float,
    vignette: float,
    shadow: float,
    shadow_softness_px: float,
) -> np.ndarray:
    """A HxW illumination field: a linear gradient, vignetting and one soft-edged cast shadow."""
    yy, xx = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * (xx / FRAME_W - 0.5) + np.sin(angle) * (yy / FRAME_H - 0.5)
    field = 1.0 + gradient * ramp
    cx, cy = rng.uniform(0.3, 0.7) * FRAME_W, rng.uniform(0.3, 0.7) * FRAME_H
    radius2 = ((xx - cx) / FRAME_W) ** 2 + ((yy - cy) / FRAME_H) ** 2
    field *= 1.0 - vignette * np.clip(radius2 / 0.5, 0, 1)
    if shadow > 0:
        mask = np.zeros((FRAME_H, FRAME_W), np.float32)
        start = rng.uniform([0, 0], [FRAME_W, FRAME_H])
        direction = rng.normal(0, 1, 2)
        normal = np.array([-direction[1], direction[0]]) / (np.hypot(*direction) + 1e-6)
        side = (xx - start[0]) * normal[0] + (yy - start[1]) * normal[1] > 0
        mask[side] = 1.0
        mask = cv2.GaussianBlur(mask, (0, 0), max(shadow_softness_px, 0.5))
        field *= 1.0 - shadow * mask
    return (brightness * field).astype(np.float32)


def sensor(
    image: np.ndarray, rng: np.random.Generator, blur_sigma: float, noise_sigma: float
) -> np.ndarray:
    """Lens blur, then shot-like noise (stronger in bright areas) and read noise, to uint8 BGR."""
    if blur_sigma > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), blur_sigma)
    scaled = image * 255
    noise = rng.normal(0, 1, scaled.shape[:2]).astype(np.float32)[:, :, None]
    chroma = rng.normal(0, 0.4, scaled.shape).astype(np.float32)
    shot = 0.5 + 0.5 * np.sqrt(np.clip(scaled, 0, 255) / 255)  # brighter pixels are noisier
    scaled = scaled + noise_sigma * shot * (noise + chroma)
    return np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int) -> bytes:
    """Encode like a camera would: baseline JPEG, 4:2:0 chroma."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
