"""The run reader: an ONNX network that reads a blob of touching digits whole (CTC).

A number written with its digits touching or overlapping reaches the reader as one blob.
When no cut makes sure digits of it, edge.vision marks it `unread` and the number is not
published. The run reader (trained by training.touching) reads such a blob without cutting
it: for each column of the fitted blob (edge.vision.runs.fit_run) it gives the chance of
each digit and of "no digit here" (`blank`), and the best path through the columns is the
digit sequence (greedy CTC decoding). A digit's probabilities are those of the column where
it is surest, so a run read with doubt stays `low_confidence`.

Contract: input `image` float32 [N,1,RUN_HEIGHT,RUN_WIDTH] (white on black, 0..1), output
`probs` float32 [N,T,11] (softmax over the ten digits and blank, index 10), metadata
`version`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.config import ModelSettings, RegionSettings
from edge.model import SessionModel
from edge.vision.find import DigitCandidate
from edge.vision.normalise import to_mnist
from edge.vision.runs import MARGIN, RUN_HEIGHT, RUN_WIDTH, fit_run

BLANK = 10
# An unread blob narrower than this share of its height is a scrap or a lone stroke, not
# digits run together: the run reader leaves it unread.
RUN_MIN_WIDTH = 0.6
# A digit of a run wider than this share of the run's height holds a digit the run reader
# skipped: the blob stays unread.
RUN_MAX_WIDTH = 1.0
COLUMNS = RUN_WIDTH // 4  # the network pools the field's width twice by 2
SIGNATURE = {"image": (1, RUN_HEIGHT, RUN_WIDTH), "probs": (COLUMNS, BLANK + 1)}
EXPECTED = (
    f"a DigitCam run reader has input 'image' float32 [N,1,{RUN_HEIGHT},{RUN_WIDTH}] and "
    f"output 'probs' float32 [N,{COLUMNS},{BLANK + 1}]"
)


@dataclass(frozen=True)
class RunDigit:
    """One digit of a run: its probabilities [10] and where it lies, 0..1 of the run's width."""

    probs: np.ndarray
    left: float
    right: float


def decode(probs: np.ndarray, width: int) -> list[RunDigit]:
    """Greedy CTC over one run's column probabilities [T,11]; `width`: the fitted ink's
    width in the field, so that each digit's place maps back onto the blob."""
    best = probs.argmax(axis=1)
    steps = probs.shape[0]
    column = RUN_WIDTH / steps
    spans: list[list[int]] = []  # per digit: the columns it holds
    last = BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != last:
            spans.append([t])
        elif k != BLANK:
            spans[-1].append(t)
        last = int(k)
    centre = [(s[0] + s[-1] + 1) / 2 * column - MARGIN for s in spans]
    digits = []
    for i, span in enumerate(spans):
        surest = max(span, key=lambda t: probs[t, best[t]])
        left = 0.0 if i == 0 else (centre[i - 1] + centre[i]) / 2
        right = float(width) if i == len(spans) - 1 else (centre[i] + centre[i + 1]) / 2
        digits.append(
            RunDigit(
                probs=np.array(probs[surest, :BLANK], np.float32),
                left=float(np.clip(left / width, 0.0, 1.0)),
                right=float(np.clip(right / width, 0.0, 1.0)),
            )
        )
    return digits


@dataclass
class RunModel(SessionModel):
    """Reads blobs of touching digits (their ink, float32 0..1, white on black)."""

    KEY = "model.runs_path"
    SIGNATURE = SIGNATURE
    WHAT = "run reader"
    EXPECTED = EXPECTED
    NAME = "runs-ctc"

    def warm_up(self) -> None:
        self.read([np.ones((10, 20), np.float32)])

    def read(self, inks: list[np.ndarray]) -> list[list[RunDigit]]:
        """The digits of each blob, left to right (empty when it reads none)."""
        if not inks:
            return []
        fitted = [fit_run(ink) for ink in inks]
        batch = np.stack(fitted)[:, None].astype(np.float32)
        (probs,) = self._session.run(["probs"], {"image": batch})
        widths = [ink_width(f) for f in fitted]
        return [decode(p, w) for p, w in zip(probs, widths, strict=True)]


def slice_ink(ink: np.ndarray, digit: RunDigit) -> np.ndarray:
    """The columns of a blob's ink that the run reader gave one digit."""
    w = ink.shape[1]
    left = min(round(digit.left * w), w - 1)
    return ink[:, left : max(round(digit.right * w), left + 1)]


def read_blobs(
    runs: RunModel,
    predict: Callable[[np.ndarray], np.ndarray],
    unread: Sequence[DigitCandidate],
) -> dict[int, list[tuple[RunDigit, np.ndarray]]]:
    """Unread blobs of a number's row read whole as digits run together, by id: each digit
    with its model input, read with the run reader's probabilities; `predict`: the digit
    model's.

    A blob on the number's row that no cut made digits of (two or more digits run
    together, as often as not) is read by the run reader. Each digit it reads is cut at
    the run reader's boundaries and read again by the digit model: the blob counts as
    read only when it holds two or more digits (a lone mark left unread is unread for
    other reasons: off the row, too faint or short), both readers agree on every digit
    and none is wider than RUN_MAX_WIDTH of the blob's height (a digit the run reader
    skipped). Each digit keeps the run reader's probabilities, so an unsure one still
    makes the number `low_confidence`. A blob at most RUN_MIN_WIDTH of its height wide (a
    scrap, a lone stroke) is not read.
    """
    blobs = [c for c in unread if c.box[2] > RUN_MIN_WIDTH * c.box[3]]
    if not blobs:
        return {}
    read_all = runs.read([c.ink for c in blobs])
    pieces = [
        (c, d, slice_ink(c.ink, d))
        for c, run in zip(blobs, read_all, strict=True)
        if len(run) >= 2
        and all((d.right - d.left) * c.box[2] <= RUN_MAX_WIDTH * c.box[3] for d in run)
        for d in run
    ]
    if not pieces:
        return {}
    images = np.stack([to_mnist(ink) for _, _, ink in pieces])
    probs = np.asarray(predict(images[:, None, :, :]), dtype=np.float32)
    read: dict[int, list[tuple[RunDigit, np.ndarray]]] = {}
    vetoed: set[int] = set()
    for (c, d, _), image, p in zip(pieces, images, probs, strict=True):
        if int(np.argmax(p)) != int(np.argmax(d.probs)):
            vetoed.add(id(c))
        read.setdefault(id(c), []).append((d, image))
    return {k: v for k, v in read.items() if k not in vetoed}


def ink_width(fitted: np.ndarray) -> int:
    """How wide the blob's ink stands in the fitted field, from the left margin."""
    cols = np.nonzero(fitted.any(axis=0))[0]
    return int(cols[-1]) - MARGIN + 1 if cols.size else 1


def load_runs(path: Path | None, threads: int = 1) -> RunModel | None:
    """The run reader in `path`, or None when no path is given."""
    return RunModel(path, threads=threads) if path is not None else None


def runs_for(model: ModelSettings, regions: Sequence[RegionSettings]) -> RunModel | None:
    """The run reader the settings name, when a number region can use it (else None)."""
    if not any(r.kind == "number" for r in regions):
        return None
    return load_runs(model.runs_path, model.threads)
