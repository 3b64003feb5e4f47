"""A failing frame drawn for a person: what should be there, what the reader found, and why."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from edge.reading import Digit

RED, GREEN = (0, 0, 255), (0, 170, 0)  # BGR


def save_annotated(
    path: Path,
    gray: np.ndarray,
    digits: Iterable[Digit],
    caption: str,
    expected_boxes: Sequence[Sequence[int]] = (),
) -> None:
    """Write the frame with the expected boxes (green), the digits read (red) and a caption."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = 4 if max(gray.shape) < 200 else 1  # crops: big enough to see
    image = cv2.resize(
        cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), None, fx=scale, fy=scale,
        interpolation=cv2.INTER_NEAREST,
    )  # fmt: skip
    for x, y, w, h in (tuple(int(v) for v in box) for box in expected_boxes):
        top_left, bottom_right = (x * scale, y * scale), ((x + w) * scale, (y + h) * scale)
        cv2.rectangle(image, top_left, bottom_right, GREEN, 1)
    for d in digits:
        x, y, w, h = (v * scale for v in d.box)
        cv2.rectangle(image, (x, y), (x + w, y + h), RED, 1)
        label = f"{d.digit} {d.confidence:.2f}"
        cv2.putText(image, label, (x, max(10, y - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, RED, 1)
    cv2.putText(image, caption, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, GREEN, 1)
    cv2.imwrite(str(path), image)
