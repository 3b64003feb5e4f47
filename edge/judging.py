"""The handwriting model's answers about candidate inks, each ink asked once per frame.

What the reader needs from a model (the protocols below; edge.model.DigitModel has them all)
and the calls it makes: a candidate's probabilities, how likely it is a digit at all (the
judge's not-a-digit output) and how likely the stricter judge of a lone digit finds it none.
A frame's answers are remembered in a `Judged` dict, so a candidate the judge has seen while
the digits were found is not normalised or run again when it is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, cast

import numpy as np

from edge.reading import Digit
from edge.vision.crops import crop_with_margin
from edge.vision.find import DigitCandidate
from edge.vision.normalise import to_mnist

logger = logging.getLogger(__name__)

Box = tuple[int, int, int, int]
# What the judge computed for one candidate ink, reused when that candidate is read:
# the ink itself (kept alive so its id stays unique), the model input, the probabilities,
# how likely it is a digit at all (1.0 when the model has no not-a-digit output) and how
# likely the stricter judge of a lone digit finds it no digit (NaN when not asked).
Judged = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]


class Classifier(Protocol):
    """What FrameReader needs from a model (edge.model.DigitModel has it)."""

    @property
    def version(self) -> str: ...

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


class RejectingClassifier(Classifier, Protocol):
    """A model that also says how likely an input is not a digit at all."""

    rejects: bool

    def scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class LoneJudge(RejectingClassifier, Protocol):
    """A model with a stricter judge for a reading of one digit (edge.lone.lone_check)."""

    judges_lone: bool

    def lone_not_digit(self, batch: np.ndarray) -> np.ndarray: ...

    def judge_scores(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def answers(
    model: Classifier, images: np.ndarray, judge: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's answers for model inputs [N,28,28], in one call: probabilities [N,10],
    not-a-digit [N] (zeros unless `judge`) and the lone-digit judge's [N] (NaN when the
    model has none: edge.lone.lone_check asks it then if it needs to)."""
    batch = images[:, None, :, :]
    if getattr(model, "judges_lone", False):
        return cast(LoneJudge, model).judge_scores(batch)
    lone = np.full(len(images), np.nan, np.float32)
    if judge:
        return (*cast(RejectingClassifier, model).scores(batch), lone)
    return model.predict(batch), np.zeros(len(images), np.float32), lone


def judge_inks(model: Classifier, inks: Sequence[np.ndarray], judged: Judged) -> np.ndarray:
    """How likely each candidate ink is a digit (1 - not_digit); remembers what it computed."""
    inputs = np.stack([to_mnist(ink) for ink in inks])
    probs, not_digit, lone = answers(model, inputs, judge=True)
    digit_score = 1.0 - np.asarray(not_digit, np.float64)
    for ink, image, p, score, strict in zip(
        inks, inputs, np.asarray(probs, np.float32), digit_score, lone, strict=True
    ):
        judged[id(ink)] = (ink, image, p, float(score), float(strict))
    return digit_score


def classify(
    model: Classifier, candidates: list[DigitCandidate], judged: Judged | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs [N,28,28] and probabilities [N,10] for all digits, in one model call.

    Candidates the judge has already seen are not normalised or run again.
    """
    if not candidates:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0, 10), np.float32)
    if judged is None:
        judged = {}
    fresh = [c for c in candidates if id(c.ink) not in judged]
    if fresh:
        images = np.stack([to_mnist(c.ink) for c in fresh])
        probs, _, lone = answers(model, images, judge=False)
        for c, image, p, strict in zip(
            fresh, images, np.asarray(probs, np.float32), lone, strict=True
        ):
            judged[id(c.ink)] = (c.ink, image, p, 1.0, float(strict))
    inputs = np.stack([judged[id(c.ink)][1] for c in candidates])
    return inputs, np.stack([judged[id(c.ink)][2] for c in candidates])


def make_digit(
    probs: np.ndarray, image: np.ndarray, box: Box, origin: tuple[int, int], gray: np.ndarray
) -> Digit:
    """A reading's digit from its probabilities and model input; `box` is in the region's
    pixels, whose top-left corner is `origin` in the frame `gray`."""
    order = np.argsort(probs)[::-1][:3]
    x, y, w, h = box
    frame_box = (x + origin[0], y + origin[1], w, h)
    return Digit(
        digit=int(order[0]),
        confidence=float(probs[order[0]]),
        box=frame_box,
        top3=[(int(k), float(probs[k])) for k in order],
        image=image,
        crop=crop_with_margin(gray, frame_box),  # a view: copied only when stored
    )


def doubt(digit: int, other: np.ndarray, min_confidence: float) -> float:
    """The most confidence `digit` may carry when another version of its ink (the cell
    without its frame, the ink along a ruled line put back) reads as `other`: that reading's
    probability of the digit when it is surely another digit, else 1."""
    if int(np.argmax(other)) != digit and float(other.max()) >= min_confidence:
        return float(other[digit])
    return 1.0
