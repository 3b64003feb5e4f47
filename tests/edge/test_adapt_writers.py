"""mock_frames/adapt_writers.py: the README's `model adapt` table, on the shipped sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def test_a_leaning_writer_is_read_better_after_adapting_and_mnist_is_measured_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = load_script("mock_adapt_writers", ROOT / "mock_frames" / "adapt_writers.py")
    monkeypatch.setitem(script.WRITERS, "sample", (0, 1000, -40.0, "the sample leaning 40"))
    images, labels = load_split(SAMPLE, "test")
    test = (images[:200], labels[:200].astype(int))
    r = script.measure("sample", images, labels, test)
    assert r["after"] >= r["before"] + 0.01, r  # a writer unlike MNIST's, read better
    assert r["error_cut"] >= 0.1, r
    assert r["error_cut"] == pytest.approx((r["after"] - r["before"]) / (1 - r["before"]))
    assert abs(r["mnist_after"] - r["mnist_before"]) <= 0.02
    assert "+adapt-" in str(r["version"])
    assert np.isfinite(r["seconds"]) and r["seconds"] > 0
