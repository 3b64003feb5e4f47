"""The committed meter mock frames (mock_frames/meter and display) and the wheel crop sample.

What is checked here is that the expectations are true to how a roller counter works and to
the region a device would be given, that every wheel crop comes from the held-out report set,
and that the generator rebuilds the same expectations. How well a reader reads these frames
is tested with the reader.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from tests.conftest import load_script
from training.meter_data import set_of

ROOT = Path(__file__).resolve().parents[2]
MOCK = ROOT / "mock_frames"
FOLDERS = {"counter": MOCK / "meter", "display": MOCK / "display"}
SAMPLE = ROOT / "tests" / "fixtures" / "meter_wheels"
METER_DATA = Path(
    os.environ.get("DIGITCAM_METER_DATA") or ROOT.parent / "shared" / "data" / "meter_digits"
)
HAVE_DATA = (METER_DATA / "meterdigits-tenths.tar").is_file()
needs_data = pytest.mark.skipif(
    not HAVE_DATA,
    reason=f"meter data not found at {METER_DATA} (set DIGITCAM_METER_DATA to the folder "
    "holding meterdigits-tenths.tar)",
)


def expected(root: Path = MOCK) -> dict[str, dict]:
    """Both folders' expectations, merged (file names are unique across them)."""
    merged = {}
    for folder in FOLDERS.values():
        merged.update(json.loads((root / folder.name / "expected.json").read_text()))
    return merged


def counter_sequence() -> list[dict]:
    frames = [e for e in expected().values() if e["kind"] == "counter"]
    return sorted(frames, key=lambda e: e["ts_offset_s"])


def as_read(digits: list[int], decimals: int) -> str:
    text = "".join(map(str, digits))
    return f"{text[:-decimals]}.{text[-decimals:]}" if decimals else text


def test_every_frame_has_an_expectation_and_back() -> None:
    files = {p.name for f in FOLDERS.values() for p in f.iterdir() if p.name != "expected.json"}
    assert files == set(expected())
    for kind, folder in FOLDERS.items():  # a folder replays as one camera: one kind each
        wants = json.loads((folder / "expected.json").read_text()).values()
        assert {want["kind"] for want in wants} == {kind}
    kinds = [e["kind"] for e in expected().values()]
    assert kinds.count("counter") >= 25 and kinds.count("display") >= 8


def test_frames_are_small_camera_jpegs_with_a_region_inside() -> None:
    total = sum(p.stat().st_size for f in FOLDERS.values() for p in f.iterdir())
    assert total < 1_600_000, f"the meter frames are {total} bytes"
    for name, want in expected().items():
        image = cv2.imread(str(FOLDERS[want["kind"]] / name))
        assert image is not None and image.shape == (480, 640, 3), name
        region = want["region"]
        x, y, w, h = region["box"]
        assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480, name
        assert 5 <= region["digits"] <= 8 and 0 <= region["decimals"] < region["digits"]
        assert region["kind"] == want["kind"] and want["status"] == "ok"
        digits, decimals = region["digits"], region["decimals"]
        pattern = rf"\d{{{digits - decimals}}}" + (rf"\.\d{{{decimals}}}" if decimals else "")
        assert re.fullmatch(pattern, want["value"]), (name, want["value"])
        # A cell is about as wide as a 20x32 crop scaled up: each holds one wheel or digit.
        assert 0.35 < (w / digits) / h < 1.0, name


def test_counter_values_are_the_completed_digits_of_the_wheels() -> None:
    """Each wheel reads the digit it has completed; a wheel moves only on its neighbour's carry."""
    for want in counter_sequence():
        positions = want["wheel_positions"]
        region = want["region"]
        assert len(positions) == region["digits"] == len(want["crops"])
        assert all(0 <= p < 100 for p in positions)
        assert want["value"] == as_read([p // 10 for p in positions], region["decimals"])
        for left, right in itertools.pairwise(positions):
            assert left % 10 == max(0, right - 90), positions


def test_counter_sequence_counts_up_through_a_roll_of_several_wheels() -> None:
    frames = counter_sequence()
    times = [e["ts_offset_s"] for e in frames]
    assert times == sorted(set(times)) and times[0] == 0
    values = [float(e["value"]) for e in frames]
    assert values == sorted(values), "a meter never runs backwards"
    assert len(set(values)) > len(values) // 2, "the reading should move over the sequence"
    assert len({tuple(e["region"]["box"]) for e in frames}) == 1, "the camera is fixed"
    rolling = [e for e in frames if sum(p % 10 > 0 for p in e["wheel_positions"][:-1]) >= 3]
    assert rolling, "no frame catches three wheels turning together"
    assert all("rolling" in e["conditions"] for e in rolling)
    after = next(e for e in frames if e["ts_offset_s"] > rolling[0]["ts_offset_s"])
    changed = sum(a != b for a, b in zip(rolling[0]["value"], after["value"], strict=True))
    assert changed >= 3, (rolling[0]["value"], after["value"])


def test_every_wheel_crop_is_from_the_held_out_report_set() -> None:
    names = [n for e in counter_sequence() for n in e["crops"]]
    assert names and {set_of(n) for n in names} == {"report"}


def test_the_shipped_wheel_sample_is_credited_and_held_out() -> None:
    files = sorted(p.name for p in SAMPLE.glob("*.png"))
    assert len(files) == 200
    positions = [int(f.split("_")[0]) for f in files]
    assert np.bincount(np.asarray(positions) // 10, minlength=10).tolist() == [20] * 10
    assert len(set(positions)) == 100, "positions should spread over every tenth"
    for f in files[::17]:
        crop = cv2.imread(str(SAMPLE / f), cv2.IMREAD_UNCHANGED)
        assert crop is not None and crop.shape == (32, 20) and crop.dtype == np.uint8, f
    notice = (SAMPLE / "NOTICE").read_text()
    assert "Tenth-of-step-of-a-meter-digit" in notice and "Apache" in notice
    assert "Apache License" in (SAMPLE / "LICENSE").read_text()
    sources = dict(
        line.split(maxsplit=1)
        for line in notice.splitlines()
        if re.match(r"\d\d_\d{4}\.png ", line)
    )
    assert sorted(sources) == files
    assert {set_of(n) for n in sources.values()} == {"report"}


@pytest.fixture(scope="module")
def meter() -> ModuleType:
    return load_script("mock_meter", MOCK / "meter.py")


@needs_data
def test_the_generator_rebuilds_the_same_expectations(meter: ModuleType, tmp_path: Path) -> None:
    report = meter.load_wheels(METER_DATA)["report"]
    written = []
    for run in ("a", "b"):
        pool = meter.WheelPool(report, METER_DATA)
        meter.write_folder(tmp_path / run / "meter", meter.counter_frames(pool, meter.SEED))
        meter.write_folder(tmp_path / run / "display", meter.display_frames(meter.SEED))
        written.append(expected(tmp_path / run))
    assert written[0] == written[1]
    assert written[0] == expected(), "the meter frames are stale: regenerate them"
    meter.write_fixture(report, METER_DATA, tmp_path / "sample", meter.SEED)
    assert (tmp_path / "sample" / "NOTICE").read_text() == (SAMPLE / "NOTICE").read_text()
