"""Settings: defaults < TOML file < DIGITCAM_* environment < command-line flags.

Every model forbids unknown keys so a typo fails at start-up with the key's name. Loading
them (the file, the environment, credentials, the errors that name each key) is in
edge/config_load.py.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge.meter.settings import PRINTED_KINDS, MeterFields

logger = logging.getLogger(__name__)

SYSTEM_CONFIG = Path("/etc/digitcam/digitcam.toml")
CONFIG_ERROR_EXIT = 78  # EX_CONFIG from sysexits.h; systemd's RestartPreventExitStatus uses it


def default_device_id() -> str:
    """The host name, lower-cased and reduced to [a-z0-9_-] so it is safe in MQTT topics."""
    name = re.sub(r"[^a-z0-9_-]+", "-", socket.gethostname().lower()).strip("-")
    return name or "digitcam"


def default_allowed_hosts() -> list[str]:
    """localhost, and the device's host name as itself and as its mDNS name (<name>.local)."""
    name = socket.gethostname().lower().rstrip(".")
    return list(dict.fromkeys(["localhost", *([name, f"{name}.local"] if name else [])]))


class _Section(BaseModel):
    # allow_inf_nan: TOML and the environment both spell nan and inf, and no setting means
    # either; a NaN box or an infinite interval would only fail later, at every frame or prune.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class CameraSettings(_Section):
    source: str = Field(
        "/dev/video0",
        min_length=1,
        description="folder of frames, image file, video file, device path or index, or URL",
    )
    fps: float = Field(
        2.0,
        ge=0,
        le=120,
        description="frames per second read from the source; 0: as fast as the reader goes",
    )
    loop: bool = Field(True, description="replay a folder or video from the start when it ends")
    # A camera on its side (90 or -90), upside down (180) or a little askew (a few degrees):
    # every frame is turned before anything reads it, so boxes are set on the upright frame.
    rotate: float = Field(
        0.0, ge=-360, le=360, description="turn every frame this many degrees clockwise"
    )
    # The longest wait between reopen tries; capped so a camera plugged back in is picked up
    # within the hour.
    reopen_backoff_max_s: float = Field(30.0, gt=0, le=3600)


class _RegionCore(_Section):
    name: str = Field("main", pattern=r"^[A-Za-z0-9_-]+$")
    # [x, y, w, h]: pixels, or fractions of the frame when every value is <= 1.0.
    box: tuple[float, float, float, float] | None = None
    # number, digit: handwriting; counter: meter wheels; display: 7-segment digits.
    kind: Literal["number", "digit", "counter", "display"] = "number"
    # The confidence each digit needs for the reading to be published; none: the model's
    # setting for the region's kind (model.min_confidence, model.printed_min_confidence).
    min_confidence: float | None = Field(None, ge=0, le=1)


class RegionSettings(MeterFields, _RegionCore):
    """One region of the frame: where, what kind, and for meters the keys of edge.meter."""

    @field_validator("box")
    @classmethod
    def _box_positive(cls, box: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if box is not None and (box[2] <= 0 or box[3] <= 0 or box[0] < 0 or box[1] < 0):
            raise ValueError("box is [x, y, w, h] with x, y >= 0 and w, h > 0")
        return box

    @classmethod
    def whole_image(cls, name: str, kind: str, digits: int | None = None) -> RegionSettings:
        """A region covering the whole image, as `predict --kind` and the API read one: a
        counter or display window of `digits` cells (default 1), a number of `digits`
        digits (default any count)."""
        if kind in PRINTED_KINDS:
            return cls(name=name, kind=kind, digits=digits or 1)
        if kind == "number" and digits:
            return cls(name=name, kind=kind, digits=digits)
        return cls(name=name, kind=kind)


class ModelSettings(_Section):
    path: Path | None = Field(
        None, description="ONNX file; empty: the model shipped in the package"
    )
    # The shipped models are calibrated (temperature scaling), so a digit's confidence tracks
    # its chance of being right. For handwriting (number and digit regions) 0.95 was chosen
    # on the tuning frames with the shipped model: against 0.9 it publishes 30% fewer values
    # "ok" but wrong (81 -> 57 of 7,500 saved frames) for 0.3% fewer right (0.9 against 0.5
    # had halved them before). Never a guess beats a guess.
    min_confidence: float = Field(
        0.95, ge=0, le=1, description="handwriting: a digit under it voids the reading"
    )
    # Counter and display regions: the counter rules (a rolling wheel read to a tenth, the
    # plausibility checks) and the meter figures were set with 0.9.
    printed_min_confidence: float = Field(
        0.9, ge=0, le=1, description="counter and display regions: the same for printed digits"
    )
    threads: int = Field(1, ge=1, le=64, description="onnxruntime intra-op threads")
    printed_path: Path | None = Field(
        None, description="printed-digit ONNX of counter regions; empty: the shipped one"
    )
    display_path: Path | None = Field(
        None,
        description="printed-digit ONNX of display regions; empty: model.printed_path when "
        "set, else the shipped display model",
    )
    runs_path: Path | None = Field(
        None,
        description="run-reader ONNX: digits run together read whole in number regions; "
        "empty: none",
    )
    # A second reader of number and digit regions that reads the row whole (edge.rows_model):
    # a number both readers read alike is published as sure as the surer of the two, one it is
    # sure reads otherwise is not published. See the README (the row reader) for what it gave.
    row_reader: bool = Field(
        True, description="number and digit regions: the row reader's second opinion (false: off)"
    )
    rows_path: Path | None = Field(
        None, description="row-reader ONNX for number and digit regions; empty: the shipped one"
    )


class MqttSettings(_Section):
    host: str = Field("", description="broker host; empty turns MQTT off")
    port: int = Field(1883, ge=1, le=65535)
    username: str = ""
    password: SecretStr = SecretStr("")
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    topic_prefix: str = Field("digitcam", pattern=r"^[^#+]+$")
    qos: Literal[0, 1, 2] = 1
    discovery_prefix: str = Field("homeassistant", description="empty turns discovery off")
    keepalive_s: int = Field(30, ge=5, le=3600)
    # stats are also a sign of life; more than a day apart they tell nothing.
    stats_interval_s: float = Field(60.0, gt=0, le=86_400)


class ApiSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    token: SecretStr = SecretStr("")
    # 1 GiB: more than a device's memory, a thousand times a camera photo.
    max_upload_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=2**30)
    # Host names the API answers to besides IP addresses and api.host; "*" answers any. A
    # page whose own name was rebound to the device's address (DNS rebinding) is refused.
    allowed_hosts: list[str] = Field(default_factory=default_allowed_hosts)


def default_storage_path() -> Path:
    """systemd's StateDirectory= when run as a service, else the working directory."""
    return Path(os.environ.get("STATE_DIRECTORY", ".").split(":")[0]) / "digitcam.sqlite"


# A century: a longer retention is none at all, and its cut-off would fall before year 1,
# where datetime ends, so every prune would fail.
MAX_DAYS = 36_500


class StorageSettings(_Section):
    path: Path = Field(
        default_factory=default_storage_path, description="SQLite file: history, outbox, labels"
    )
    # Messages kept while the broker is away (two per reading). At about 1 KB a message, ten
    # million fill 10 GB: more than a device's SD card.
    outbox_max: int = Field(100_000, ge=10, le=10_000_000)
    history_days: float = Field(30.0, gt=0, le=MAX_DAYS, description="then readings are pruned")
    crop_days: float = Field(7.0, ge=0, le=MAX_DAYS, description="digit crops kept for corrections")


class Settings(BaseSettings):
    """The whole configuration of one device."""

    model_config = SettingsConfigDict(
        env_prefix="DIGITCAM_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
        allow_inf_nan=False,  # as in every section
    )

    device_id: str = Field(default_factory=default_device_id, pattern=r"^[a-z0-9_-]+$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    camera: CameraSettings = Field(default_factory=CameraSettings)
    regions: list[RegionSettings] = Field(default_factory=lambda: [RegionSettings()], min_length=1)
    model: ModelSettings = Field(default_factory=ModelSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    @field_validator("regions")
    @classmethod
    def _unique_region_names(cls, regions: list[RegionSettings]) -> list[RegionSettings]:
        names = [r.name for r in regions]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        return regions

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: flags (init), then environment, then the TOML file.
        toml_file = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


class ConfigError(Exception):
    """The configuration cannot be used; `problems` names every key at fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
