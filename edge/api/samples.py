"""MNIST sample digits shipped with the page, for the explore view.

edge/static/mnist-test-1000.npz holds the first 1,000 images of the MNIST test set, in the
set's order, unchanged: `images` uint8 [1000, 28, 28] (white on black) and `labels` uint8
[1000]. It is made by write_samples from tests/fixtures/mnist_sample (the same first 1,000
test images); tests/api/test_page_dataset.py checks that it still matches.
"""

from __future__ import annotations

import functools
import io
import logging
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

logger = logging.getLogger(__name__)

SAMPLES_NAME = "mnist-test-1000.npz"
SAMPLE_COUNT = 1000
SIDE = 28
CREDIT = (
    "MNIST sample digits (the first 1,000 of the test set): Yann LeCun, Corinna Cortes and "
    "Christopher J.C. Burges, The MNIST database of handwritten digits, CC BY-SA 3.0"
)


class Samples(NamedTuple):
    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # uint8 [N]


def write_samples(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Ship the first SAMPLE_COUNT images and labels as one compressed file."""
    np.savez_compressed(
        path,
        images=images[:SAMPLE_COUNT].astype(np.uint8),
        labels=labels[:SAMPLE_COUNT].astype(np.uint8),
    )


@functools.lru_cache(maxsize=1)
def load_samples() -> Samples:
    """The shipped samples, read once (about 0.8 MB in memory)."""
    data = (resources.files("edge") / "static" / SAMPLES_NAME).read_bytes()
    # allow_pickle=False: the file holds two plain arrays and may never run code.
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    count = len(labels)
    if images.dtype != np.uint8 or images.shape != (count, SIDE, SIDE) or labels.max() > 9:
        raise ValueError(f"edge/static/{SAMPLES_NAME} is damaged")
    return Samples(images, labels)


def sample_indices(digit: int | None = None) -> np.ndarray:
    """Test-set positions of the shipped samples, all or those of one digit, in order."""
    labels = load_samples().labels
    return np.arange(len(labels)) if digit is None else np.flatnonzero(labels == digit)


def sample_images(digit: int, count: int) -> list[np.ndarray]:
    """Up to `count` shipped MNIST images of `digit`, in test-set order."""
    images = load_samples().images
    return [images[i] for i in sample_indices(digit)[:count]]
