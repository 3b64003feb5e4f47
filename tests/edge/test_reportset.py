"""The REPORT frames (mock_frames/reportset.py) and the report over them (mock_frames/report.py).

The report set measures the reader on images it was never tuned on, so what matters here is
that it is fixed by its seed, that each frame's label is what is drawn, and that the report
runs end to end through the real reader. Accuracy floors are loose on purpose.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from edge.config import ModelSettings
from edge.model import load_model
from edge.reading import Digit, Reading, Status
from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
MOCK = ROOT / "mock_frames"
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"  # the first 1000 MNIST test images
SEED = 77


@pytest.fixture(scope="module")
def report() -> ModuleType:
    """mock_frames/report.py is a script, not a package: load it (and reportset) from its path."""
    return load_script("mock_report", MOCK / "report.py")


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


def frames(report: ModuleType, mnist, scenario: str, count: int, seed: int = SEED) -> list:
    images, labels = mnist
    return list(report.reportset.report_frames(scenario, images, labels, count, seed, 0, 1000))


def test_same_seed_same_bytes_other_seed_other_frames(report: ModuleType, mnist) -> None:
    for scenario in report.reportset.SCENARIOS:
        first = frames(report, mnist, scenario, 3)
        assert [f.data for f in first] == [f.data for f in frames(report, mnist, scenario, 3)]
        assert [f.expected for f in first] == [
            f.expected for f in frames(report, mnist, scenario, 3)
        ]
        assert first[0].data != frames(report, mnist, scenario, 1, SEED + 1)[0].data


def test_labels_are_what_is_drawn(report: ModuleType, mnist) -> None:
    _, labels = mnist
    for scenario in ("numbers", "single", "continental"):
        for frame in frames(report, mnist, scenario, 8):
            want = frame.expected
            indices, boxes = want["mnist_test_indices"], want["boxes"]
            assert want["value"] == "".join(str(labels[i]) for i in indices)
            assert len(boxes) == len(want["value"]) == len(indices)
            assert 1 <= len(indices) <= 6 and (scenario != "numbers" or len(indices) >= 2)
            assert want["kind"] == ("digit" if len(indices) == 1 else "number")
            photo = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
            assert photo.shape == (480, 640, 3)
            gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.float32)
            centres = [x + w / 2 for x, _, w, _ in boxes]
            assert centres == sorted(centres), "value must read left to right"
            for x, y, w, h in boxes:
                assert min(x, y) >= 0 and x + w <= 640 and y + h <= 480
                ink = gray[y : y + h, x : x + w]
                around = gray[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w]
                assert np.percentile(ink, 3) < 0.85 * np.percentile(around, 60)
    continental = frames(report, mnist, "continental", 8)
    assert all(set(f.expected["value"]) & {"1", "4", "7", "9"} for f in continental)


def test_continental_frames_write_every_european_form(report: ModuleType, mnist) -> None:
    seen = {c for f in frames(report, mnist, "continental", 40) for c in f.expected["conditions"]}
    assert {"flag", "foot", "crossbar", "straight-tail", "open-top"} <= seen


def test_crops_touch_the_edge_in_about_half(report: ModuleType, mnist) -> None:
    crops = frames(report, mnist, "crops", 40)
    touching = [f for f in crops if f.expected["touches_edge"]]
    assert 0.3 <= len(touching) / len(crops) <= 0.7
    for frame in crops:
        gray = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        assert min(gray.shape) >= 20 and max(gray.shape) <= 130
        assert list(gray.shape[::-1]) == frame.expected["size"]
        assert frame.expected["kind"] == "digit"
        lines = {"cell-border", "grid-line"} & set(frame.expected["conditions"])
        if not frame.expected["touches_edge"] or lines:
            continue
        # Seen in the photo itself: the border holds a pixel about as dark as the ink.
        g = gray.astype(np.float32)
        paper, ink = np.percentile(g, 90), np.percentile(g, 3)
        border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
        assert (paper - border.min()) / (paper - ink) > 0.4, frame.name


def test_blank_frames_hold_no_digits(report: ModuleType, mnist) -> None:
    for frame in frames(report, mnist, "blank", 3):
        assert frame.expected["value"] is None and frame.expected["status"] == "no_digit"
        assert frame.expected["mnist_test_indices"] == [] and frame.expected["boxes"] == []


def test_a_small_slice_runs_through_the_reader_and_the_report(
    report: ModuleType, mnist, tmp_path: Path
) -> None:
    images, labels = mnist
    sliced = report.report_set(images, labels, 10, SEED, 0, 1000)
    results = report.measure(
        sliced, load_model(None), ModelSettings().min_confidence, tmp_path / "failures"
    )
    assert list(results) == list(report.reportset.SCENARIOS)
    for name, r in results.items():
        assert r["frames"] == 10
        assert set(r) >= {
            "kind",
            "right",
            "right_pct",
            "failures",
            "ok_but_wrong",
            "ok_but_wrong_pct",
            "ok_failures",
            "ece",
            "ece_digits",
            "latency_ms_median",
        }
        assert set(r["failures"]) == set(report.FAILURES)
        assert r["right"] + sum(r["failures"].values()) == r["frames"], name
        # Every reading published ok but wrong is one of the failures, counted by its kind.
        assert sum(r["ok_failures"].values()) == r["ok_but_wrong"], name
        assert all(r["ok_failures"][k] <= r["failures"][k] for k in report.OK_FAILURES)
        assert r["latency_ms_median"] > 0
        assert r["ece"] is None or 0 <= r["ece"] <= 1
    assert results["blank"]["right"] >= 8  # no digit on (nearly) every blank sheet
    assert results["blank"]["ece"] is None
    assert results["single"]["right_pct"] >= 50
    table = report.table(results)
    assert all(name in table for name in results)
    saved = list((tmp_path / "failures").rglob("*.png"))
    assert len(saved) == sum(10 - r["right"] for r in results.values())


def test_numbers_of_a_known_length_are_never_published_short_or_long(
    report: ModuleType, mnist
) -> None:
    images, labels = mnist
    # Seed 79's 40 numbers include numbers published ok a digit short and a digit long.
    sliced = report.report_set(images, labels, 40, 79, 0, 1000, scenarios=["numbers"])
    results = report.measure(sliced, load_model(None), 0.9, known_length=True)
    plain, told = results["numbers"], results["numbers+length"]
    assert plain["ok_failures"]["dropped"] > 0 and plain["ok_failures"]["extra"] > 0
    assert told["ok_failures"]["dropped"] == told["ok_failures"]["extra"] == 0
    assert told["right"] == plain["right"]  # no right number is lost by knowing its length
    assert told["ok_failures"]["wrong"] == plain["ok_failures"]["wrong"]


def test_failure_kinds_and_calibration(report: ModuleType) -> None:
    def reading(status: Status, value: str | None, digits: str) -> Reading:
        found = [Digit(int(d), 0.9, (10 * i, 0, 8, 10)) for i, d in enumerate(digits)]
        return Reading("d", "main", value, status, 0.9 if found else None, found, 1.0, "m", "s", 0)

    assert report.outcome("12", reading("ok", "12", "12")) == "right"
    assert report.outcome("12", reading("ok", "1", "1")) == "dropped"
    assert report.outcome("12", reading("ok", "123", "123")) == "extra"
    assert report.outcome("12", reading("no_digit", None, "")) == "no_digit"
    assert report.outcome("12", reading("low_confidence", None, "12")) == "low_confidence"
    assert report.outcome("12", reading("ok", "17", "17")) == "wrong"
    assert report.outcome(None, reading("ok", "4", "4")) == "extra"
    assert report.outcome(None, reading("no_digit", None, "")) == "right"
    assert report.calibration_error([(0.9, True)] * 9 + [(0.9, False)]) == pytest.approx(0.0)
    assert report.calibration_error([(0.95, True), (0.95, False)]) == pytest.approx(0.45)
