"""One FrameReader per region kind and number length, made when first asked for.

The measuring scripts read each frame as one whole-image region, as `digitcam predict --kind`
does: a `number` or `digit` region, a number told its count of digits when known.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from edge.config import RegionSettings
from edge.reader import Classifier, FrameReader
from edge.runs_model import RunModel

Readers = Callable[[str, "int | None"], FrameReader]  # kind, a number's length (None: any)


def region_readers(
    model: Classifier, min_confidence: float, device_id: str, runs: RunModel | None = None
) -> Readers:
    """reader(kind, digits): the reader of a whole-image region of that kind and length."""

    @functools.cache
    def reader(kind: str, digits: int | None = None) -> FrameReader:
        region = RegionSettings.whole_image("main", kind, digits)
        return FrameReader(model, [region], min_confidence, device_id, runs=runs)

    return reader
