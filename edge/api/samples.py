"""MNIST sample digits shipped with the page, for the explore view.

edge/static/mnist-samples.png holds the first 20 test images of each digit, one row per digit
(row d = digit d), 28x28 each, white on black as in MNIST. It is made by build_sprite from
tests/fixtures/mnist_sample; tests/api/test_dataset.py checks that it still matches.
"""

from __future__ import annotations

import functools
import logging
from importlib import resources

import cv2
import numpy as np

logger = logging.getLogger(__name__)

SPRITE_NAME = "mnist-samples.png"
PER_DIGIT = 20
SIDE = 28
CREDIT = (
    "MNIST sample digits: Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
    "The MNIST database of handwritten digits, CC BY-SA 3.0"
)


def build_sprite(images: np.ndarray, labels: np.ndarray, per_digit: int = PER_DIGIT) -> np.ndarray:
    """The first `per_digit` images of each digit in a (10*28) x (per_digit*28) uint8 grid."""
    sprite = np.zeros((10 * SIDE, per_digit * SIDE), np.uint8)
    for digit in range(10):
        chosen = np.flatnonzero(labels == digit)[:per_digit]
        if len(chosen) < per_digit:
            raise ValueError(f"only {len(chosen)} images of digit {digit}, need {per_digit}")
        for col, index in enumerate(chosen):
            sprite[digit * SIDE : (digit + 1) * SIDE, col * SIDE : (col + 1) * SIDE] = images[index]
    return sprite


@functools.lru_cache(maxsize=1)
def load_sprite() -> np.ndarray:
    """The shipped sprite, read once."""
    data = (resources.files("edge") / "static" / SPRITE_NAME).read_bytes()
    sprite = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if sprite is None or sprite.shape != (10 * SIDE, PER_DIGIT * SIDE):
        raise ValueError(f"edge/static/{SPRITE_NAME} is damaged")
    return sprite


def sample_images(digit: int, count: int) -> list[np.ndarray]:
    """Up to `count` shipped MNIST images of `digit`."""
    sprite = load_sprite()
    row = sprite[digit * SIDE : (digit + 1) * SIDE]
    return [row[:, c * SIDE : (c + 1) * SIDE] for c in range(min(count, PER_DIGIT))]
