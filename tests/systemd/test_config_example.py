"""config/digitcam.toml documents every key with its true default, and stays that way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_origin

import pytest
from pydantic import BaseModel

from edge.config import CONFIG_ERROR_EXIT, Settings
from edge.config_load import load_settings, masked_dump
from tests.systemd import REPO

EXAMPLE = REPO / "config" / "digitcam.toml"
# `# key = value`: a key the example leaves at its computed or unset default; `# [[regions]]`:
# an example region (a meter) that is off unless switched on.
COMMENTED_KEY = re.compile(r"^# ([a-z_]+ = .*|\[\[regions\]\])$")
SECTION = re.compile(r"^\[\[?([a-z_.]+)\]\]?$")
ASSIGNMENT = re.compile(r"^([a-z_]+) = ")


def documented_keys(text: str) -> set[str]:
    """Dotted keys assigned in the file, commented-out ones included."""
    section, keys = "", set()
    for raw in text.splitlines():
        line = COMMENTED_KEY.sub(r"\1", raw.strip())
        if match := SECTION.match(line):
            section = match.group(1) + "."
        elif match := ASSIGNMENT.match(line):
            keys.add(section + match.group(1))
    return keys


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted keys of a settings model; list-of-model fields such as regions count as tables."""
    keys = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= model_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def digitcam(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, with no DIGITCAM_* variables leaking in from outside."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DIGITCAM_") and k != "CREDENTIALS_DIRECTORY"
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("digitcam")), *args],
        check=False,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DIGITCAM_") or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


def test_every_key_of_the_code_is_in_the_example_and_no_other() -> None:
    documented, known = documented_keys(EXAMPLE.read_text()), model_keys(Settings)
    assert known - documented == set(), "keys missing from config/digitcam.toml"
    assert documented - known == set(), "keys in config/digitcam.toml the code does not know"


def test_example_states_the_true_defaults() -> None:
    assert masked_dump(load_settings(EXAMPLE)) == masked_dump(Settings())


def test_commented_out_examples_are_valid_when_switched_on(tmp_path: Path) -> None:
    text = "\n".join(COMMENTED_KEY.sub(r"\1", line) for line in EXAMPLE.read_text().splitlines())
    switched_on = tmp_path / "digitcam.toml"
    switched_on.write_text(text)
    settings = load_settings(switched_on)
    assert settings.device_id == "pi-kitchen"
    assert settings.regions[0].box == (0.25, 0.4, 0.5, 0.2)
    assert str(settings.storage.path) == "/var/lib/digitcam/digitcam.sqlite"


def test_check_config_accepts_the_example() -> None:
    result = digitcam("check-config", "--config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert '"topic_prefix": "digitcam"' in result.stdout


@pytest.mark.parametrize(
    ("section", "typo", "named"),
    [
        ("[mqtt]", 'hots = "broker.local"', "mqtt.hots"),
        ("[camera]", "fsp = 5", "camera.fsp"),
    ],
)
def test_unknown_key_exits_78_naming_it(
    tmp_path: Path, section: str, typo: str, named: str
) -> None:
    config = tmp_path / "digitcam.toml"
    config.write_text(EXAMPLE.read_text().replace(section, f"{section}\n{typo}", 1))
    result = digitcam("check-config", "--config", str(config))
    assert result.returncode == CONFIG_ERROR_EXIT
    assert f"{named}: unknown key" in result.stderr


def test_secrets_are_masked(tmp_path: Path) -> None:
    config = tmp_path / "digitcam.toml"
    config.write_text(
        EXAMPLE.read_text()
        .replace('password = ""', 'password = "hunter2"')
        .replace('token = ""', 'token = "api-secret"')
    )
    result = digitcam("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout and "api-secret" not in result.stdout
    assert '"password": "***"' in result.stdout and '"token": "***"' in result.stdout


def test_password_from_systemd_credentials_is_masked_too(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "mqtt_password").write_text("from-credstore\n")
    result = digitcam(
        "check-config", "--config", str(EXAMPLE), env={"CREDENTIALS_DIRECTORY": str(credentials)}
    )
    assert result.returncode == 0, result.stderr
    assert "from-credstore" not in result.stdout and '"password": "***"' in result.stdout


def test_environment_overrides_the_file() -> None:
    result = digitcam(
        "check-config",
        "--config",
        str(EXAMPLE),
        env={"DIGITCAM_MQTT__HOST": "broker.local", "DIGITCAM_CAMERA__FPS": "0.5"},
    )
    assert result.returncode == 0, result.stderr
    assert '"host": "broker.local"' in result.stdout and '"fps": 0.5' in result.stdout
