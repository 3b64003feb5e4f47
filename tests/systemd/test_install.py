"""systemd/install.sh and uninstall.sh, run for real into a throwaway root (DESTDIR).

Only the boundary to the running system is replaced: `systemctl` by a stub first on PATH that
records its arguments (no systemd runs in CI), except where `systemctl --root` works offline.
The user is created by the real useradd in DESTDIR/etc/passwd.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.systemd import REPO

INSTALL = REPO / "systemd" / "install.sh"
UNINSTALL = REPO / "systemd" / "uninstall.sh"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="the installer sets root ownership and creates users: run the tests as root",
)
STUB = """#!/bin/sh
echo "$*" >> "{log}"
case "$1" in is-active) exit "${{STUB_ACTIVE:-3}}" ;; esac
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A minimal root file system: the account files useradd edits, with a `video` group."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\nvideo:x:44:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\nvideo:*::\n")
    return root


@pytest.fixture
def systemctl_log(tmp_path: Path) -> Path:
    bindir = tmp_path / "stub-bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.log"
    stub = bindir / "systemctl"
    stub.write_text(STUB.format(log=log))
    stub.chmod(0o755)
    return log


def run(script: Path, root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The script as an admin would run it, with DESTDIR and the given knobs."""
    stub_bin = root.parent / "stub-bin"
    full_env = {
        "PATH": f"{stub_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}:/usr/sbin:/sbin",
        "DESTDIR": str(root),
        "SKIP_VENV": "1",
        **env,
    }
    result = subprocess.run(
        [str(script), *args], check=False, env=full_env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def account(root: Path, file: str, name: str) -> list[str] | None:
    for line in (root / "etc" / file).read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return None


def mode_owner(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid


def test_fresh_install(root: Path, systemctl_log: Path) -> None:
    run(INSTALL, root, OFFLINE="0")

    user = account(root, "passwd", "digitcam")
    assert user is not None and int(user[2]) < 1000, "a system user"
    assert user[5:] == ["/nonexistent", "/usr/sbin/nologin"]
    group = account(root, "group", "digitcam")
    assert group is not None
    video = account(root, "group", "video")
    assert video is not None and "digitcam" in video[3].split(",")

    config = root / "etc/digitcam/digitcam.toml"
    assert config.read_text() == (REPO / "config/digitcam.toml").read_text()
    assert mode_owner(config) == (0o640, 0, int(group[2]))
    assert mode_owner(root / "etc/digitcam/digitcam.toml.example")[0] == 0o644
    unit = root / "etc/systemd/system/digitcam.service"
    assert unit.read_text() == (REPO / "systemd/digitcam.service").read_text()
    assert mode_owner(unit) == (0o644, 0, 0)

    assert calls(systemctl_log) == [
        "daemon-reload",
        "is-active --quiet digitcam.service",
        "enable --now digitcam.service",
    ]


def test_upgrade_keeps_the_config_and_restarts(root: Path, systemctl_log: Path) -> None:
    run(INSTALL, root, OFFLINE="0")
    config = root / "etc/digitcam/digitcam.toml"
    config.write_text('device_id = "pi-kitchen"\n')
    config.chmod(0o600)
    uid_before = account(root, "passwd", "digitcam")
    systemctl_log.unlink()

    run(INSTALL, root, OFFLINE="0", STUB_ACTIVE="0")  # the service is running

    assert config.read_text() == 'device_id = "pi-kitchen"\n'
    assert mode_owner(config)[0] == 0o600
    assert account(root, "passwd", "digitcam") == uid_before, "the user is kept, not re-made"
    assert calls(systemctl_log) == [
        "daemon-reload",
        "is-active --quiet digitcam.service",
        "enable digitcam.service",
        "restart digitcam.service",
    ]


def test_uninstall_keeps_config_and_data_unless_purged(root: Path, systemctl_log: Path) -> None:
    run(INSTALL, root, OFFLINE="0")
    data = root / "var/lib/digitcam/digitcam.sqlite"
    data.parent.mkdir(parents=True)
    data.write_text("readings")
    (root / "opt/digitcam/venv/bin").mkdir(parents=True)
    systemctl_log.unlink()

    run(UNINSTALL, root, OFFLINE="0")

    assert not (root / "etc/systemd/system/digitcam.service").exists()
    assert not (root / "opt/digitcam").exists()
    assert account(root, "passwd", "digitcam") is None
    assert account(root, "group", "digitcam") is None
    assert data.read_text() == "readings"
    assert (root / "etc/digitcam/digitcam.toml").exists()
    assert calls(systemctl_log) == [
        "disable --now digitcam.service",
        "daemon-reload",
        "reset-failed digitcam.service",
    ]

    run(UNINSTALL, root, "--purge", OFFLINE="0")  # again: nothing left to stop is fine
    assert not (root / "etc/digitcam").exists()
    assert not (root / "var/lib/digitcam").exists()


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl not installed")
def test_offline_enable_into_an_image(root: Path, tmp_path: Path) -> None:
    """DESTDIR without a stub: the real `systemctl --root` wires the unit for the next boot."""
    (tmp_path / "stub-bin").mkdir()
    run(INSTALL, root)
    wants = root / "etc/systemd/system/multi-user.target.wants/digitcam.service"
    assert wants.is_symlink()
    assert os.readlink(wants) == "/etc/systemd/system/digitcam.service"

    run(UNINSTALL, root)
    assert not wants.is_symlink()


def test_refuses_to_run_as_a_normal_user_on_the_live_system(tmp_path: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    for script in (INSTALL, UNINSTALL):
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(script)],
            check=False,
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1 and "run as root" in result.stderr


def test_installs_a_working_device_venv(root: Path) -> None:
    """The real venv: this checkout's base install (PyPI for numpy, onnxruntime, OpenCV)."""
    build_dir_before = (REPO / "build").exists()
    run(INSTALL, root, SKIP_VENV="0", SKIP_SYSTEMCTL="1")
    venv = root / "opt/digitcam/venv/bin"
    version = subprocess.run(
        [str(venv / "digitcam"), "--version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert version.stdout.strip().startswith("digitcam ")
    installed = subprocess.run(
        [str(venv / "python"), "-m", "pip", "list", "--format=freeze"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.lower()
    assert "onnxruntime==" in installed
    assert "torch==" not in installed and "fastapi==" not in installed, "base install only"
    assert (REPO / "build").exists() == build_dir_before, "the checkout is left as it was"
