"""What hides a counter wheel from the camera, drawn over a 32x20 crop.

A glare spot burns a wheel out white, a sticker or a dark smudge covers it, or a box holds no
wheel at all. Each is drawn over the crop's middle, large enough that no digit can be told.
`digitcam train --printed --hidden P` teaches such crops as every position alike, so a
hidden wheel reads unsure and its reading is not published as a value; `digitcam evaluate
--printed` counts how often hidden report wheels are still read surely (a guess).
"""

from __future__ import annotations

import numpy as np

HIDERS = ("glare", "sticker", "smudge", "blank")


def hide(crop: np.ndarray, rng: np.random.Generator, how: str) -> None:
    """Draw `how` (one of HIDERS) over `crop`, a float32 [H,W] image 0..1, in place."""
    if how not in HIDERS:
        raise ValueError(f"hider {how!r}: one of {', '.join(HIDERS)}")
    height, width = crop.shape
    noise = rng.normal(0.0, rng.uniform(0.0, 0.04), crop.shape).astype(np.float32)
    if how == "blank":
        crop[:] = np.clip(float(rng.uniform(0.0, 1.0)) + noise, 0.0, 1.0)
        return
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy = height / 2 + rng.uniform(-0.1, 0.1) * height
    cx = width / 2 + rng.uniform(-0.1, 0.1) * width
    angle = rng.uniform(-0.5, 0.5)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    soft = rng.uniform(0.5, 2.0)  # px: how soft the edge is
    if how == "sticker":  # a rectangle across the wheel's width
        half_w, half_h = rng.uniform(0.55, 0.7) * width, rng.uniform(0.42, 0.55) * height
        inside = np.minimum(half_w - np.abs(u), half_h - np.abs(v))
        level, opacity = float(rng.uniform(0.0, 1.0)), 1.0
    else:  # an ellipse: glare burnt white, or a dark smudge
        a, b = rng.uniform(0.5, 0.75) * width, rng.uniform(0.42, 0.55) * height
        inside = (1.0 - np.sqrt((u / a) ** 2 + (v / b) ** 2)) * min(a, b)
        level = 1.0 if how == "glare" else float(rng.uniform(0.0, 0.1))
        opacity = 1.0 if how == "glare" else float(rng.uniform(0.85, 1.0))
    cover = opacity / (1.0 + np.exp(-inside / soft))
    crop[:] = np.clip(crop * (1 - cover) + (level + noise) * cover, 0.0, 1.0)
