"""The real daemon runs under the unit's seccomp sandbox: syscall filter, W^X memory, families.

No systemd runs in CI, so the test rebuilds the seccomp part of systemd/digitcam.service with
libseccomp (the library systemd itself uses), with systemd's semantics: the allow list is
`SystemCallFilter=` with the `~` groups removed, a call outside it fails with
`SystemCallErrorNumber=`; `MemoryDenyWriteExecute=` refuses writable+executable mappings and
making memory executable later; `RestrictAddressFamilies=` refuses other socket families.
Then `digitcam run --once` reads frames, publishes to a real Mosquitto with the password from
$CREDENTIALS_DIRECTORY and reports to a real notify socket. A library that needs JIT memory or a
forbidden call (onnxruntime, OpenCV, numpy's OpenBLAS, SQLite, paho) fails this test first.
"""

from __future__ import annotations

import ctypes.util
import errno
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_until
from tests.systemd import UNIT_FILE, unit_directives

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
LIBSECCOMP = ctypes.util.find_library("seccomp")
pytestmark = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None or LIBSECCOMP is None or not sys.platform.startswith("linux"),
    reason="needs Linux with systemd-analyze and libseccomp (Debian: systemd, libseccomp2)",
)

# Runs in the child: install the filters, then hand over to the digitcam command line.
# The allow list goes last because it does not allow seccomp() itself.
BOOTSTRAP = r"""
import ctypes, json, sys
policy = json.loads(sys.argv[1])
lib = ctypes.CDLL(policy["lib"], use_errno=True)
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                       ctypes.c_uint, ctypes.POINTER(Cmp)]
ALLOW, LT, EQ, GT, MASKED_EQ = 0x7FFF0000, 2, 4, 6, 7
def fail_with(code): return 0x00050000 | code
def add(ctx, action, name, *cmps):
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:
        return  # a name from another architecture's list
    rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), (Cmp * max(1, len(cmps)))(*cmps))
    if rc < 0 and rc != -17:  # -EEXIST: listed twice
        raise OSError(-rc, "seccomp rule for " + name)
def load(ctx):
    rc = lib.seccomp_load(ctx)
    if rc < 0:
        raise OSError(-rc, "seccomp_load")
if policy["mdwe"]:  # systemd's seccomp_memory_deny_write_execute()
    ctx = lib.seccomp_init(ALLOW)
    add(ctx, fail_with(1), "mmap", Cmp(2, MASKED_EQ, 6, 6))  # PROT_WRITE|PROT_EXEC
    add(ctx, fail_with(1), "mprotect", Cmp(2, MASKED_EQ, 4, 4))  # PROT_EXEC
    add(ctx, fail_with(1), "pkey_mprotect", Cmp(2, MASKED_EQ, 4, 4))
    add(ctx, fail_with(1), "shmat", Cmp(2, MASKED_EQ, 0o100000, 0o100000))  # SHM_EXEC
    load(ctx)
families = sorted(policy["families"])
ctx = lib.seccomp_init(ALLOW)  # systemd's seccomp_restrict_address_families(), allow-list mode
add(ctx, fail_with(97), "socket", Cmp(0, LT, families[0], 0))  # EAFNOSUPPORT
add(ctx, fail_with(97), "socket", Cmp(0, GT, families[-1], 0))
for family in range(families[0] + 1, families[-1]):
    if family not in families:
        add(ctx, fail_with(97), "socket", Cmp(0, EQ, family, 0))
load(ctx)
ctx = lib.seccomp_init(fail_with(policy["errno"]))
for name in policy["allow"]:
    add(ctx, ALLOW, name)
load(ctx)
sys.argv = sys.argv[2:]
if sys.argv[0] == "digitcam":
    from edge.cli import main
    raise SystemExit(main(sys.argv[1:]))
exec(compile(sys.argv[0], "probe", "exec"))
"""

PROBE = """
import mmap, os, socket
tries = {
    "wx-mmap": lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC),
    "packet-socket": lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW),
    "setuid": lambda: os.setuid(0),
    "nice": lambda: os.nice(1),
}
for name, attempt in tries.items():
    try:
        attempt()
        print(name, 0)
    except OSError as exc:
        print(name, exc.errno)
"""


@functools.cache
def syscalls(group: str) -> frozenset[str]:
    """The system calls in a systemd group such as @system-service, nested groups expanded."""
    out = subprocess.run(
        [str(SYSTEMD_ANALYZE), "syscall-filter", group], capture_output=True, text=True, check=True
    ).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        word = line.strip()
        if word and not word.startswith("#"):
            names |= syscalls(word) if word.startswith("@") else {word}
    return frozenset(names)


def unit_policy() -> tuple[dict[str, Any], dict[str, str]]:
    """The seccomp policy and the environment that systemd/digitcam.service describes."""
    directives = [(k, v) for _, k, v in unit_directives(UNIT_FILE.read_text())]
    allowed: set[str] = set()
    for key, value in directives:
        if key == "SystemCallFilter":
            deny = value.startswith("~")
            names = set().union(
                *(syscalls(w) if w.startswith("@") else {w} for w in value.lstrip("~").split())
            )
            allowed = allowed - names if deny else allowed | names
    settings = dict(directives)
    policy = {
        "lib": LIBSECCOMP,
        "allow": sorted(allowed),
        "errno": int(getattr(errno, settings["SystemCallErrorNumber"])),
        "mdwe": settings.get("MemoryDenyWriteExecute") == "yes",
        "families": [int(getattr(socket, f)) for f in settings["RestrictAddressFamilies"].split()],
    }
    env = dict(v.split("=", 1) for k, v in directives if k == "Environment")
    return policy, env


def sandboxed(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Python under the unit's seccomp policy, running the digitcam CLI (or a probe script)."""
    policy, unit_env = unit_policy()
    return subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, json.dumps(policy), *args],
        check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **unit_env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_emulated_sandbox_is_live() -> None:
    """Without this, a broken emulation would make the daemon test pass vacuously."""
    result = sandboxed([PROBE], {})
    assert result.returncode == 0, result.stderr
    refused = dict(line.split() for line in result.stdout.splitlines())
    assert refused == {
        "wx-mmap": str(errno.EPERM),
        "packet-socket": str(errno.EAFNOSUPPORT),
        "setuid": str(errno.EPERM),
        "nice": str(errno.EPERM),
    }


def test_daemon_runs_and_publishes_inside_the_sandbox(
    tmp_path: Path, mosquitto_factory: Any, subscriber: Any
) -> None:
    cv2 = pytest.importorskip("cv2")
    import numpy as np

    frames = tmp_path / "frames"
    frames.mkdir()
    for index, text in enumerate(["417", "25"]):
        image = np.full((120, 240), 255, np.uint8)
        cv2.putText(image, text, (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 0, 8)
        cv2.imwrite(str(frames / f"{index:03d}.png"), image)
    broker = mosquitto_factory(users={"digitcam": "s3cret"})
    readings = subscriber(
        broker, ["digitcam/sandbox/reading"], username="digitcam", password="s3cret"
    )
    config = tmp_path / "digitcam.toml"
    config.write_text(
        f'device_id = "sandbox"\n[camera]\nsource = "{frames}"\nloop = false\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nusername = "digitcam"\n'
    )
    state, credentials = tmp_path / "state", tmp_path / "credentials"
    state.mkdir()
    credentials.mkdir()
    (credentials / "mqtt_password").write_text("s3cret")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.2)

    try:
        result = sandboxed(
            ["digitcam", "run", "--once", "--config", str(config)],
            {
                "HOME": "/nonexistent",  # what a system user gets; nothing may be written there
                "STATE_DIRECTORY": str(state),
                "CREDENTIALS_DIRECTORY": str(credentials),
                "NOTIFY_SOCKET": str(tmp_path / "notify"),
            },
        )
        notes = []
        while True:
            try:
                notes.append(notify.recv(4096).decode())
            except TimeoutError:
                break
    finally:
        notify.close()

    assert result.returncode == 0, result.stderr[-3000:]
    assert notes[0] == "READY=1" and notes[-1] == "STOPPING=1", notes
    assert (state / "digitcam.sqlite").exists(), "storage.path defaults into $STATE_DIRECTORY"
    wait_until(lambda: len(readings.messages) >= 2, what="both readings on the broker")
    published = [json.loads(m.payload) for m in readings.messages]
    assert [r["seq"] for r in published] == [1, 2]
    assert published[1]["value"] == "25"
