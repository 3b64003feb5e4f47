"""The printed-digit ONNX models (meter wheels; 7-segment and dot-matrix displays) and the
cells they read.

Two files of one contract ship: `printed-cnn.onnx` reads counter regions, `display-cnn.onnx`
display regions (trained with rendered dot-matrix LCDs as well; README, "The printed-digit
model").

Its contract mirrors the handwriting model's: one file, metadata, normalisation inside, a
`probs` [N,10] output; the input is a digit's crop as the camera sees it, grey 32x20, and a
second output `positions` [N,100] says where a wheel stands in tenths (edge.meter.wheels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from edge.meter.settings import PRINTED_KINDS
from edge.model import SessionModel
from edge.vision.normalise import shifted

if TYPE_CHECKING:
    from edge.config import ModelSettings

BUNDLED_PRINTED = "printed-cnn.onnx"
BUNDLED_DISPLAY = "display-cnn.onnx"
CROP_H, CROP_W = 32, 20
SIGNATURE = {"image": (1, CROP_H, CROP_W), "probs": (10,), "positions": (100,)}
EXPECTED = (
    "a DigitCam printed-digit model has input 'image' float32 [N,1,32,20] and outputs "
    "'probs' float32 [N,10] and 'positions' float32 [N,100]"
)
Box = tuple[int, int, int, int]
# A crop whose likeliest digit has less than this probability is read twice more, shifted a
# pixel left and right, and the three readings averaged: the network is not quite indifferent
# to where a digit sits across its cell, and an unsure crop is where that decides. About one
# crop in ten is looked at again (README, "A second look at unsure crops").
SECOND_LOOK_BELOW = 0.9
Outputs = tuple[np.ndarray, np.ndarray]


def bundled_printed_path(name: str = BUNDLED_PRINTED) -> Path:
    """A printed-digit model shipped inside the edge package (counter regions' by default)."""
    return Path(str(resources.files("edge") / "models" / name))


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

    def read(self, batch: np.ndarray, second_look: bool = True) -> Outputs:
        """probs [N,10] and positions [N,100] for a float32 batch [N,1,32,20]; unsure crops
        are looked at again (second_look_at) unless `second_look` is False."""
        if batch.shape[0] == 0:
            return np.zeros((0, 10), np.float32), np.zeros((0, 100), np.float32)
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        return second_look_at(self._run, batch) if second_look else self._run(batch)

    def _run(self, batch: np.ndarray) -> Outputs:
        probs, positions = self._session.run(["probs", "positions"], {"image": batch})
        return probs, positions


def second_look_at(run: Callable[[np.ndarray], Outputs], batch: np.ndarray) -> Outputs:
    """`run` on the batch, then once more on the unsure crops shifted a pixel left and right
    (edges repeated); each unsure crop's outputs are the mean of its three readings."""
    probs, positions = run(batch)
    unsure = np.flatnonzero(probs.max(1) < SECOND_LOOK_BELOW)
    if unsure.size == 0:
        return probs, positions
    crops = batch[unsure]
    left, right = shifted(crops, 0, -1, edge=True), shifted(crops, 0, 1, edge=True)
    more_probs, more_positions = run(np.concatenate([left, right]))
    n = unsure.size
    probs, positions = probs.copy(), positions.copy()
    probs[unsure] = (probs[unsure] + more_probs[:n] + more_probs[n:]) / 3
    positions[unsure] = (positions[unsure] + more_positions[:n] + more_positions[n:]) / 3
    return probs, positions


@dataclass
class DisplayModel(PrintedModel):
    """The printed-digit model of display regions: the same contract, its own settings key."""

    KEY = "model.display_path"


def load_printed(path: Path | None, threads: int = 1) -> PrintedModel:
    """The configured printed-digit model, or the shipped one when no path is set."""
    return PrintedModel(path or bundled_printed_path(), threads=threads)


def load_display(
    display_path: Path | None, printed_path: Path | None, threads: int = 1
) -> PrintedModel:
    """The model display regions read with: model.display_path; else model.printed_path when
    that is set (one model of the user's for both kinds, as before there were two); else the
    shipped display model."""
    if display_path is None and printed_path is not None:
        return PrintedModel(printed_path, threads=threads)
    return DisplayModel(display_path or bundled_printed_path(BUNDLED_DISPLAY), threads=threads)


def printed_model_for(model: ModelSettings, kind: str) -> PrintedModel:
    """The printed-digit model regions of `kind` (counter or display) read with, as `model`
    (the settings' model section) configures it. ModelError naming the settings key if it
    cannot load."""
    if kind == "display":
        return load_display(model.display_path, model.printed_path, model.threads)
    return load_printed(model.printed_path, model.threads)


def printed_models(
    model: ModelSettings, kinds: Iterable[str]
) -> tuple[PrintedModel | None, PrintedModel | None]:
    """The printed-digit models regions of `kinds` need: (counter regions', display regions'),
    None where no region needs one."""
    kinds = set(kinds)
    counter, display = (printed_model_for(model, k) if k in kinds else None for k in PRINTED_KINDS)
    return counter, display


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
