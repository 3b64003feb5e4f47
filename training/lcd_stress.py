"""The real LCD crops of the tune half under camera changes: a tune figure display models can
still be told apart by.

The tune half (training.printed_eval.lcd_half) is 52 crops, and the shipped display model
reads every one of them: on it alone two display recipes tie. Shown again, each crop
STRESS_COPIES times, each copy as another camera, light and box would show it (the changes
below, drawn from STRESS_SEED so that every model meets the same copies), the same crops keep
a model's weak spots in view: a display model that reads its 52 crops right misreads some
copies, and surely. Only the tune half is stressed; the report half is only counted as it is.

Each copy, on the crop as the data set holds it (before the resize to 20x32): scaled 0.85-1.15,
turned up to 4 degrees, slanted up to 0.12, moved up to a tenth of the width and 7% of the
height (the border repeated); blurred up to 1.2 output pixels; then at 20x32 its contrast cut
to 35-100% around its mean and its level moved up to 30 grey levels, a gamma of 0.7-1.4, light
falling up to 25 levels from one side to the other, and sensor noise up to 8 levels.
"""

from __future__ import annotations

import cv2
import numpy as np

from training.meter_data import CROP_H, CROP_W

STRESS_SEED = 4242
STRESS_COPIES = 20


def stressed(
    originals: list[np.ndarray],
    labels: np.ndarray,
    copies: int = STRESS_COPIES,
    seed: int = STRESS_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """`copies` changed copies of each grey crop (any size), in order: uint8 [N*copies,32,20]
    and their labels."""
    rng = np.random.default_rng(seed)
    images = []
    for src in originals:
        src = src.astype(np.float32)
        h, w = src.shape
        for _ in range(copies):
            images.append(_copy(src, h, w, rng))
    return np.stack(images).reshape(-1, CROP_H, CROP_W), np.repeat(np.asarray(labels), copies)


def _copy(src: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    scale, angle, slant = rng.uniform(0.85, 1.15), rng.uniform(-4, 4), rng.uniform(-0.12, 0.12)
    tx, ty = rng.uniform(-0.1, 0.1) * w, rng.uniform(-0.07, 0.07) * h
    affine = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    affine[0, 1] += slant
    affine[0, 2] += tx - slant * h / 2
    affine[1, 2] += ty
    out = cv2.warpAffine(src, affine, (w, h), borderMode=cv2.BORDER_REPLICATE)
    sigma = rng.uniform(0, 1.2) * w / CROP_W
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    out = cv2.resize(out, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.35, 1.0) + mean + rng.uniform(-30, 30)
    out = 255 * np.clip(out / 255, 0, 1) ** rng.uniform(0.7, 1.4)
    ramp = np.linspace(-1, 1, CROP_W)[None, :] * rng.uniform(-25, 25)
    out = out + ramp + rng.normal(0, rng.uniform(0, 8), out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)
