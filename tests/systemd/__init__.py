"""Deployment tests: the systemd unit, the installer, the example configs, the fleet bridge."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT_FILE = REPO / "systemd" / "digitcam.service"


def unit_directives(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment in a unit file, in order, comments skipped."""
    section, found = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found
