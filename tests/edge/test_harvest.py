"""mock_frames/harvest.py: digits as the reader cuts them, labelled, for `digitcam train`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.reading import Digit
from tests.conftest import load_script
from training.extra_data import load_extra_data

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


@pytest.fixture(scope="module")
def harvest():
    return load_script("mock_harvest", ROOT / "mock_frames" / "harvest.py")


@pytest.fixture
def train_dir(tmp_path: Path) -> Path:
    """An MNIST folder whose training split is the fixture's test images (all it holds)."""
    data = tmp_path / "mnist"
    data.mkdir()
    for kind in ("images-idx3", "labels-idx1"):
        (data / f"train-{kind}-ubyte.gz").symlink_to(SAMPLE / f"t10k-{kind}-ubyte.gz")
    return data


def read(box: tuple[int, int, int, int], digit: int = 3, confidence: float = 0.99) -> Digit:
    return Digit(digit=digit, confidence=confidence, box=box)


def test_only_a_digit_cut_round_one_written_digit_is_kept_with_that_digit(harvest) -> None:
    written = [[10, 10, 20, 30], [34, 10, 20, 30], [80, 12, 20, 30]]
    value = "471"
    cut = [
        read((11, 10, 19, 30), digit=4),  # the first digit, read right
        read((80, 12, 20, 29), digit=7, confidence=0.6),  # the third, read wrong and unsure
        read((10, 10, 44, 30)),  # the first two run together
        read((34, 10, 9, 30)),  # half of the second
        read((34, 10, 20, 30), confidence=0.0),  # an unread mark on the row
    ]
    kept = harvest.matched(cut, written, value, min_iou=0.6)
    assert [(d.box, label) for d, label in kept] == [((11, 10, 19, 30), 4), ((80, 12, 20, 29), 1)]


def test_a_digit_whose_box_is_as_much_its_neighbours_is_not_kept(harvest) -> None:
    # Two digits written on top of each other's boxes (heavy slant): whose ink is it?
    written = [[10, 10, 20, 30], [16, 10, 20, 30]]
    assert harvest.matched([read((12, 10, 20, 30))], written, "12", min_iou=0.6) == []


def test_never_the_images_train_keeps_for_validation(harvest) -> None:
    count, seed, val = 1000, 1, 100
    used = harvest.training_indices(count, seed, val)
    held = np.random.default_rng(seed).permutation(count)[:val]  # as training/train.py does
    assert len(used) == count - val
    assert not set(used.tolist()) & set(held.tolist())


def test_writes_an_idx_pair_that_training_reads(harvest, train_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "4", "--single", "3", "--out", str(out)]
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    images, labels = load_extra_data([out])
    assert images.shape == (summary["digits_kept"], 28, 28)
    assert 0 < summary["digits_kept"] <= summary["digits_written"]
    assert summary["per_digit"] == np.bincount(labels, minlength=10).tolist()
    assert images.reshape(len(images), -1).max(axis=1).min() > 0  # every one has ink


def test_a_blob_of_two_written_digits_is_a_pair_and_paper_far_away_is_junk(harvest) -> None:
    written = [[10, 10, 20, 30], [32, 10, 20, 30]]
    assert harvest.not_digit_kind((8, 8, 46, 34), written) == "pair"
    assert harvest.not_digit_kind((200, 100, 20, 30), written) == "junk"
    assert harvest.not_digit_kind((10, 10, 20, 30), written) is None  # one digit: no negative
    assert harvest.not_digit_kind((33, 42, 20, 30), written) is None  # beside a digit: unsure
    assert harvest.not_digit_kind((0, 0, 20, 30), []) == "junk"  # a blank page


def test_what_the_judge_is_shown_is_kept_with_its_box(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0",
            "--not-digit-numbers", "12", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    images, labels = load_extra_data([out / "not-digit"])
    assert len(images) == sum(summary["not_digit"].values()) > 0
    assert set(labels.tolist()) == {10}
    assert harvest.find.digit_ink is harvest._digit_ink  # the reader is left as it was


def test_flawed_blank_pages_give_what_the_judge_is_shown_there_as_junk(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    # Holes, rings, hairs and glare on an empty page: every candidate is a negative, none a pair.
    flawed = [harvest.photo("wild-flawed-blank", n, None, 5)[1] for n in range(4)]
    assert all(set(e["conditions"]) & set(harvest.wild.wild_flaws.FLAWS) for e in flawed)
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0",
            "--not-digit-flawed", "8", "--seed", "5", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    assert summary["not_digit"]["pair"] == 0 < summary["not_digit"]["junk"]
    images, _ = load_extra_data([out / "not-digit"])
    assert len(images) == summary["not_digit"]["junk"]


def test_pages_read_as_digit_regions_show_the_judge_what_those_looks_find(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    # A digit region finding nothing on an empty page looks again (lines searched again,
    # fainter ink): the judge is shown marks a number region never proposes there.
    kept = {}
    for region in ("number", "digit"):
        out = tmp_path / region
        args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0",
                "--not-digit-flawed", "8", "--not-digit-blank", "4", "--seed", "5",
                "--not-digit-region", region, "--out", str(out)]  # fmt: skip
        assert harvest.main(args) == 0
        summary = json.loads((out / "harvest.json").read_text())
        assert summary["not_digit_region"] == region
        images, _ = load_extra_data([out / "not-digit"])
        kept[region] = {image.tobytes() for image in images}
    assert kept["digit"] - kept["number"]


def test_a_run_holds_the_written_digits_wholly_inside_it_left_to_right(harvest) -> None:
    written = [[40, 10, 20, 30], [10, 10, 20, 30], [70, 10, 20, 30]]
    value = "385"  # written in this order; 8 stands leftmost
    assert harvest.run_label((8, 8, 54, 34), written, value) == "83"
    assert harvest.run_label((8, 8, 84, 34), written, value) == "835"
    assert harvest.run_label((8, 8, 24, 34), written, value) is None  # one digit is no run
    assert harvest.run_label((8, 8, 42, 34), written, value) is None  # the 3 cut in half


def test_runs_are_kept_fitted_with_their_digits_for_the_run_reader(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0",
            "--runs", "40", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    runs = np.load(out / "runs.npz")
    assert runs["x"].shape == (summary["runs"], 28, 112) and summary["runs"] > 0
    assert all(len(label) >= 2 and label.isdigit() for label in runs["labels"])
    assert harvest.find.digit_ink is harvest._digit_ink


def test_tight_crops_are_kept_with_the_digit_written_in_them(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0", "--crops", "12",
            "--val-size", "100", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    images, labels = load_extra_data([out])
    assert summary["crops"] == summary["digits_written"] == 12
    assert 9 <= summary["digits_kept"] == len(labels) == len(images) <= 12
    # Crops take the training images in order, one each: the labels are those images' digits.
    order = harvest.training_indices(1000, 1, 100)
    _, written = harvest.load_split(train_dir, "train")
    assert set(labels.tolist()) <= set(written[order[:12]].tolist())
    assert summary["model_right_and_sure"] >= 0.5 * len(labels)


def test_fine_pens_write_what_is_harvested_with_a_fine_pen(harvest, train_dir: Path) -> None:
    x, y = harvest.load_split(train_dir, "train")
    source = harvest.wild.WildSource(x, y, 0, len(x))
    _, usual = harvest.photo("wild-numbers", 0, source, 5)
    _, fine = harvest.photo("wild-numbers", 0, source, 5, fine_pen=True)
    assert "fine" in fine["conditions"] and "fine" not in usual["conditions"]


def test_continental_photos_are_the_tuning_renderers_own(harvest, train_dir: Path) -> None:
    # The row reader's windows of continental writing are harvested from exactly the photos
    # wild.scenario_frames makes for that scenario (the same page, writer and forms).
    x, y = harvest.load_split(train_dir, "train")
    made = list(harvest.wild.scenario_frames("wild-continental", x, y, 6, 5, 0))
    source = harvest.wild.WildSource(x, y, 0, len(x))
    for n, (_, data, want) in enumerate(made):
        gray, expected = harvest.photo("wild-continental", n, source, 5)
        assert expected == want
        assert np.array_equal(gray, harvest.decode_image(data))
    assert any({"flag", "crossbar"} & set(w["conditions"]) for _, _, w in made)


def test_continental_and_flawed_photos_add_their_digits(
    harvest, train_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "harvest"
    args = ["--data-dir", str(train_dir), "--numbers", "0", "--single", "0", "--continental",
            "4", "--flawed", "4", "--val-size", "100", "--out", str(out)]  # fmt: skip
    assert harvest.main(args) == 0
    summary = json.loads((out / "harvest.json").read_text())
    assert (summary["continental"], summary["flawed"]) == (4, 4)
    x, y = harvest.load_split(train_dir, "train")
    order = harvest.training_indices(len(x), 1, 100)
    source = harvest.wild.WildSource(x[order], y[order], 0, len(order))
    written = sum(
        len(harvest.photo(scenario, n, source, harvest.SEED)[1]["value"])
        for scenario in ("wild-continental", "wild-flawed")
        for n in range(4)
    )
    assert summary["digits_written"] == written
    images, labels = load_extra_data([out])
    assert 0 < summary["digits_kept"] == len(labels) == len(images) <= written
