"""Meter wheels and 7-segment displays read by the shipped printed-digit model.

Every image here is held out from the model's training and tuning: the wheel crops and the
counter frames come from the report installations of training/meter_data.py, the LCD frames
from a renderer the model never saw (mock_frames/meter_draw.py).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.camera.imageio import read_image_file
from edge.config import RegionSettings
from edge.meter.printed import SECOND_LOOK_BELOW, load_display, load_printed, second_look_at
from edge.model import load_model
from edge.reader import FrameReader
from edge.reading import OK
from tests.conftest import Broker, load_script, wait_until
from tests.edge.test_app import readings_of, run_daemon

ROOT = Path(__file__).resolve().parents[2]
WHEELS = ROOT / "tests" / "fixtures" / "meter_wheels"
COUNTER = ROOT / "mock_frames" / "meter"
DISPLAY = ROOT / "mock_frames" / "display"


def expected(folder: Path) -> dict[str, dict]:
    return json.loads((folder / "expected.json").read_text())


def predict(*args: str) -> list[dict]:
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "predict", "--json", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def models():
    return load_model(None), load_printed(None)


def test_a_single_wheel_crop_read_as_a_counter_gives_its_digit_and_position() -> None:
    readings = predict("--kind", "counter", str(WHEELS))
    assert len(readings) == 200
    right = close = wrong_ok = 0
    for reading in readings:
        tenths = int(Path(reading["path"]).name.split("_")[0])
        # A lone wheel reads the digit it has completed; from x.85 on, the next one.
        want = str(math.floor(tenths / 10 + 0.15) % 10)
        right += reading["value"] == want
        wrong_ok += reading["status"] == OK and reading["value"] != want
        position = reading["digits"][0]["position"]
        error = abs(position * 10 - tenths) % 100
        close += min(error, 100 - error) <= 1.5
    # Held-out installations: see README "Meters" for the full report-set figures.
    assert right >= 160, f"{right} of 200 wheels read right"
    assert close >= 185, f"{close} of 200 wheel positions within a tenth"
    assert wrong_ok <= 6, f"{wrong_ok} wheels published ok but wrong"


def wheel_crops() -> tuple[np.ndarray, np.ndarray]:
    files = sorted(WHEELS.glob("*.png"))
    images = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) for f in files])
    tenths = np.array([int(f.name.split("_")[0]) for f in files])
    return images.astype(np.float32)[:, None] / 255.0, tenths


def test_unsure_wheels_are_looked_at_again_and_read_closer() -> None:
    model = load_printed(None)
    batch, tenths = wheel_crops()
    alone_probs, alone_positions = model.read(batch, second_look=False)
    probs, positions = model.read(batch)
    unsure = alone_probs.max(1) < SECOND_LOOK_BELOW
    assert 0 < unsure.sum() < len(batch) // 4  # about one crop in ten is looked at again
    # A sure crop is read once, as the network reads it; an unsure one is read anew.
    assert np.array_equal(probs[~unsure], alone_probs[~unsure])
    assert not np.allclose(positions[unsure], alone_positions[unsure])
    assert np.allclose(positions.sum(1), 1, atol=1e-4)

    def within_a_tenth(positions: np.ndarray) -> int:
        error = np.abs(positions.argmax(1) - tenths) % 100
        return int((np.minimum(error, 100 - error) <= 1).sum())

    # Held-out installations: 196 of 200 within a tenth by the network alone, 198 so.
    assert within_a_tenth(positions) > within_a_tenth(alone_positions)


def test_a_second_look_averages_the_crop_shifted_a_pixel_each_way() -> None:
    seen: list[np.ndarray] = []

    def run(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # A "network" sure only of crops whose ink is in the left column.
        seen.append(batch.copy())
        left = batch[:, 0, :, 0].mean(1) > 0.5
        probs = np.where(left[:, None], np.eye(10)[3], np.full(10, 0.1)).astype(np.float32)
        return probs, np.repeat(probs, 10, axis=1) / 10

    crops = np.zeros((2, 1, 32, 20), np.float32)
    crops[0, 0, :, 0] = 1.0  # sure: read once
    crops[1, 0, :, 1] = 1.0  # unsure: a pixel to the left, it is sure
    probs, positions = second_look_at(run, crops)
    assert [len(b) for b in seen] == [2, 2]  # the unsure crop, shifted left and right
    assert np.array_equal(seen[1][0, 0, :, 0], np.ones(32))  # left: its ink in column 0
    assert np.array_equal(seen[1][1, 0, :, 2], np.ones(32))  # right: column 2
    assert probs[0].argmax() == 3 and probs[1].argmax() == 3
    assert np.isclose(probs[1, 3], (0.1 + 1.0 + 0.1) / 3)
    assert np.isclose(positions[1].sum(), 1.0)


def test_predict_cuts_a_counter_window_into_digits(tmp_path: Path) -> None:
    name, want = sorted(expected(COUNTER).items())[0]
    x, y, w, h = want["region"]["box"]
    window = cv2.imread(str(COUNTER / name))[y : y + h, x : x + w]
    cv2.imwrite(str(tmp_path / "window.png"), window)
    (reading,) = predict("--kind", "counter", "--digits", "6", str(tmp_path / "window.png"))
    assert len(reading["digits"]) == 6
    assert reading["value"] == want["value"].replace(".", "")
    assert reading["model"].startswith("printed-cnn-")


@pytest.mark.parametrize("kind", [[], ["--kind", "digit"]])
def test_digits_without_a_kind_that_takes_it_is_a_usage_error(kind: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "predict", *kind, "--digits", "3", str(WHEELS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--kind number, counter or display" in result.stderr


def test_predict_publishes_a_number_only_at_the_length_it_is_told() -> None:
    frame = ROOT / "mock_frames" / "numbers" / "numbers_0000.jpg"  # 6054
    (told,) = predict("--kind", "number", "--digits", "4", str(frame))
    (wrong,) = predict("--kind", "number", "--digits", "5", str(frame))
    assert (told["status"], told["value"]) == ("ok", "6054")
    assert (wrong["status"], wrong["value"], wrong["confidence"]) == ("low_confidence", None, 0)


def test_lcd_frames_read_as_their_displays_show(models) -> None:
    model, printed = models
    right = wrong_ok = 0
    for name, want in expected(DISPLAY).items():
        region = RegionSettings.model_validate(want["region"])
        reader = FrameReader(model, [region], 0.9, "t", printed)
        (reading,) = reader.read(read_image_file(DISPLAY / name), name, 0)
        right += reading.value == want["value"]
        wrong_ok += reading.status == OK and reading.value != want["value"]
    assert right >= 8, f"{right} of 10 displays read right"
    assert wrong_ok == 0


def test_the_daemon_publishes_a_counting_meter_and_never_a_wrong_value_as_ok(
    tmp_path: Path, mosquitto: Broker, subscriber
) -> None:
    frames = expected(COUNTER)
    region = next(iter(frames.values()))["region"]
    sub = subscriber(mosquitto, ["digitcam/#", "homeassistant/#"])
    regions = json.dumps([{**region, "name": "water", "device_class": "water", "unit": "m³"}])
    proc = run_daemon(
        tmp_path,
        COUNTER,
        mosquitto,
        "--once",
        extra_env={"DIGITCAM_REGIONS": regions, "DIGITCAM_CAMERA__FPS": "0"},
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    wait_until(lambda: len(readings_of(sub)) == len(frames), what="every meter reading")
    readings = readings_of(sub)
    right = [r for r in readings if r["value"] == frames[Path(r["frame"]["source"]).name]["value"]]
    wrong_ok = [r for r in readings if r["status"] == OK and r not in right]
    assert wrong_ok == [], "a value published as ok must be the meter's"
    assert len(right) >= 0.5 * len(frames), f"{len(right)} of {len(frames)} readings right"
    values = [float(r["value"]) for r in readings if r["value"] is not None]
    assert values == sorted(values), "a counter's published values never fall"
    assert all(r["model"].startswith("printed-cnn-") for r in readings)
    assert all(0 <= d["position"] < 10 for r in readings for d in r["digits"])
    config = json.loads(sub.on("homeassistant/sensor/testcam/water_value/config")[-1].payload)
    assert (config["state_class"], config["device_class"]) == ("total_increasing", "water")


def test_a_simulated_meter_run_publishes_few_wrong_values_as_ok() -> None:
    # The shipped crops are of installations the model never saw. The model of 2026-12-01
    # read this run 266 right / 0 wrong, the one trained on the tune wheels too 271 / 2, the
    # 60-epoch one 259 / 0, read with the second look at unsure crops 255 / 0 (on the 1,000
    # readings of all report crops 828 / 14 -> 893 / 3 -> 884 / 4, the second look changing
    # none): a wheel misread by a whole digit with a rise the rules allow is still published
    # now and then, so the bound is a share.
    sim = load_script("meter_sim", ROOT / "mock_frames" / "meter_sim.py")
    pool = sim.crops_by_position(None, WHEELS)
    outcomes = sim.simulate(load_printed(None), pool, 300, sim.SEED)
    assert sum(outcomes.values()) == 300
    assert outcomes["ok WRONG"] <= 3, outcomes  # 1%
    assert outcomes["ok right"] + outcomes["ok right (repaired)"] >= 255, outcomes


def test_a_stricter_counter_threshold_publishes_fewer_values_and_no_more_wrong_ones() -> None:
    # A region's min_confidence is the user's trade: at 0.99 a wheel the model is less sure
    # of voids the reading. On the 1,000 report readings 906 / 5 at 0.9 -> 841 / 3 at 0.99
    # (right / ok but wrong): the few wrong values are misreads the model is sure of.
    sim = load_script("meter_sim", ROOT / "mock_frames" / "meter_sim.py")
    pool = sim.crops_by_position(None, WHEELS)
    model = load_printed(None)
    default = sim.simulate(model, pool, 300, sim.SEED)
    strict = sim.simulate(model, pool, 300, sim.SEED, min_confidence=0.99)

    def right(outcomes):
        return outcomes["ok right"] + outcomes["ok right (repaired)"]

    assert right(strict) < right(default), (strict, default)
    assert strict["low_confidence"] > default["low_confidence"], (strict, default)
    assert strict["ok WRONG"] <= default["ok WRONG"], (strict, default)


def lcd_meter_frames(folder: Path, shown: list[str], decimals: int) -> list[int]:
    """Frames of one electricity meter's LCD (mock_frames/meter_draw.py, a renderer the model
    never saw) showing each of `shown` in turn, the camera and the light fixed as a mounted
    camera's are; returns the display's box."""
    meter = load_script("meter_mock", ROOT / "mock_frames" / "meter.py")
    folder.mkdir()
    for n, value in enumerate(shown):
        rng = np.random.default_rng(20261205)  # the same meter, pose and light every frame
        flat, cells, slots = meter.meter_draw.lcd_face(rng, value, decimals, 70)
        matrix, box = meter.camera(rng, cells, slots)
        data, _ = meter.photograph(flat, matrix, rng)
        (folder / f"lcd_{n:04d}.jpg").write_bytes(data)
    return box


def test_a_meters_display_is_checked_like_its_wheels_and_a_plain_display_is_not(
    tmp_path: Path, mosquitto: Broker, subscriber, models
) -> None:
    # An electricity meter's LCD counting kWh; the third frame shows a lower count, as a
    # misread digit (a 2 taken for a 1) would.
    shown = ["0012345", "0012347", "0011347", "0012351"]
    box = lcd_meter_frames(tmp_path / "lcd", shown, decimals=1)
    plain = {"name": "power", "kind": "display", "box": box, "digits": 7, "decimals": 1}
    # A display that says it is a meter's gets the counter's rules and sensor.
    meter = {**plain, "device_class": "energy", "unit": "kWh"}
    sub = subscriber(mosquitto, ["digitcam/#", "homeassistant/#"])
    proc = run_daemon(
        tmp_path,
        tmp_path / "lcd",
        mosquitto,
        "--once",
        extra_env={"DIGITCAM_REGIONS": json.dumps([meter]), "DIGITCAM_CAMERA__FPS": "0"},
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    wait_until(lambda: len(readings_of(sub)) == len(shown), what="every display reading")
    readings = sorted(readings_of(sub), key=lambda r: r["frame"]["source"])
    assert [(r["status"], r["value"]) for r in readings] == [
        ("ok", "001234.5"),
        ("ok", "001234.7"),
        ("implausible", None),
        ("ok", "001235.1"),
    ]
    assert readings[2]["raw_value"] == "001134.7"
    config = json.loads(sub.on("homeassistant/sensor/testcam/power_value/config")[-1].payload)
    assert (config["state_class"], config["device_class"], config["unit_of_measurement"]) == (
        "total_increasing",
        "energy",
        "kWh",
    )
    status = json.loads(sub.on("homeassistant/sensor/testcam/power_status/config")[-1].payload)
    assert "implausible" in status["options"]
    # The same frames as a plain display (a thermostat's, a scale's: it may show anything).
    from edge.meter.plausible import MeterChecks

    region = RegionSettings.model_validate(plain)
    model, printed = models
    reader = FrameReader(model, [region], 0.9, "t", printed)
    checks = MeterChecks([region], None)
    values = []
    for n in range(len(shown)):
        (reading,) = reader.read(read_image_file(tmp_path / "lcd" / f"lcd_{n:04d}.jpg"), "f", n)
        checks.check([reading], float(n))
        values.append((reading.status, reading.value))
    assert values == [("ok", f"{v[:-1]}.{v[-1]}") for v in shown]


LCD_DATA = Path(
    os.environ.get("DIGITCAM_LCD_DATA") or ROOT.parent / "shared" / "data" / "lcd_digits"
)


@pytest.mark.skipif(
    not (LCD_DATA / "0").is_dir(),
    reason=f"real LCD crops not found at {LCD_DATA} (set DIGITCAM_LCD_DATA to the lcd_digits "
    "folder)",
)
def test_a_meters_display_publishes_fewer_wrong_values_than_a_plain_one() -> None:
    # Real LCD crops, a digit each, make up an electricity meter's 7-digit display reading by
    # reading (mock_frames/display_sim.py); three runs of 200 readings, read with the shipped
    # display model as display regions are (67 wrong values as a plain display, 5 as a meter's,
    # for 403 and 400 right ones): the rules refuse a misread digit's value, and now and then
    # a right value while a misread level stands.
    sim = load_script("display_sim", ROOT / "mock_frames" / "display_sim.py")
    pool, model = sim.crops_by_digit(LCD_DATA, "all"), load_display(None, None)
    plain, meter = Counter[str](), Counter[str]()
    for run in range(3):
        outcomes = sim.simulate(model, pool, 200, sim.SEED + run)
        plain += outcomes["plain"]
        meter += outcomes["meter"]
    assert sum(plain.values()) == sum(meter.values()) == 600
    assert plain["ok WRONG"] >= 50, plain  # these crops do fool the model
    assert meter["ok WRONG"] <= plain["ok WRONG"] / 2, (plain, meter)
    right = [o["ok right"] + o["ok right (repaired)"] for o in (plain, meter)]
    assert right[1] >= 0.8 * right[0], (plain, meter)
    assert meter["implausible"] > 0 and "implausible" not in plain


def gapped_windows(gap: int) -> list[tuple[np.ndarray, list[int]]]:
    """Counter windows of six shipped wheels each (2.5 times a crop, 50x80 px), a dark gap of
    `gap` px between the wheels and half of one at each end, as a meter's window shows them;
    with the wheel positions. Only wheels standing at x.0-x.3, whose digit is plain."""
    images, tenths = wheel_crops()
    plain = [i for i in range(len(tenths)) if tenths[i] % 10 <= 3]
    out = []
    for start in range(0, len(plain) - 5, 6):
        row = plain[start : start + 6]
        half = gap // 2
        window = np.full((80, 6 * (50 + gap)), 25, np.uint8)
        for k, i in enumerate(row):
            wheel = cv2.resize((images[i, 0] * 255).astype(np.uint8), (50, 80))
            x = half + k * (50 + gap)
            window[:, x : x + 50] = wheel
        out.append((window, [int(tenths[i]) for i in row]))
    return out


@pytest.mark.parametrize("gap", [12, 18])
def test_wheels_between_the_dark_gaps_of_a_window_are_not_read_surely_wrong(models, gap) -> None:
    # A window cut into equal cells gives each cell a part of the gaps beside its wheel: 12
    # and 18 px of a 62 and 68 px cell, a tenth and an eighth of it on each side. A faint
    # wheel between two dark bars looks like a 0 to a model that never saw them. Of these 78
    # wheels the counter model before 2026-12-05 read 6 and 11 surely wrong (1 without
    # gaps); the one trained with such gaps reads 1 and 1, as without them.
    model, printed = models
    windows = gapped_windows(gap)
    width = windows[0][0].shape[1]
    region = RegionSettings(name="m", kind="counter", box=(0, 0, width, 80), digits=6)
    reader = FrameReader(model, [region], 0.9, "t", printed)
    sure_right = sure_wrong = 0
    for window, tenths in windows:
        reading = reader.read(window, "window", 0)[0]
        for digit, t in zip(reading.digits, tenths, strict=True):
            sure = digit.confidence >= 0.9
            sure_right += sure and digit.digit == t // 10
            sure_wrong += sure and digit.digit != t // 10
    assert len(windows) * 6 >= 60
    assert sure_wrong <= 2, f"{sure_wrong} wheels read surely wrong"
    assert sure_right >= 0.9 * len(windows) * 6, f"{sure_right} wheels read surely right"
