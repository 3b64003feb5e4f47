"""Continental 1s, 4s, 7s and 9s drawn onto real MNIST digits: where the ink goes, labels kept."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.batches import BatchMaker, BatchRecipe
from training.mnist import load_split
from training.model import NOT_DIGIT
from training.strokes import (
    Segment,
    StrokeConfig,
    _runs,
    cross_seven,
    draw,
    find_stem,
    flag_one,
    open_four,
    pad,
    straighten_nine,
)

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_split(SAMPLE_DIR, "test")
    return images, labels


def _first(sample: tuple[np.ndarray, np.ndarray], digit: int, nth: int = 0) -> np.ndarray:
    images, labels = sample
    return images[np.nonzero(labels == digit)[0][nth]].astype(np.float32) / 255


def _along(seg: Segment, start: float, stop: float, n: int = 12) -> list[tuple[int, int]]:
    """Pixel (row, col) of points from `start` to `stop` (fractions) along a segment."""
    ts = np.linspace(start, stop, n)
    return [
        (round(seg.y0 + t * (seg.y1 - seg.y0)), round(seg.x0 + t * (seg.x1 - seg.x0))) for t in ts
    ]


@pytest.mark.parametrize("nth", [0, 3, 7])
def test_flagged_one_has_ink_where_the_flag_goes(sample, nth: int) -> None:
    before = pad(_first(sample, 1, nth))
    cfg = StrokeConfig(foot_p=0.0)
    after, segments = flag_one(before, np.random.default_rng(nth), cfg)
    assert len(segments) == 1
    flag = segments[0]
    stem = find_stem(before, 0.0)
    assert stem is not None
    # It leaves the top of the stem, going left and down, 25-45 % of the stem's length long.
    assert math.dist((flag.x0, flag.y0), stem.top) <= stem.width + 1.0
    assert flag.x1 < flag.x0 - 2 and flag.y1 > flag.y0
    length = math.dist((flag.x0, flag.y0), (flag.x1, flag.y1))
    assert 0.24 * stem.length <= length <= 0.46 * stem.length
    # New ink along the flag, away from the stem, where the plain 1 had none.
    points = _along(flag, 0.4, 1.0)
    assert all(after[p] > 0.4 for p in points)
    assert np.mean([before[p] < 0.1 for p in points]) >= 0.8


def test_foot_is_a_short_base_at_the_bottom_of_the_stem(sample) -> None:
    before = pad(_first(sample, 1))
    after, segments = flag_one(before, np.random.default_rng(0), StrokeConfig(foot_p=1.0))
    foot = segments[1]
    stem = find_stem(before, 0.0)
    assert stem is not None
    assert abs(foot.y1 - foot.y0) < 0.15 * abs(foot.x1 - foot.x0), "horizontal"
    assert abs((foot.y0 + foot.y1) / 2 - stem.bottom[1]) <= stem.width + 1.0
    assert all(after[p] > 0.4 for p in _along(foot, 0.0, 1.0))


@pytest.mark.parametrize("nth", [0, 2, 5])
def test_seven_has_a_crossbar_across_its_stem(sample, nth: int) -> None:
    before = pad(_first(sample, 7, nth))
    after, segments = cross_seven(before, np.random.default_rng(nth), StrokeConfig())
    bar = segments[0]
    assert abs(bar.y1 - bar.y0) < 0.2 * abs(bar.x1 - bar.x0), "about horizontal"
    row = round((bar.y0 + bar.y1) / 2)
    ink = np.nonzero(before[row] > 0.4)[0]
    assert ink.size, "the bar's row crosses the stem"
    stem_x = float(ink.mean())
    # Ink on both sides of the stem, where the plain 7 had none: the bar goes across it.
    for side in (-1, 1):
        x = round(stem_x + side * (ink.size / 2 + 2.5))
        assert before[row, x] < 0.2
        assert after[row, x] > 0.4
    rows = np.nonzero((before > 0.3).any(axis=1))[0]
    assert 0.35 < (row - rows[0]) / (rows[-1] - rows[0]) < 0.7, "through the middle"


def test_nine_whose_loop_is_open_is_left_as_it_is(sample) -> None:
    before = pad(_first(sample, 9, 2))
    after, segments = straighten_nine(before, np.random.default_rng(0), StrokeConfig())
    assert segments == [] and np.array_equal(after, before)


@pytest.mark.parametrize("nth", [0, 1, 4, 7])
def test_nine_gets_a_straight_tail_below_its_loop(sample, nth: int) -> None:
    before = pad(_first(sample, 9, nth))
    after, segments = straighten_nine(before, np.random.default_rng(nth), StrokeConfig())
    assert segments, "a 9 with a closed loop"
    tail = segments[0]
    rows = np.nonzero((after > 0.3).any(axis=1))[0]
    contours, tree = cv2.findContours(
        (before > 0.3).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE
    )
    hole = max((c for c, t in zip(contours, tree[0], strict=True) if t[3] >= 0), key=len)
    _, y, _, h = cv2.boundingRect(hole)
    below = list(range(y + h + round(tail.width) + 2, rows[-1] - 1))  # under the loop
    assert len(below) >= 4
    centres = []
    for r in below:
        runs = _runs(after[r])
        assert len(runs) == 1, f"row {r}: the tail alone, no curl beside it"
        centres.append((runs[0][0] + runs[0][1]) / 2)
    # One straight stroke: the centres lie on a line within a pixel.
    fit = np.polyval(np.polyfit(below, centres, 1), below)
    assert np.abs(fit - centres).max() < 0.8
    assert abs(rows[-1] - tail.y1) <= tail.width / 2 + 1, "down to where the 9 ended"


@pytest.mark.parametrize("nth", [0, 2, 4])
def test_open_four_has_an_arm_apart_from_its_stem(sample, nth: int) -> None:
    before = pad(_first(sample, 4, nth))
    after, segments = open_four(before, np.random.default_rng(nth), StrokeConfig())
    _, bar, stem = segments
    assert abs(bar.y1 - bar.y0) < 0.3 * abs(bar.x1 - bar.x0), "the bar lies across"
    assert min(bar.x0, bar.x1) < stem.x1 < max(bar.x0, bar.x1), "the bar crosses the stem"
    # Above the bar, the arm and the stem are two strokes that never meet.
    top = (after[: round(min(bar.y0, bar.y1) - bar.width)] > 0.3).astype(np.uint8)
    count, _ = cv2.connectedComponents(top)
    assert count - 1 == 2
    rows = np.nonzero((before > 0.3).any(axis=1))[0]
    ink_rows = np.nonzero((after > 0.3).any(axis=1))[0]
    assert abs(len(ink_rows) - len(rows)) <= 3, "as tall as the 4 it replaces"


def test_drawn_strokes_have_the_width_the_stem_measures() -> None:
    canvas = np.zeros((48, 48), np.float32)
    for width in (1.5, 2.5, 3.5):
        line = draw(canvas, [Segment(24, 8, 24, 40, width)], 1.0)
        stem = find_stem(line, 0.0)
        assert stem is not None
        assert abs(stem.width - width) < 0.5, (width, stem.width)


def test_batches_keep_labels_and_add_negatives(sample) -> None:
    images, labels = sample
    idx = np.arange(64)
    cfg = StrokeConfig(one_flag_p=1.0, seven_bar_p=1.0, nine_straight_p=0.0, four_open_p=0.0)
    maker = BatchMaker(
        images, labels, BatchRecipe(augment=None, strokes=cfg, negative_share=0.125), seed=0
    )
    negatives = maker.negatives_per_batch(72)
    assert negatives == 9
    batch, batch_labels = maker.make(idx, negatives)
    assert batch.shape == (64 + negatives, 1, 28, 28)
    assert batch_labels[:64].tolist() == labels[idx].tolist(), "a flagged 1 is still a 1"
    assert (batch_labels[64:] == NOT_DIGIT).all()
    plain = images[idx].astype(np.float32) / 255
    changed = np.abs(batch[:64, 0].numpy() - plain).max(axis=(1, 2)) > 0.1
    assert changed[labels[idx] == 1].all(), "every 1 flagged"
    # A 7 whose stem has a loop or kink at mid-height keeps its plain form.
    assert changed[labels[idx] == 7].mean() >= 0.7
    assert not changed[~np.isin(labels[idx], (1, 7))].any(), "other digits are left alone"
