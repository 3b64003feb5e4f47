"""How well the model does on this device: pure functions over corrected readings and labels.

An example is one digit whose true value a person gave: a digit of a corrected reading (when
the correction has as many digits as were found), or a labelled drawing classified again by
the current model. Uncorrected readings are not counted: nobody said whether they were right.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

import numpy as np

logger = logging.getLogger(__name__)

CALIBRATION_BUCKETS = 10
PERCENTILES = (50, 95, 99)
T = TypeVar("T")


@dataclass(frozen=True)
class Example:
    true: int
    predicted: int
    confidence: float


# Accuracy on the labelled drawings and their examples, as the performance report uses them.
DrawingResults = tuple[dict[str, Any], tuple[Example, ...]]


def predicted_value(entry: dict[str, Any]) -> str:
    """What the model read, even when the reading withheld it for low confidence."""
    return entry.get("value") or "".join(str(d["digit"]) for d in entry.get("digits", []))


def reading_accuracy(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Corrected readings: a reading is right when what the model read equals the correction."""
    total = correct = 0
    for entry in entries:
        total += 1
        correct += predicted_value(entry) == entry["corrected_value"]
    return summary(total, correct)


def reading_examples(entries: Iterable[dict[str, Any]]) -> list[Example]:
    """One example per digit of each corrected reading whose digit count matches."""
    examples: list[Example] = []
    for entry in entries:
        truth, digits = entry["corrected_value"], entry.get("digits", [])
        if truth and len(truth) == len(digits):
            examples.extend(
                Example(int(t), int(d["digit"]), float(d["confidence"]))
                for t, d in zip(truth, digits, strict=True)
            )
    return examples


def label_examples(labels: Sequence[int], probs: np.ndarray) -> list[Example]:
    """Labelled digits with the current model's probabilities [N,10] for them."""
    best = probs.argmax(axis=1) if len(labels) else np.zeros(0, int)
    return [
        Example(int(t), int(p), float(probs[i, p]))
        for i, (t, p) in enumerate(zip(labels, best, strict=True))
    ]


def summary(total: int, correct: int) -> dict[str, Any]:
    return {
        "count": total,
        "correct": correct,
        "accuracy": round(correct / total, 4) if total else None,
    }


def accuracy(examples: Sequence[Example]) -> dict[str, Any]:
    return summary(len(examples), sum(e.true == e.predicted for e in examples))


def per_digit(examples: Sequence[Example]) -> list[dict[str, Any]]:
    """Accuracy by true digit, 0 to 9 (count 0 and accuracy null where there is none)."""
    return [{"digit": d, **accuracy([e for e in examples if e.true == d])} for d in range(10)]


def calibration(
    examples: Sequence[Example], buckets: int = CALIBRATION_BUCKETS
) -> list[dict[str, Any]]:
    """Confidence buckets: how often the model was right when it was this sure.

    A well calibrated model is right 90% of the time when it says 0.9.
    """
    rows = []
    for b in range(buckets):
        low, high = b / buckets, (b + 1) / buckets
        inside = [
            e
            for e in examples
            if low <= e.confidence < high or (b == buckets - 1 and e.confidence == 1.0)
        ]
        mean = float(np.mean([e.confidence for e in inside])) if inside else None
        rows.append(
            {
                "low": low,
                "high": high,
                **accuracy(inside),
                "mean_confidence": None if mean is None else round(mean, 4),
            }
        )
    return rows


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 (None for no values)."""
    if not values:
        return {f"p{p}": None for p in PERCENTILES}
    found = np.percentile(np.asarray(values, dtype=np.float64), PERCENTILES)
    return {f"p{p}": round(float(v), 3) for p, v in zip(PERCENTILES, found, strict=True)}


def hour_window(now: datetime, hours: int = 24) -> list[datetime]:
    """The starts of the last `hours` UTC hours, oldest first, the current hour last."""
    top = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return [top - timedelta(hours=h) for h in range(hours - 1, -1, -1)]


def per_hour(counts: dict[str, int], starts: Sequence[datetime]) -> list[dict[str, Any]]:
    """Counts keyed 'YYYY-MM-DDTHH' laid over the window; an hour with no readings shows 0."""
    return [
        {
            "hour": start.strftime("%Y-%m-%dT%H:00Z"),
            "count": counts.get(start.strftime("%Y-%m-%dT%H"), 0),
        }
        for start in starts
    ]


class Memo(Generic[T]):
    """The last value computed, kept while its key stays the same; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Hashable | None = None
        self._value: T | None = None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The kept value when `key` is the last one, else compute() kept under `key`."""
        # Held while computing, so concurrent requests wait for one result instead of each
        # running the model over every label.
        with self._lock:
            if self._value is None or self._key != key:
                self._value, self._key = compute(), key
            return self._value
