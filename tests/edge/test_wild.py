"""The wild scenarios of the tuning renderer (mock_frames/wild.py): reproducible, labelled right.

These frames are what the vision thresholds get tuned on, so a wrong label or a digit drawn
off the frame would tune the finder towards a mistake.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from edge.camera.imageio import decode_image
from edge.config import RegionSettings
from edge.model import load_model
from edge.reader import FrameReader
from tests.conftest import load_script
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"
PAPERS, PENS = {"plain", "ruled", "grid", "form"}, {"pencil", "ballpoint", "felt"}


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return load_script("mock_generate", ROOT / "mock_frames" / "generate.py")


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return load_split(SAMPLE, "test")


def reproducible(generate: ModuleType, sample, scenario: str, count: int) -> list:
    """The first `count` frames of seed 7 from image 20, made twice: the same bytes and labels."""
    images, labels = sample
    first = list(generate.scenario_frames(scenario, images, labels, count, 7, 20))
    again = list(generate.scenario_frames(scenario, images, labels, count, 7, 20))
    assert [f.data for f in first] == [f.data for f in again]
    assert [f.expected for f in first] == [f.expected for f in again]
    return first


@pytest.mark.parametrize(
    "scenario", ["wild-numbers", "wild-single", "wild-crops", "wild-flawed", "wild-continental"]
)
def test_wild_frames_are_reproducible_and_label_the_digits_drawn(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray], scenario: str
) -> None:
    _, labels = sample
    first = reproducible(generate, sample, scenario, 3)
    used = [i for f in first for i in f.expected["mnist_test_indices"]]
    assert used == list(range(20, 20 + len(used)))  # in order, none twice
    for frame in first:
        want = frame.expected
        assert want["value"] == "".join(str(labels[i]) for i in want["mnist_test_indices"])
        assert want["status"] == "ok"
        assert PAPERS & set(want["conditions"]) and PENS & set(want["conditions"])
        picture = cv2.imdecode(np.frombuffer(frame.data, np.uint8), cv2.IMREAD_COLOR)
        if scenario == "wild-crops":
            assert want["kind"] == "digit" and len(want["value"]) == 1
            assert 28 <= picture.shape[0] <= 120
            continue
        assert want["kind"] == "number" and picture.shape == (480, 640, 3)
        count = len(want["value"])
        lowest = {"wild-single": 1, "wild-flawed": 1, "wild-continental": 1}.get(scenario, 2)
        assert lowest <= count <= (1 if scenario == "wild-single" else 6)
        assert len(want["digit_boxes"]) == count
        for x, y, w, h in want["digit_boxes"]:  # every digit whole inside the frame
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480


def test_wild_blank_pages_are_photos_with_nothing_written(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    first = reproducible(generate, sample, "wild-blank", 4)
    reader = FrameReader(load_model(None), [RegionSettings()], 0.9, "dev")
    for frame in first:
        want = frame.expected
        assert (want["value"], want["status"], want["kind"]) == (None, "no_digit", "number")
        assert "mnist_test_indices" not in want and PAPERS & set(want["conditions"])
        gray = decode_image(frame.data)
        assert gray.shape == (480, 640)
        assert reader.read(gray, "x", 0)[0].status == "no_digit"


def test_flawed_pages_name_their_flaws_and_keep_clear_of_the_writing(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    flaws = generate.wild.wild_flaws
    for frame in reproducible(generate, sample, "wild-flawed-blank", 6):
        want = frame.expected
        assert (want["value"], want["status"]) == (None, "no_digit")
        assert 1 <= len(set(want["conditions"]) & set(flaws.FLAWS)) <= 2
    # Where writing covers the whole page, only the flaws that may lie under it are drawn.
    sheet = np.full((480, 640, 3), 0.9, np.float32)
    everywhere = np.ones((480, 640), bool)
    drawn = {
        name
        for seed in range(30)
        for name in flaws.add_flaws(np.random.default_rng(seed), sheet, everywhere)[0]
    }
    assert drawn == {"fold", "specks"}


def test_other_seeds_make_other_frames(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = sample
    one = next(generate.scenario_frames("wild-numbers", images, labels, 1, 1, 0))
    two = next(generate.scenario_frames("wild-numbers", images, labels, 1, 2, 0))
    assert one.data != two.data


def test_touching_and_wide_gaps_are_what_the_writer_did(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    hands, ink = generate.wild.wild_hand, generate.wild.wild_ink
    images, _ = sample
    rng = np.random.default_rng(3)
    pen = ink.Pen("ballpoint", (0.1, 0.1, 0.1), 0.09, 1.0, 0.0)

    def write(gap: float) -> object:
        hand = hands.Hand(0.0, [0.0, 0.0], [1.0, 1.0], [gap])
        return hands.write_number(rng, [images[2], images[3]], 60, hand, pen)  # a 1, a 0

    cramped, spread = write(-0.02), write(2.0)
    assert cramped.touching and not spread.touching
    assert spread.widest_gap == pytest.approx(2.0, abs=0.05)
    assert spread.alpha.shape[1] > cramped.alpha.shape[1] + 100


def test_wild_scenarios_stop_short_of_the_images_kept_for_other_sets(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    wild = generate.wild
    assert (wild.FIRST_INDEX, wild.END_INDEX) == (2000, 5000)
    images, labels = sample
    many = np.resize(images, (5001, 28, 28))
    source = wild.WildSource(many, np.resize(labels, 5001), 4999, wild.END_INDEX)
    assert source.take()[2] == 4999
    with pytest.raises(SystemExit):
        source.take()


def test_the_cli_writes_a_wild_folder(generate: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "crops"
    args = ["--data-dir", str(SAMPLE), "--out", str(out), "--scenario", "wild-crops"]
    assert generate.main([*args, "--count", "2", "--first-index", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "expected.json",
        "wild-crops_0000.jpg",
        "wild-crops_0001.jpg",
    ]


def test_fine_pens_write_the_same_numbers_with_thinner_strokes(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = sample
    ink = generate.wild.wild_ink
    usual = list(generate.scenario_frames("wild-numbers", images, labels, 6, 7, 20))
    fine = list(generate.scenario_frames("wild-numbers", images, labels, 6, 7, 20, True))
    assert [f.expected["value"] for f in fine] == [f.expected["value"] for f in usual]
    assert all("fine" in f.expected["conditions"] for f in fine)
    assert not any(PENS & set(f.expected["conditions"]) for f in fine)
    # Every pen any scenario draws is wider than every fine pen.
    rng = np.random.default_rng(5)
    widest_fine = max(ink.fine_pen(rng).width for _ in range(200))
    assert widest_fine <= 0.045 <= min(ink.pick_pen(rng).width for _ in range(200))


def test_continental_frames_flag_their_ones_and_cross_their_sevens(
    generate: ModuleType, sample: tuple[np.ndarray, np.ndarray]
) -> None:
    frames = reproducible(generate, sample, "wild-continental", 12)
    forms = [set(f.expected["conditions"]) & {"flag", "foot", "crossbar"} for f in frames]
    values = [f.expected["value"] for f in frames]
    # A frame names the forms drawn in it, and draws them only on 1s and 7s.
    assert any("flag" in f for f in forms) and any("crossbar" in f for f in forms)
    for drawn, value in zip(forms, values, strict=True):
        assert ("flag" not in drawn or "1" in value) and ("crossbar" not in drawn or "7" in value)


def wild_forms() -> ModuleType:
    return load_script("mock_wild_forms", ROOT / "mock_frames" / "wild_forms.py")


def test_a_flag_is_ink_left_of_the_top_of_the_one_and_a_bar_crosses_the_seven(
    sample: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    images, labels = sample
    forms = wild_forms()
    one, seven = (images[int(np.nonzero(labels == d)[0][0])] for d in (1, 7))
    ys, xs = np.nonzero(one > 100)
    monkeypatch.setattr(forms, "FOOT_P", 1.0)
    footed, drawn = forms.flagged_one(one, np.random.default_rng(0))
    assert drawn == ["flag", "foot"]
    foot_ys, _ = np.nonzero((footed > 100) & (one < 50) & (np.arange(28)[:, None] > ys.mean()))
    assert foot_ys.size >= 4 and foot_ys.min() >= ys.max() - 4  # across the stem's bottom
    monkeypatch.setattr(forms, "FOOT_P", 0.0)
    for seed in range(6):
        rng = np.random.default_rng(seed)
        flagged, drawn = forms.flagged_one(one, rng)
        assert drawn == ["flag"]
        added = (flagged > 100) & (one < 50)
        top, left = ys.min(), xs[ys <= ys.min() + 1].mean()
        new_ys, new_xs = np.nonzero(added)
        assert new_ys.size >= 4 and new_xs.mean() < left  # to the left of the stem's top...
        assert new_ys.min() <= top + 3 and new_ys.mean() < ys.mean() + 2  # ...from its top down
        crossed, drawn = forms.crossed_seven(seven, rng)
        assert drawn == ["crossbar"]
        bar_ys, bar_xs = np.nonzero((crossed > 100) & (seven < 50))
        assert bar_xs.size >= 4 and np.ptp(bar_ys) < np.ptp(bar_xs)  # flatter than tall
    # Other digits are left as they were.
    two = images[int(np.nonzero(labels == 2)[0][0])]
    assert forms.continental(two, 2, np.random.default_rng(0))[0] is two
