"""Meter regions in the configuration: keys that fit the kind, and the printed-digit model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError
from edge.config_load import load_settings

ROOT = Path(__file__).resolve().parents[2]
WATER = '[[regions]]\nname = "water"\nkind = "counter"\nbox = [10, 10, 300, 50]\n'


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DIGITCAM_"):
            monkeypatch.delenv(key)


def problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "digitcam.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    return str(raised.value)


def test_the_meter_example_loads_as_written() -> None:
    settings = load_settings(ROOT / "config" / "meter.toml")
    (water,) = settings.regions
    assert (water.kind, water.cell_count, water.decimals, water.unit) == ("counter", 6, 1, "m³")
    assert (water.align, water.align_max_shift) == (True, 40)


def test_meter_keys_on_a_handwriting_region_are_refused_by_name(tmp_path: Path) -> None:
    message = problems(tmp_path, '[[regions]]\nname = "main"\ndigits = 4\ndecimals = 1\n')
    assert "decimals: only for regions of kind counter or display (this region is kind number)" in (
        message
    )
    message = problems(tmp_path, '[[regions]]\nname = "main"\nkind = "digit"\ndigits = 2\n')
    assert "digits: only for regions of kind counter or display (this region is kind digit)" in (
        message
    )


def test_a_number_region_may_say_how_many_digits_it_has(tmp_path: Path) -> None:
    path = tmp_path / "digitcam.toml"
    path.write_text('[[regions]]\nname = "serial"\ndigits = 6\n')
    (serial,) = load_settings(path).regions
    assert (serial.kind, serial.digits) == ("number", 6)
    assert "digits" in problems(tmp_path, '[[regions]]\nname = "serial"\ndigits = 17\n')


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("digits = 2\ndecimals = 2\n", "decimals 2 must be fewer than the region's 2 digits"),
        ('device_class = "water"\nunit = "kWh"\n', "unit 'kWh' does not fit device_class water"),
        ("digits = 2\nwheels = [[0, 0, 5, 5], [5, 0, 5, 5]]\n", "either wheels"),
        ("wheels = [[0, 0, 0, 5]]\n", "each wheel is [x, y, w, h]"),
        ("max_rate_per_min = -1\n", "max_rate_per_min"),
        ('device_class = "heat"\n', "device_class"),
    ],
)
def test_a_meter_region_that_cannot_work_is_refused_with_the_reason(
    tmp_path: Path, extra: str, named: str
) -> None:
    assert named in problems(tmp_path, WATER + extra)


LCD = '[[regions]]\nname = "power"\nkind = "display"\nbox = [10, 10, 300, 50]\n'


@pytest.mark.parametrize(
    ("region", "key"),
    [(WATER, "printed_path"), (LCD, "display_path")],
    ids=["counter", "display"],
)
def test_a_handwriting_model_given_as_the_printed_model_exits_78_naming_the_key(
    tmp_path: Path, region: str, key: str
) -> None:
    config = tmp_path / "digitcam.toml"
    handwriting = ROOT / "edge" / "models" / "mnist-cnn.onnx"
    config.write_text(f'{region}digits = 6\n[model]\n{key} = "{handwriting}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 78
    assert "not a DigitCam printed-digit model" in result.stderr
    assert f"model.{key}" in result.stderr


def test_a_display_is_a_meters_when_it_says_so_and_a_unit_alone_is_refused(tmp_path: Path) -> None:
    lcd = '[[regions]]\nname = "power"\nkind = "display"\nbox = [10, 10, 300, 50]\ndigits = 7\n'
    path = tmp_path / "digitcam.toml"
    for extra, meter in (
        ("", False),  # a thermostat's or a scale's display may show anything
        ('device_class = "energy"\nunit = "kWh"\n', True),
        ("max_rate_per_min = 0.5\n", True),
        ("monotonic = true\n", True),
    ):
        path.write_text(lcd + extra)
        (region,) = load_settings(path).regions
        assert region.is_meter is meter, extra
    water = tmp_path / "water.toml"
    water.write_text(WATER)
    assert load_settings(water).regions[0].is_meter  # every counter
    message = problems(tmp_path, lcd + 'unit = "kWh"\n')
    assert "a display region takes a unit only as a meter's display; set device_class" in message


def test_the_shown_configuration_never_turns_a_plain_display_into_a_meter(tmp_path: Path) -> None:
    from edge.config import Settings
    from edge.config_load import masked_dump

    path = tmp_path / "digitcam.toml"
    path.write_text(
        '[[regions]]\nname = "scale"\nkind = "display"\ndigits = 4\n'
        '[[regions]]\nname = "power"\nkind = "display"\ndigits = 7\ndevice_class = "energy"\n'
    )
    scale, power = masked_dump(load_settings(path))["regions"]
    assert "monotonic" not in scale and "device_class" not in scale and scale["digits"] == 4
    assert (power["monotonic"], power["device_class"]) == (True, "energy")
    # Written back, each region is what it was.
    again = Settings.model_validate({"regions": [scale, power]})
    assert [r.is_meter for r in again.regions] == [False, True]
