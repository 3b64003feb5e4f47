"""One FrameReader per region kind and number length, made when first asked for.

The measuring scripts read each frame as one whole-image region, as `digitcam predict --kind`
does: a `number` or `digit` region, a number told its count of digits when known.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable
from pathlib import Path

from edge.config import ModelSettings, RegionSettings
from edge.judging import Classifier
from edge.reader import FrameReader
from edge.rows_model import RowModel, rows_for
from edge.runs_model import RunModel

Readers = Callable[[str, "int | None"], FrameReader]  # kind, a number's length (None: any)


def add_rows_arguments(parser: argparse.ArgumentParser) -> None:
    """--rows / --no-rows: the row reader number regions use, as the daemon's settings do."""
    parser.add_argument(
        "--rows", type=Path, default=None, help="row-reader ONNX (default: the shipped one)"
    )
    parser.add_argument(
        "--no-rows", action="store_true", help="numbers read digit by digit alone (no row reader)"
    )


def rows_from(args: argparse.Namespace) -> RowModel | None:
    """The row reader --rows / --no-rows ask for, found as the daemon finds it."""
    settings = ModelSettings(row_reader=not args.no_rows, rows_path=args.rows)
    return rows_for(settings, [RegionSettings(kind="number")])


def region_readers(
    model: Classifier,
    min_confidence: float,
    device_id: str,
    runs: RunModel | None = None,
    rows: RowModel | None = None,
    weigh_page: bool = True,
) -> Readers:
    """reader(kind, digits): the reader of a whole-image region of that kind and length;
    weigh_page off: a lone digit judged by the model alone (FrameReader.lone_check)."""

    @functools.cache
    def reader(kind: str, digits: int | None = None) -> FrameReader:
        region = RegionSettings.whole_image("main", kind, digits)
        read = FrameReader(model, [region], min_confidence, device_id, runs=runs, rows=rows)
        read.weigh_page = weigh_page
        return read

    return reader
