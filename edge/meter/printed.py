"""The printed-digit ONNX model (meter wheels, 7-segment displays) and the cells it reads.

Its contract mirrors the handwriting model's: one file, metadata, normalisation inside, a
`probs` [N,10] output; the input is a digit's crop as the camera sees it, grey 32x20, and a
second output `positions` [N,100] says where a wheel stands in tenths (edge.meter.wheels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from edge.model import SessionModel

BUNDLED_PRINTED = "printed-cnn.onnx"
CROP_H, CROP_W = 32, 20
SIGNATURE = {"image": (1, CROP_H, CROP_W), "probs": (10,), "positions": (100,)}
EXPECTED = (
    "a DigitCam printed-digit model has input 'image' float32 [N,1,32,20] and outputs "
    "'probs' float32 [N,10] and 'positions' float32 [N,100]"
)
Box = tuple[int, int, int, int]


def bundled_printed_path() -> Path:
    """The printed-digit model shipped inside the edge package."""
    return Path(str(resources.files("edge") / "models" / BUNDLED_PRINTED))


@dataclass
class PrintedModel(SessionModel):
    """Reads batches of 32x20 grey digit crops (0..1, either polarity)."""

    KEY = "model.printed_path"
    SIGNATURE = SIGNATURE
    WHAT = "printed-digit model"
    EXPECTED = EXPECTED
    NAME = "printed-cnn"

    def warm_up(self) -> None:
        self.read(np.zeros((2, 1, CROP_H, CROP_W), np.float32))

    def read(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """probs [N,10] and positions [N,100] for a float32 batch [N,1,32,20]."""
        if batch.shape[0] == 0:
            return np.zeros((0, 10), np.float32), np.zeros((0, 100), np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        probs, positions = self._session.run(["probs", "positions"], {"image": batch})
        return probs, positions


def load_printed(path: Path | None, threads: int = 1) -> PrintedModel:
    """The configured printed-digit model, or the shipped one when no path is set."""
    return PrintedModel(path or bundled_printed_path(), threads=threads)


def cell_boxes(box: Box, cells: int) -> list[Box]:
    """A window [x, y, w, h] cut into `cells` equal columns, left to right."""
    x, y, w, h = box
    edges = [x + round(w * i / cells) for i in range(cells + 1)]
    return [(edges[i], y, edges[i + 1] - edges[i], h) for i in range(cells)]


def cell_inputs(gray: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    """The model input [N,1,32,20] (0..1) for each cell of a grey frame; empty cells are 0."""
    out = np.zeros((len(boxes), 1, CROP_H, CROP_W), np.float32)
    for i, (x, y, w, h) in enumerate(boxes):
        cell = gray[y : y + h, x : x + w]
        if cell.size:
            small = cv2.resize(cell, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA)
            out[i, 0] = small.astype(np.float32) / 255.0
    return out
