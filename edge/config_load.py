"""Loading the settings once at start-up: the file, the environment, systemd credentials.

Every problem is collected and named by its key (ConfigError); secrets are never echoed.
"""

from __future__ import annotations

import os
from difflib import get_close_matches
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError

from edge.config import SYSTEM_CONFIG, ConfigError, Settings
from edge.meter.settings import METER_KEYS, PRINTED_KINDS, RULE_KEYS


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config, else $DIGITCAM_CONFIG, else /etc/digitcam/digitcam.toml when it exists."""
    named = explicit or os.environ.get("DIGITCAM_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(
                [f"config file {path}: does not exist (check --config / DIGITCAM_CONFIG)"]
            )
        return path
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_settings(
    config: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None
) -> Settings:
    """Build the settings once at start-up, or raise ConfigError naming every problem."""
    path = resolve_config_path(config)
    # DIGITCAM_CONFIG names the file; it is not a setting, so keep it out of the env source.
    saved = os.environ.pop("DIGITCAM_CONFIG", None)
    try:
        cls: type[Settings] = Settings
        if path is not None:
            _check_toml_syntax(path)
            cls = type("FileSettings", (Settings,), {})
            cls.model_config = {**Settings.model_config, "toml_file": path}
        settings = cls(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(_unknown_env_keys() + [_describe(err) for err in exc.errors()]) from None
    finally:
        if saved is not None:
            os.environ["DIGITCAM_CONFIG"] = saved
    unknown = _unknown_env_keys()
    if unknown:
        raise ConfigError(unknown)
    _load_credentials(settings)
    return settings


# How like a known key an unknown one must be to be named as the key it was probably meant
# to be (difflib's ratio): two letters swapped in a three-letter key (fsp, qso) still are.
KEY_LIKENESS = 0.6

# DIGITCAM_* variables that are not settings: the config file's path and the training data.
_NOT_SETTINGS = {"DIGITCAM_CONFIG", "DIGITCAM_DATA_DIR"}


def _unknown_env_keys() -> list[str]:
    """pydantic-settings ignores DIGITCAM_<TYPO>; a typo must fail like one in the file."""
    fields = {name.upper() for name in Settings.model_fields}
    problems = []
    for name in sorted(os.environ):
        if not name.startswith("DIGITCAM_") or name in _NOT_SETTINGS:
            continue
        top, *rest = name[len("DIGITCAM_") :].split("__", 1)
        if top not in fields:
            close = get_close_matches(top, sorted(fields), n=1, cutoff=KEY_LIKENESS)
            meant = f"; did you mean DIGITCAM_{'__'.join((close[0], *rest))}?" if close else ""
            problems.append(
                f"{name}: unknown environment variable (no setting '{top.lower()}'){meant}"
            )
    return problems


def _load_credentials(settings: Settings) -> None:
    """systemd's LoadCredential= hands secrets over as files, outside the world-readable config."""
    folder = os.environ.get("CREDENTIALS_DIRECTORY")
    if not folder or settings.mqtt.password.get_secret_value():
        return
    secret = Path(folder) / "mqtt_password"
    try:
        value = secret.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError([f"mqtt.password: credential {secret} cannot be read: {exc}"]) from None
    settings.mqtt.password = SecretStr(value)


def _check_toml_syntax(path: Path) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"config file {path}: cannot be read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"config file {path}: not valid TOML: {exc}"]) from None


def _secret_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key paths of every SecretStr setting: mqtt.password, api.token and any added later."""
    keys: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if kind is SecretStr or SecretStr in get_args(kind):
            keys.append((*prefix, name))
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += _secret_keys(kind, (*prefix, name))
    return keys


SECRET_KEYS = _secret_keys(Settings)


def _section_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys the section holding `loc`'s last part knows (a region's, for
    regions.0.<key>); [] where the path leaves the settings."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if part.isdigit():  # an entry of a list of sections: [[regions]]
            continue
        info = model.model_fields.get(part)
        if info is None:
            return []
        kind = info.annotation
        nested = [k for k in (kind, *get_args(kind)) if isinstance(k, type)]
        sections = [k for k in nested if issubclass(k, BaseModel)]
        if not sections:
            return []
        model = sections[0]
    return list(model.model_fields)


def _describe(err: Any) -> str:
    loc = tuple(str(part) for part in err["loc"])
    key = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        # A typo of a key the section knows: name the key it was probably meant to be.
        close = get_close_matches(loc[-1], _section_keys(loc), n=1, cutoff=KEY_LIKENESS)
        meant = f"; did you mean {'.'.join((*loc[:-1], close[0]))}?" if close else ""
        return f"{key}: unknown key{meant} (see config/digitcam.toml for every key)"
    got = err.get("input")
    # The value of a secret, or of a section holding one, may be the secret itself, mistyped
    # (`password = 12345678` is a TOML integer): name its type, never its value.
    if any(secret[: len(loc)] == loc or loc[: len(secret)] == secret for secret in SECRET_KEYS):
        return f"{key}: {err['msg']} (got {type(got).__name__}, not shown: it may be a secret)"
    return f"{key}: {err['msg']} (got {got!r})"


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with every secret replaced by '***'.

    A region shows only the keys of its kind: the meter keys (edge.meter.settings) only on
    counter and display regions, `digits` also on number regions, and the rules, the class
    and the unit on a display only when it is a meter's (a dump written back as a
    configuration must not turn a plain display into a meter).
    """
    data = settings.model_dump(mode="json")
    for region, given in zip(data["regions"], settings.regions, strict=True):
        if region["kind"] not in PRINTED_KINDS:
            kept = ("digits",) if region["kind"] == "number" else ()
            for key in METER_KEYS:
                if key not in kept:
                    del region[key]
        elif not given.is_meter:
            for key in (*RULE_KEYS, "device_class", "unit"):
                del region[key]
    for *sections, key in SECRET_KEYS:
        section = data
        for name in sections:
            section = section[name]
        section[key] = "***" if section[key] else ""
    return data
