"""The faster paths of the ink map give the very pixels of the plain calls they replace."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.vision.binarize import median_blur
from edge.vision.chains import run_cut_limit, run_stretches
from edge.vision.cuts import thinnest
from edge.vision.group import Group, find_components
from edge.vision.lines import near_ink, remove_lines, squeezed_along
from edge.vision.params import DEFAULT
from tests.edge.test_apart import rings_in_a_row


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


def short_strokes(height: int, width: int) -> np.ndarray:
    """Strokes shorter than the line search's kernels in the middle of an empty mask, where a
    band cut round the ink without paper either side would see the frame's border instead."""
    mask = np.zeros((height, width), np.uint8)
    mask[height // 2 : height // 2 + 3, width // 3 : width // 3 + 20] = 1  # low, wide
    mask[height // 2 - 9 : height // 2 + 1, width // 2] = 1  # tall, thin
    mask[height // 2 + 1, width // 2 + 40 : width // 2 + 47] = 1  # shorter than a run
    return mask


def edge_ink(height: int, width: int) -> np.ndarray:
    """Ink in the first and last rows and columns, and scattered rows in between."""
    mask = np.zeros((height, width), np.uint8)
    mask[0, 3:30] = mask[-1, 10:] = mask[5:40, 0] = mask[:, -1] = 1
    mask[height // 4 :: 7, width // 2 : width // 2 + 9] = 1
    return mask


@pytest.mark.parametrize("op", [cv2.MORPH_OPEN, cv2.MORPH_CLOSE, cv2.MORPH_DILATE])
@pytest.mark.parametrize("size", [(1, 10), (1, 5), (8, 1), (32, 1), (3, 3)])
def test_morphology_near_the_ink_is_opencvs_over_the_whole_mask(
    op: int, size: tuple[int, int]
) -> None:
    masks = [
        ruled_mask(480, 160, seed=1),
        ruled_mask(160, 120, seed=2),
        short_strokes(300, 160),
        edge_ink(120, 160),
        np.zeros((50, 40), np.uint8),
        np.ones((1, 64), np.uint8),
    ]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
    for mask in masks:
        assert np.array_equal(near_ink(mask, op, size), cv2.morphologyEx(mask, op, kernel))


def plain_stretches(group, parts, slope: float, cuts: list[int]) -> dict:
    """Every stretch of a run as its own mask, box and area: the plain way, for comparison."""
    own = group.own_mask(parts)
    rows_of, cols_of = np.indices(own.shape)
    across = cols_of - slope * (rows_of - (own.shape[0] - 1) / 2.0)
    inked = across[own > 0]
    bounds = [float(inked.min()), *map(float, cuts), float(inked.max()) + 1.0]
    h = group.box[3]
    found = {}
    for i in range(len(bounds) - 1):
        for j in range(i + 1, len(bounds)):
            if bounds[j] - bounds[i] > DEFAULT.run_max_piece_aspect * h:
                break
            mask = own * ((across >= bounds[i]) & (across < bounds[j])).astype(np.uint8)
            rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
            if rows.size == 0 or rows[-1] - rows[0] + 1 < DEFAULT.apart_min_piece_height * h:
                continue
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            box = (group.box[0] + c0, group.box[1] + r0, c1 - c0, r1 - r0)
            found[(i, j)] = (box, float(mask.sum()), mask[r0:r1, c0:c1])
    return found


def slanted_run() -> np.ndarray:
    """Five leaning strokes and loops joined at their feet: a run cut along a slope."""
    mask = np.zeros((70, 260), np.uint8)
    for k in range(5):
        x = 20 + 45 * k
        cv2.line(mask, (x + 14, 8), (x, 60), 1, 4)
        cv2.ellipse(mask, (x + 22, 30), (10, 16), 15, 0, 360, 1, 3)
    mask[56:62, 20:220] = 1
    return mask


@pytest.mark.parametrize("make", [lambda: rings_in_a_row(5), slanted_run])
def test_a_runs_stretches_are_the_pixels_of_one_mask_per_stretch(make) -> None:
    mask = make()
    parts = find_components(mask)
    group = Group(cv2.boundingRect(mask), list(range(len(parts.boxes))), float(mask.sum()))
    _, _, w, h = group.box
    assert len(parts.boxes) == 1 and w > 3 * h  # one blob, several digits wide
    compared = 0
    for slope in (0.0, *DEFAULT.run_slopes):
        cuts = sorted(thinnest(group, parts, slope, DEFAULT, run_cut_limit(w, h)))
        found = run_stretches(group, parts, slope, cuts, DEFAULT)
        plain = plain_stretches(group, parts, slope, cuts)
        assert found.keys() == plain.keys()
        for key, (box, area, mask) in plain.items():
            assert found[key].box == box and found[key].area == area
            assert np.array_equal(found[key].own_mask(parts), mask)
        compared += len(found)
    assert compared > 20


@pytest.mark.parametrize("seed", range(6))
def test_the_circle_from_moments_is_the_least_squares_one(seed: int) -> None:
    from edge.vision.shape import circle_through

    rng = np.random.default_rng(seed)
    mask = np.zeros((80, 80), np.uint8)
    centre = (int(rng.integers(-30, -10)), int(rng.integers(30, 50)))
    start = int(rng.integers(-60, -20))
    cv2.ellipse(mask, centre, (50, 45), 0, start, start + 70, 1, int(rng.integers(1, 4)))
    ys, xs = np.nonzero(mask)
    assert len(xs) > 40  # an arc across the mask
    points = np.column_stack([xs, ys, np.ones_like(xs)]).astype(np.float64)
    target = -(xs * xs + ys * ys).astype(np.float64)
    (d, e, f), *_ = np.linalg.lstsq(points, target, rcond=None)
    cx, cy = -d / 2, -e / 2
    want = (cx, cy, np.sqrt(cx * cx + cy * cy - f))
    assert np.allclose(circle_through(mask), want, rtol=1e-6, atol=1e-6)
    assert circle_through(np.eye(20, dtype=np.uint8)) is None  # a straight stroke
