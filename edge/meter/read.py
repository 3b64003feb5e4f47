"""Counter and display regions of a frame: cells cut, read in one model call, wheels resolved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from edge.config import RegionSettings
from edge.meter.printed import Box, cell_boxes, cell_inputs
from edge.meter.wheels import format_value, resolve_wheels, rightmost_to_a_tenth, wheel_position
from edge.reading import Digit
from edge.vision.crops import crop_with_margin


class PrintedClassifier(Protocol):
    """What the reader needs from a printed-digit model (edge.meter.printed.PrintedModel)."""

    @property
    def version(self) -> str: ...

    def read(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class BoxOf(Protocol):
    """A configured box (pixels or fractions) -> frame pixels."""

    def __call__(self, box: Sequence[float]) -> Box: ...


def region_cells(region: RegionSettings, window: Box, frame_box: BoxOf) -> list[Box]:
    """The frame boxes of a meter region's digits, left to right."""
    if region.wheels:
        return [frame_box(wheel) for wheel in region.wheels]
    return cell_boxes(window, region.cell_count)


def read_meters(
    model_for: Callable[[RegionSettings], PrintedClassifier],
    gray: np.ndarray,
    regions: Sequence[tuple[RegionSettings, list[Box]]],
) -> list[list[Digit]]:
    """The digits of each meter region: one model call per printed-digit model (counter
    regions' and display regions' may differ: `model_for`) for all its cells of the frame."""
    out: list[list[Digit]] = [[] for _ in regions]
    by_model: dict[int, tuple[PrintedClassifier, list[int]]] = {}
    for i, (region, _) in enumerate(regions):
        model = model_for(region)
        by_model.setdefault(id(model), (model, []))[1].append(i)
    for model, members in by_model.values():
        boxes = [box for i in members for box in regions[i][1]]
        probs, positions = model.read(cell_inputs(gray, boxes))
        row = 0
        for i in members:
            region, cells = regions[i]
            n = len(cells)
            p, q = probs[row : row + n], positions[row : row + n]
            if region.kind == "counter":
                digits = wheel_digits(p, q, cells)
            else:
                digits = display_digits(p, cells)
            for digit in digits:
                digit.crop = crop_with_margin(gray, digit.box)
            out[i] = digits
            row += n
    return out


def top3(probs: np.ndarray, first: int) -> list[tuple[int, float]]:
    """The digit read, then the likeliest others (the repair of implausible values uses them)."""
    order = [first] + [int(k) for k in np.argsort(probs)[::-1] if int(k) != first]
    return [(k, float(probs[k])) for k in order[:3]]


def display_digits(probs: np.ndarray, cells: list[Box]) -> list[Digit]:
    digits = []
    for p, box in zip(probs, cells, strict=True):
        best = int(np.argmax(p))
        digits.append(Digit(digit=best, confidence=float(p[best]), box=box, top3=top3(p, best)))
    return digits


def wheel_digits(probs: np.ndarray, positions: np.ndarray, cells: list[Box]) -> list[Digit]:
    where = [wheel_position(q)[0] for q in positions]
    resolved = resolve_wheels(where, list(positions))
    digits = [
        Digit(digit=d, confidence=conf, box=box, top3=top3(p, d), position=pos)
        for (d, conf), pos, p, box in zip(resolved, where, probs, cells, strict=True)
    ]
    if digits:
        last = digits[-1]
        last.to_a_tenth = rightmost_to_a_tenth(last.digit, positions[-1])
    return digits


def meter_value(region: RegionSettings, digits: Sequence[Digit]) -> str:
    """The value as the meter shows it, decimal point included."""
    return format_value([d.digit for d in digits], region.decimals)
