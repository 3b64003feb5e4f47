"""Continental 1s and 7s drawn onto real MNIST digits: where the ink goes, and labels kept."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from training.batches import BatchMaker, BatchRecipe
from training.mnist import load_split
from training.model import NOT_DIGIT
from training.strokes import (
    Segment,
    StrokeConfig,
    cross_seven,
    draw,
    find_stem,
    flag_one,
    pad,
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
    cfg = StrokeConfig(one_flag_p=1.0, seven_bar_p=1.0)
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
