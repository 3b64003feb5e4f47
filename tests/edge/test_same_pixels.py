"""The faster paths of the ink map give the very pixels of the plain calls they replace."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.vision.binarize import median_blur
from edge.vision.lines import remove_lines, squeezed_along
from edge.vision.params import DEFAULT


@pytest.mark.parametrize("shape", [(30, 40), (1, 1), (5, 63), (7, 64), (120, 160), (40, 3)])
@pytest.mark.parametrize("size", [3, 5])
def test_the_median_of_a_narrow_image_is_opencvs(shape: tuple[int, int], size: int) -> None:
    image = np.random.default_rng(sum(shape) + size).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(median_blur(image, size), cv2.medianBlur(image, size))


def ruled_mask(height: int, width: int, seed: int) -> np.ndarray:
    """Specks, two rules across, a margin down, a slightly tilted rule and a digit-like ring."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((height, width)) < 0.01).astype(np.uint8)
    mask[height // 3, :] = 1
    mask[2 * height // 3 : 2 * height // 3 + 2, 5:] = 1
    mask[:, width // 5] = 1
    cv2.line(mask, (0, height // 2), (width - 1, height // 2 + 9), 1, 1)
    cv2.circle(mask, (width // 2, height // 3), height // 8, 1, 3)
    return mask


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (301, 457), (130, 130)])
def test_upright_lines_are_squeezed_as_the_turned_mask_across(shape: tuple[int, int]) -> None:
    mask = ruled_mask(*shape, seed=shape[0])
    squeeze = DEFAULT.line_squeeze
    width = shape[0] // squeeze  # along the upright lines
    upright = squeezed_along(mask, False, squeeze, width)
    assert np.array_equal(upright, squeezed_along(cv2.transpose(mask), True, squeeze, width))
    kept = remove_lines(mask)
    assert kept[shape[0] // 3, 1 : shape[1] // 5 - 3].sum() == 0  # the rule went
    assert kept[: shape[0] // 4, shape[1] // 5].sum() == 0  # so did the margin
