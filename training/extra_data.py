"""Labelled examples from the device (drawings, corrected camera crops) for fine-tuning.

Two layouts are accepted, both written by the device's label export:
- IDX: a folder with `images-idx3-ubyte[.gz]` and `labels-idx1-ubyte[.gz]`;
- PNG: a folder with one sub-folder per digit (`0/` .. `9/`) of 28x28 grey PNGs.
Images follow the MNIST convention already (white on black, 28x28).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from training.mnist import DataError, read_idx

logger = logging.getLogger(__name__)


def load_extra_data(folders: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """All examples of all folders: uint8 images [N,28,28], uint8 labels [N]."""
    images, labels = [np.zeros((0, 28, 28), np.uint8)], [np.zeros((0,), np.uint8)]
    for folder in folders:
        x, y = _load_idx(folder) if _idx_pair(folder) else _load_png_folder(folder)
        logger.info("extra data %s: %d examples", folder, len(x))
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def _idx_pair(folder: Path) -> tuple[Path, Path] | None:
    for suffix in (".gz", ""):
        imgs, lbls = folder / f"images-idx3-ubyte{suffix}", folder / f"labels-idx1-ubyte{suffix}"
        if imgs.is_file() and lbls.is_file():
            return imgs, lbls
    return None


def _load_idx(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    pair = _idx_pair(folder)
    assert pair is not None
    x, y = read_idx(pair[0]), read_idx(pair[1])
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise DataError(
            f"{folder}: expected N 28x28 images and N labels, got {x.shape} / {y.shape}"
        )
    return x.astype(np.uint8), y.astype(np.uint8)


def _load_png_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    import cv2  # only this layout needs OpenCV

    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder of labelled examples")
    images, labels = [], []
    for digit in range(10):
        for path in sorted((folder / str(digit)).glob("*.png")):
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if image is None or image.shape != (28, 28):
                logger.warning("skipping %s: not a 28x28 grey PNG", path)
                continue
            images.append(image)
            labels.append(digit)
    if not images:
        raise DataError(f"{folder}: no IDX pair and no <digit>/*.png examples found")
    return np.stack(images), np.array(labels, np.uint8)


def split_extra(labels: np.ndarray, every: int = 5) -> np.ndarray:
    """True for the examples kept for validation: every `every`-th of each digit, in order."""
    held = np.zeros(len(labels), bool)
    if every <= 1:
        return held
    for digit in range(10):
        held[np.flatnonzero(labels == digit)[every - 1 :: every]] = True
    return held


def epoch_order(n_mnist: int, n_extra: int, per_batch: int, share: float, gen) -> np.ndarray:
    """Indices into [MNIST..., extra...] for one epoch, `per_batch` at a time.

    Each block of `per_batch` holds round(per_batch * share) of the extra examples, drawn at
    random (with replacement: a few hundred examples recur in every batch, so they weigh as
    much as `share` of the data however few they are), and MNIST digits for the rest.
    """
    import torch

    mnist = torch.randperm(n_mnist, generator=gen).numpy()
    if n_extra == 0 or share <= 0:
        return mnist
    extra_per_batch = min(per_batch - 1, max(1, round(per_batch * share)))
    mnist_per_batch = per_batch - extra_per_batch
    steps = max(1, n_mnist // mnist_per_batch)
    extra = n_mnist + torch.randint(n_extra, (steps * extra_per_batch,), generator=gen).numpy()
    return np.concatenate(
        [
            np.concatenate(
                [
                    mnist[i * mnist_per_batch : (i + 1) * mnist_per_batch],
                    extra[i * extra_per_batch : (i + 1) * extra_per_batch],
                ]
            )
            for i in range(steps)
        ]
    )
