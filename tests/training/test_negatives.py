"""Synthetic not-digit images: MNIST convention, every kind, and never a lone upright stroke."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from training.batches import validation_negatives
from training.mnist import load_split
from training.negatives import KINDS, looks_like_a_one, make_negatives, make_one

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE_DIR, "test")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_looks_like_what_the_finder_hands_the_model(sample, kind: str) -> None:
    images, labels = sample
    rng = np.random.default_rng(3)
    for _ in range(20):
        image = make_one(kind, rng, images, labels)
        assert image.shape == (28, 28) and image.dtype == np.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        ys, xs = np.nonzero(image > 0.05)
        assert ys.size, "never empty"
        # MNIST convention: fitted in 20x20, centre of mass near (14, 14).
        assert ys.max() - ys.min() + 1 <= 20 and xs.max() - xs.min() + 1 <= 20
        mass = image.sum()
        centre = (
            (image.sum(1) * np.arange(28)).sum() / mass,
            (image.sum(0) * np.arange(28)).sum() / mass,
        )
        assert abs(centre[0] - 14) < 1.5 and abs(centre[1] - 14) < 1.5, centre
        assert not looks_like_a_one(image)


def test_a_lone_upright_stroke_is_never_a_negative() -> None:
    upright, flat = np.zeros((40, 40), np.float32), np.zeros((40, 40), np.float32)
    cv2.line(upright, (22, 6), (18, 34), 1.0, 2)
    cv2.line(flat, (6, 22), (34, 18), 1.0, 2)
    assert looks_like_a_one(upright)
    assert not looks_like_a_one(flat)
    assert looks_like_a_one(np.zeros((28, 28), np.float32)), "nothing is no negative"


def test_negatives_are_repeatable_and_varied(sample) -> None:
    images, labels = sample
    a = make_negatives(64, np.random.default_rng(7), images, labels)
    b = make_negatives(64, np.random.default_rng(7), images, labels)
    assert np.array_equal(a, b), "same seed, same negatives"
    flat = a.reshape(len(a), -1)
    assert len(np.unique(flat.round(3), axis=0)) == len(a), "no two alike"


def test_validation_negatives_keep_the_training_proportion(sample) -> None:
    images, labels = sample
    negatives = validation_negatives(images, labels, 700, 0.125, seed=2)
    assert len(negatives) == 100
    assert len(validation_negatives(images, labels, 700, 0.0, seed=2)) == 0
