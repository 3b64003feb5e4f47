"""to_mnist reproduces the MNIST convention: 20x20 fit, grey edges, centre of mass at (14, 14)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.vision.normalise import to_mnist
from training.mnist import load_split

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


def bounding_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.nonzero(image.any(axis=1))[0]
    cols = np.nonzero(image.any(axis=0))[0]
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(image.shape)
    return float((image * ys).sum() / image.sum()), float((image * xs).sum() / image.sum())


def test_output_is_a_28x28_float_image_in_0_1() -> None:
    ink = np.zeros((90, 50), np.float32)
    cv2.circle(ink, (25, 45), 20, 1.0, 6)
    out = to_mnist(ink)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and out.max() > 0.9


@pytest.mark.parametrize("shape", [(120, 40), (30, 90), (15, 12)])
def test_longer_side_fits_20_pixels_keeping_the_aspect_ratio(shape: tuple[int, int]) -> None:
    ink = np.zeros(shape, np.float32)
    cv2.rectangle(ink, (0, 0), (shape[1] - 1, shape[0] - 1), 1.0, max(1, min(shape) // 8))
    height, width = bounding_box(to_mnist(ink) > 0.05)
    assert max(height, width) == 20
    assert abs(height / width - shape[0] / shape[1]) < 0.25 * shape[0] / shape[1]


def test_centre_of_mass_lands_on_pixel_14_14() -> None:
    ink = np.zeros((100, 60), np.float32)
    ink[:20, :] = 1.0  # heavy top bar: the box centre and the mass centre differ by 4 px
    ink[:, 25:35] = 1.0
    cy, cx = centre_of_mass(to_mnist(ink))
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_edges_are_anti_aliased_like_mnist() -> None:
    ink = np.zeros((200, 200), np.float32)
    cv2.circle(ink, (100, 100), 80, 1.0, 24)
    out = to_mnist(ink)
    grey = ((out > 0.05) & (out < 0.95)).sum()
    assert grey >= 20  # a rim of intermediate values, not a binary image


def test_empty_crop_gives_an_empty_image() -> None:
    assert not to_mnist(np.zeros((30, 30), np.float32)).any()


def test_enlarged_mnist_digits_come_back_as_themselves(
    mnist: tuple[np.ndarray, np.ndarray],
) -> None:
    images, _ = mnist
    errors = []
    for image in images[:200]:
        original = image.astype(np.float32) / 255
        big = np.clip(cv2.resize(original, (140, 140), interpolation=cv2.INTER_CUBIC), 0, 1)
        errors.append(np.abs(to_mnist(big) - original).mean())
    assert float(np.median(errors)) < 0.03
