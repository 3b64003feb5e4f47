"""systemd/digitcam.service: systemd accepts it, its sandbox scores well, the contract holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import CONFIG_ERROR_EXIT
from edge.config_load import load_settings
from tests.systemd import UNIT_FILE, unit_directives

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze not installed (Debian package: systemd)"
)
# `systemd-analyze security --offline=true` on systemd 252 (Debian 12, Raspberry Pi OS
# bookworm) rates the unit 1.5 "OK". Anything that loosens the sandbox raises the number.
MAX_EXPOSURE = 1.5
INSTALLED_BINARY = "/opt/digitcam/venv/bin/digitcam"


def render(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart at this checkout's digitcam: verify needs the binary to exist."""
    text = UNIT_FILE.read_text() if text is None else text
    binary = Path(sys.executable).with_name("digitcam")
    assert binary.exists(), "the project is installed in the test interpreter's environment"
    path = tmp_path / "digitcam.service"
    path.write_text(text.replace(INSTALLED_BINARY, str(binary)))
    return path


def verify(path: Path) -> list[str]:
    """What `systemd-analyze verify` says about this file (it exits 0 even on ignored lines)."""
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = (result.stdout + result.stderr).splitlines()
    complaints = [line for line in said if str(path) in line or path.name in line]
    if result.returncode != 0:
        complaints.append(f"exit {result.returncode}: {said}")
    return complaints


@needs_analyze
def test_systemd_accepts_every_line(tmp_path: Path) -> None:
    assert verify(render(tmp_path)) == []
    # ... and a typo would have been reported, naming the line.
    broken = UNIT_FILE.read_text().replace("Type=notify", "Type=notfy")
    assert any("notfy" in line for line in verify(render(tmp_path, broken)))


@needs_analyze
def test_exposure_score_stays_low(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SYSTEMD_ANALYZE), "security", "--offline=true", "--no-pager", str(render(tmp_path))],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip(f"this systemd cannot analyse unit files offline: {result.stderr.strip()}")
    found = re.search(r"Overall exposure level for digitcam\.service: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout


def test_service_contract() -> None:
    """The lines the daemon, the installer and the README rely on."""
    settings = {
        (section, key): value
        for section, key, value in unit_directives(UNIT_FILE.read_text())
        if key not in ("SystemCallFilter", "Environment")
    }
    expected = {
        ("Service", "Type"): "notify",
        ("Service", "NotifyAccess"): "main",
        ("Service", "ExecStart"): f"{INSTALLED_BINARY} run --config /etc/digitcam/digitcam.toml",
        ("Service", "WatchdogSec"): "30",
        ("Service", "Restart"): "on-failure",
        ("Service", "RestartPreventExitStatus"): str(CONFIG_ERROR_EXIT),
        ("Service", "User"): "digitcam",
        ("Service", "Group"): "digitcam",
        ("Service", "SupplementaryGroups"): "video",
        ("Service", "StateDirectory"): "digitcam",
        ("Service", "ConfigurationDirectory"): "digitcam",
        ("Service", "NoNewPrivileges"): "yes",
        ("Service", "ProtectSystem"): "strict",
        ("Service", "ProtectHome"): "yes",
        ("Service", "PrivateTmp"): "yes",
        ("Service", "DevicePolicy"): "closed",
        ("Service", "DeviceAllow"): "char-video4linux rw",
        ("Service", "CapabilityBoundingSet"): "",
        ("Service", "MemoryDenyWriteExecute"): "yes",
        ("Service", "RestrictAddressFamilies"): "AF_UNIX AF_INET AF_INET6",
        ("Unit", "StartLimitIntervalSec"): "300",
        ("Unit", "StartLimitBurst"): "5",
    }
    assert {key: settings.get(key) for key in expected} == expected
    # The daemon flushes its outbox for up to ~10 s after SIGTERM; systemd must wait longer.
    assert int(settings[("Service", "TimeoutStopSec")]) >= 20
    # The capture loop pings every WatchdogSec/2 and blocks at most ~1 s between pings.
    assert int(settings[("Service", "WatchdogSec")]) >= 10


def test_environment_and_syscall_filter() -> None:
    directives = unit_directives(UNIT_FILE.read_text())
    env = [value for _, key, value in directives if key == "Environment"]
    assert "PYTHONUNBUFFERED=1" in env
    assert "ORT_DISABLE_TELEMETRY=1" in env  # no telemetry database, no traffic to Microsoft
    filters = [value for _, key, value in directives if key == "SystemCallFilter"]
    assert filters == ["@system-service", "~@privileged @resources"]


def test_missing_password_file_means_no_password(tmp_path: Path) -> None:
    """The unit's SetCredential= fallback must read as "no password" to the config loader."""
    directives = unit_directives(UNIT_FILE.read_text())
    loaded = [v for _, k, v in directives if k == "LoadCredential"]
    fallback = [v for _, k, v in directives if k == "SetCredential"]
    assert loaded == ["mqtt_password:/etc/digitcam/mqtt_password"]
    name, _, escaped = fallback[0].partition(":")
    assert name == "mqtt_password", "the fallback must carry the same credential name"
    config = tmp_path / "digitcam.toml"
    config.write_text('[mqtt]\nhost = "broker.local"\nusername = "pi"\n')
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    secret = credentials / "mqtt_password"

    # What systemd writes when /etc/digitcam/mqtt_password does not exist.
    secret.write_bytes(escaped.encode().decode("unicode_escape").encode())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CREDENTIALS_DIRECTORY", str(credentials))
        assert load_settings(config).mqtt.password.get_secret_value() == ""
        # ... and what it writes when the file exists.
        secret.write_text("s3cret\n")
        assert load_settings(config).mqtt.password.get_secret_value() == "s3cret"
