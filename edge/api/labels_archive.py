"""Labelled examples as a .zip in the layouts `digitcam train --extra-data DIR` reads.

- idx: `images-idx3-ubyte.gz` and `labels-idx1-ubyte.gz` (MNIST's own format: uint8,
  white digit on black, 28x28);
- png: folders `0/` .. `9/` of 28x28 grey PNGs named `<id>.png`.
Unzip into a folder and pass that folder to --extra-data.
"""

from __future__ import annotations

import gzip
import io
import logging
import zipfile
from collections.abc import Sequence

import numpy as np

from edge.store.label_files import ExportFormat, idx_bytes
from edge.vision.crops import png_bytes

logger = logging.getLogger(__name__)


def export_zip(
    ids: Sequence[int], images: Sequence[np.ndarray], labels: Sequence[int], fmt: ExportFormat
) -> bytes:
    """The examples as a zip archive in the chosen layout."""
    buffer = io.BytesIO()
    # The gz members are compressed already; PNGs are too. Storing them keeps this cheap.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        if fmt == "idx":
            stack = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
            archive.writestr("images-idx3-ubyte.gz", gzip.compress(idx_bytes(stack), mtime=0))
            archive.writestr(
                "labels-idx1-ubyte.gz",
                gzip.compress(idx_bytes(np.asarray(labels, np.uint8)), mtime=0),
            )
        else:
            for digit in range(10):
                archive.writestr(zipfile.ZipInfo(f"{digit}/"), b"")
            for label_id, image, label in zip(ids, images, labels, strict=True):
                archive.writestr(f"{label}/{label_id}.png", png_bytes(image))
    return buffer.getvalue()
