"""Configuration: sources in the documented order, loud failures, masked secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import ConfigError, default_device_id
from edge.config_load import load_settings, masked_dump

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("DIGITCAM_") or key in ("CREDENTIALS_DIRECTORY", "STATE_DIRECTORY"):
            monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "digitcam.toml"
    path.write_text(text)
    return path


def test_defaults_match_the_spec() -> None:
    s = load_settings(None)
    assert s.mqtt.host == "" and s.mqtt.port == 1883 and s.mqtt.qos == 1
    assert s.mqtt.topic_prefix == "digitcam" and s.mqtt.discovery_prefix == "homeassistant"
    assert s.api.host == "127.0.0.1" and s.api.port == 8080
    assert [(r.name, r.box, r.kind) for r in s.regions] == [("main", None, "number")]
    assert s.model.path is None
    assert s.device_id == default_device_id()


def test_priority_file_then_environment_then_flags(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, 'device_id = "from-file"\n[mqtt]\nhost = "file.local"\nport = 1884\n')
    assert load_settings(path).mqtt.host == "file.local"
    monkeypatch.setenv("DIGITCAM_MQTT__HOST", "env.local")
    s = load_settings(path)
    assert (s.mqtt.host, s.mqtt.port, s.device_id) == ("env.local", 1884, "from-file")
    s = load_settings(path, {"mqtt": {"host": "flag.local"}})
    assert (s.mqtt.host, s.mqtt.port) == ("flag.local", 1884), "a flag overrides one key only"


def test_config_file_from_environment_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITCAM_CONFIG", str(write(tmp_path, 'device_id = "envfile"\n')))
    assert load_settings(None).device_id == "envfile"


def test_every_problem_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[mqtt]\nhots = "x"\nport = 0\n[camera]\nfps = -1\n'
        '[[regions]]\nname = "a"\nbox = [0, 0, 0, 5]\n',
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    text = "\n".join(info.value.problems)
    assert "mqtt.hots: unknown key" in text
    assert "mqtt.port" in text and "camera.fps" in text and "regions.0.box" in text


def test_a_typo_names_the_key_it_was_probably_meant_to_be(tmp_path: Path, monkeypatch) -> None:
    path = write(
        tmp_path,
        "[camera]\nfsp = 5\n[model]\nrows_reader = false\nzzz = 1\n"
        '[[regions]]\nname = "water"\nknd = "counter"\nbox = [0, 0, 10, 10]\n',
    )
    monkeypatch.setenv("DIGITCAM_MQT__HOST", "broker")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    problems = info.value.problems
    text = "\n".join(problems)
    assert "camera.fsp: unknown key; did you mean camera.fps?" in text
    assert "model.rows_reader: unknown key; did you mean model.row_reader?" in text
    assert "regions.0.knd: unknown key; did you mean regions.0.kind?" in text
    assert (
        "DIGITCAM_MQT__HOST: unknown environment variable (no setting 'mqt'); did you mean "
        "DIGITCAM_MQTT__HOST?" in text
    )
    # Nothing like any key: no guess.
    (zzz,) = [p for p in problems if p.startswith("model.zzz")]
    assert zzz == "model.zzz: unknown key (see config/digitcam.toml for every key)"


def test_unknown_environment_variables_are_named(monkeypatch) -> None:
    monkeypatch.setenv("DIGITCAM_MQTT__HOTS", "x")
    monkeypatch.setenv("DIGITCAM_DEVICEID", "x")
    monkeypatch.setenv("DIGITCAM_DATA_DIR", "/data")  # the training data: not a setting
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    text = "\n".join(info.value.problems)
    assert "DIGITCAM_DEVICEID: unknown environment variable" in text
    assert "mqtt.hots: unknown key" in text
    assert "DATA_DIR" not in text


def test_missing_and_broken_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[mqtt\nhost="))


def test_regions_in_pixels_and_fractions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[regions]]\nname = "meter"\nbox = [0.1, 0.2, 0.5, 0.3]\n'
        '[[regions]]\nname = "form"\nbox = [10, 20, 300, 80]\nkind = "digit"\n',
    )
    s = load_settings(path)
    assert [r.name for r in s.regions] == ["meter", "form"]
    assert s.regions[1].kind == "digit"
    with pytest.raises(ConfigError, match="unique"):
        load_settings(write(tmp_path, '[[regions]]\nname = "a"\n[[regions]]\nname = "a"\n'))


def test_password_from_systemd_credential(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "mqtt_password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert load_settings(None).mqtt.password.get_secret_value() == "s3cret"


def test_storage_defaults_to_systemd_state_directory(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert load_settings(None).storage.path == tmp_path / "digitcam.sqlite"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
    )


def test_check_config_masks_secrets_and_exits_78_on_errors(tmp_path: Path) -> None:
    good = write(tmp_path, '[mqtt]\nhost = "b"\npassword = "hunter2"\n[api]\ntoken = "t0k"\n')
    result = _cli("check-config", "--config", str(good))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["mqtt"]["password"] == "***" and printed["api"]["token"] == "***"
    assert "hunter2" not in result.stdout and "t0k" not in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[mqtt]\npasword = "x"\n')
    result = _cli("check-config", "--config", str(bad))
    assert result.returncode == 78
    assert "mqtt.pasword: unknown key" in result.stderr


def test_check_config_shows_each_region_only_the_keys_of_its_kind(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        '[[regions]]\nname = "serial"\nkind = "number"\ndigits = 6\n'
        '[[regions]]\nname = "cell"\nkind = "digit"\nbox = [0, 0, 40, 40]\n'
        '[[regions]]\nname = "water"\nkind = "counter"\nbox = [0, 100, 300, 80]\n'
        "digits = 6\ndecimals = 1\n",
    )
    result = _cli("check-config", "--config", str(config))
    assert result.returncode == 0, result.stderr
    serial, cell, water = json.loads(result.stdout)["regions"]
    # A number region says how many digits it has; the meter keys are not its own.
    assert serial["digits"] == 6 and "decimals" not in serial and "monotonic" not in serial
    assert "digits" not in cell and "unit" not in cell
    assert water["digits"] == 6 and water["decimals"] == 1 and water["monotonic"] is True
    assert water["confirm_readings"] == 3 and "device_class" in water


def test_masked_dump_leaves_empty_secrets_empty() -> None:
    data = masked_dump(load_settings(None))
    assert data["mqtt"]["password"] == "" and data["api"]["token"] == ""


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('[[regions]]\nname = "a"\nbox = [0, 0, nan, 10]\n', "regions.0.box.2"),
        ('[[regions]]\nname = "a"\nbox = [inf, 0, 5, 10]\n', "regions.0.box.0"),
        ("[camera]\nreopen_backoff_max_s = inf\n", "camera.reopen_backoff_max_s"),
        ("[camera]\nreopen_backoff_max_s = 1e9\n", "camera.reopen_backoff_max_s"),
        ("[model]\nmin_confidence = nan\n", "model.min_confidence"),
        ("[model]\nprinted_min_confidence = 1.5\n", "model.printed_min_confidence"),
        ('[[regions]]\nname = "a"\nmin_confidence = 1.5\n', "regions.0.min_confidence"),
        ("[mqtt]\nstats_interval_s = 1e12\n", "mqtt.stats_interval_s"),
        ("[storage]\nhistory_days = 1e308\n", "storage.history_days"),
        ("[storage]\nhistory_days = nan\n", "storage.history_days"),
        ("[storage]\ncrop_days = 1e7\n", "storage.crop_days"),
        ("[storage]\noutbox_max = 100000000000000000000\n", "storage.outbox_max"),
        ("[api]\nmax_upload_bytes = 1099511627776\n", "api.max_upload_bytes"),
    ],
)
def test_non_finite_and_absurd_values_exit_78_naming_the_key(
    tmp_path: Path, toml: str, named: str
) -> None:
    result = _cli("check-config", "--config", str(write(tmp_path, toml)))
    assert result.returncode == 78, result.stdout
    assert f"  {named}: " in result.stderr
    assert "Traceback" not in result.stderr


def test_non_finite_values_from_the_environment_are_refused_too(tmp_path: Path) -> None:
    result = _cli("check-config", env={"DIGITCAM_STORAGE__HISTORY_DAYS": "inf"})
    assert result.returncode == 78
    assert "storage.history_days: " in result.stderr


def test_the_largest_sensible_values_are_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[storage]\nhistory_days = 3650\ncrop_days = 365\noutbox_max = 1000000\n"
        "[mqtt]\nstats_interval_s = 3600\n[camera]\nreopen_backoff_max_s = 600\n",
    )
    assert load_settings(path).storage.history_days == 3650


@pytest.mark.parametrize(
    ("toml", "secret"),
    [
        ("[mqtt]\npassword = 12345678\n", "12345678"),
        ("[api]\ntoken = 987654321\n", "987654321"),
        ('[api]\ntoken = ["tok-in-a-list"]\n', "tok-in-a-list"),
        ('mqtt = "password=hunter2"\n', "hunter2"),
    ],
)
def test_a_wrongly_typed_secret_is_not_printed(tmp_path: Path, toml: str, secret: str) -> None:
    result = _cli("check-config", "--config", str(write(tmp_path, toml)))
    assert result.returncode == 78
    key = "mqtt.password" if "password =" in toml else "api.token" if "token" in toml else "mqtt"
    assert f"  {key}: " in result.stderr, "the key is still named"
    assert secret not in result.stderr + result.stdout


def toml_blocks(text: str) -> list[str]:
    """The ```toml blocks of a Markdown text."""
    parts = text.split("```toml\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


@pytest.mark.parametrize("index", range(len(toml_blocks((ROOT / "README.md").read_text()))))
def test_every_configuration_example_in_the_readme_loads(tmp_path: Path, index: int) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    block = toml_blocks((ROOT / "README.md").read_text())[index]
    settings = load_settings(write(tmp_path, block))  # a ConfigError names what is wrong
    written = tomllib.loads(block).get("regions", [])
    assert [r["name"] for r in written] == [r.name for r in settings.regions][: len(written)]
