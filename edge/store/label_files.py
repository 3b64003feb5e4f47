"""Labelled examples to and from folders of files, in the layouts `digitcam train --extra-data`
reads (training/extra_data.py):

- png: `0/` .. `9/` of 28x28 grey PNGs (white digit on black, MNIST's convention);
- idx: `images-idx3-ubyte.gz` and `labels-idx1-ubyte.gz` (MNIST's own format).
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from edge.vision.crops import png_bytes

ExportFormat = Literal["idx", "png"]
IDX_UBYTE = 0x08
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".pgm", ".pnm")


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: magic (0, 0, type, dims), big-endian uint32 sizes, then the raw bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, IDX_UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_labels(
    out: Path,
    ids: Sequence[int],
    images: Sequence[np.ndarray],
    labels: Sequence[int],
    fmt: ExportFormat,
) -> list[Path]:
    """Write the examples into folder `out` (created); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "idx":
        stack = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
        pairs = (
            ("images-idx3-ubyte.gz", stack),
            ("labels-idx1-ubyte.gz", np.asarray(labels, np.uint8)),
        )
        for name, array in pairs:
            (out / name).write_bytes(gzip.compress(idx_bytes(array), mtime=0))
        return [out / name for name, _ in pairs]
    written = []
    for digit in range(10):
        (out / str(digit)).mkdir(exist_ok=True)
    for label_id, image, label in zip(ids, images, labels, strict=True):
        path = out / str(label) / f"{label_id}.png"
        path.write_bytes(png_bytes(image))
        written.append(path)
    return written


def labelled_files(folder: Path) -> list[tuple[Path, int]]:
    """(image file, digit) for every image in `folder/<digit>/`, sorted."""
    found = []
    for digit in range(10):
        sub = folder / str(digit)
        if sub.is_dir():
            found += [
                (p, digit)
                for p in sorted(sub.iterdir())
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            ]
    return found
