"""The daemon on a disk that fills up or turns read-only: it carries on, says why, and recovers.

Each test mounts a real small file system for `storage.path` (a tmpfs, or an ext4 image on
a loop device for the read-only-while-running case), so SQLite meets the kernel's own
ENOSPC and EROFS. Mounting needs root, as in CI; elsewhere these tests skip, saying why.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.store import DISK_FULL, Store, StoreError
from tests.conftest import Broker, Subscriber, free_port, wait_until
from tests.edge.test_app import ROOT, run_daemon

FRAMES = ROOT / "mock_frames" / "numbers"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a small file system for storage.path needs root"
)


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a file system here: mount {' '.join(args)}: {done.stderr}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs: room for a few hundred readings with their crops."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=4m,mode=0755", "digitcam-test", str(disk))
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the file system refuses another byte; returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 4096, b"\0"):
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return filler


def start(tmp_path: Path, disk: Path, broker: Broker) -> tuple[subprocess.Popen, str]:
    """The daemon replaying real frames in a loop, its store on `disk`; returns it and its URL."""
    port = free_port()
    proc = run_daemon(
        tmp_path,
        FRAMES,
        broker,
        extra_env={
            "DIGITCAM_STORAGE__PATH": str(disk / "state.sqlite"),
            "DIGITCAM_CAMERA__FPS": "10",
            "DIGITCAM_CAMERA__LOOP": "true",
            "DIGITCAM_API__ENABLED": "true",
            "DIGITCAM_API__PORT": str(port),
            "DIGITCAM_MQTT__STATS_INTERVAL_S": "1",
        },
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: proc.poll() is not None or _get(url), timeout_s=60, what="the API")
    assert proc.poll() is None, f"the daemon exited with {proc.returncode}: {proc.stderr.read()}"
    return proc, url


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(f"{url}/health", timeout=5)
    except httpx.HTTPError:
        return None


def health(url: str) -> dict:
    response = httpx.get(f"{url}/health", timeout=5)
    body = response.json()
    assert (response.status_code == 200) == (body["status"] == "ok")
    return body


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def readings(sub: Subscriber) -> list[dict]:
    return [json.loads(m.payload) for m in sub.on("digitcam/testcam/reading")]


def stored_seqs(sub: Subscriber) -> list[int]:
    return [r["seq"] for r in readings(sub) if r["seq"] is not None]


def unstored_after(sub: Subscriber, count: int) -> int:
    """Readings published with `seq: null` (not stored) among those after the first `count`."""
    return sum(r["seq"] is None for r in readings(sub)[count:])


def stop(proc: subprocess.Popen) -> str:
    """SIGTERM, expect a clean exit 0; returns the log."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "cannot rollback" not in err, err
    return err


def test_the_store_names_a_full_disk_and_writes_again_once_space_returns(
    small_disk: Path,
) -> None:
    store = Store(small_disk / "state.sqlite", outbox_max=100_000)
    try:
        store.enqueue("t", b"before")
        filler = fill(small_disk)
        with pytest.raises(StoreError) as caught:
            for _ in range(1000):  # the WAL may still have room for a few
                store.enqueue("t", os.urandom(4000))
        # The cause, not SQLite's complaint about the rollback it had already done itself.
        assert caught.value.condition == DISK_FULL
        assert "disk full" in str(caught.value) and "rollback" not in str(caught.value)
        health = store.health()
        assert (health.writable, health.state, health.errors) == (False, "disk full", 1)
        assert store.pending(1)[0].payload == b"before", "what was stored can still be read"
        filler.unlink()
        store.enqueue("t", b"after")
        assert store.health().writable and store.health().errors == 1
    finally:
        store.close()


def run_once_on(tmp_path: Path, small_disk: Path) -> tuple[int, str, str]:
    """`digitcam run --once` over the frames, its database on the small disk: exit, out, err."""
    proc = run_daemon(
        tmp_path,
        FRAMES,
        None,
        "--once",
        extra_env={"DIGITCAM_STORAGE__PATH": str(small_disk / "state.sqlite")},
    )
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def test_once_on_a_full_disk_prints_every_reading_and_exits_1(
    tmp_path: Path, small_disk: Path
) -> None:
    fill(small_disk)
    returncode, out, err = run_once_on(tmp_path, small_disk)
    printed = [json.loads(line) for line in out.splitlines()]
    assert len(printed) == len(list(FRAMES.glob("*.jpg")))
    assert all(r["seq"] is None for r in printed), "no seq: none of them was stored"
    assert returncode == 1, err
    assert f"{len(printed)} readings were not stored, only printed or published" in err
    assert "disk full" in err


def kill(proc: subprocess.Popen) -> None:
    """After a failed assertion: leave no daemon behind holding the mount."""
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=30)


def test_a_full_disk_degrades_keeps_publishing_and_recovers(
    tmp_path: Path, small_disk: Path, mosquitto: Broker, subscriber
) -> None:
    sub = subscriber(mosquitto, ["digitcam/testcam/#"])
    proc, url = start(tmp_path, small_disk, mosquitto)
    try:
        wait_until(lambda: len(stored_seqs(sub)) >= 3, timeout_s=60, what="stored readings")
        assert health(url)["status"] == "ok"
        filler = fill(small_disk)

        wait_until(
            lambda: "disk full" in " ".join(health(url)["reasons"]),
            timeout_s=60,
            what="/health degraded by the full disk",
        )
        body = health(url)
        assert body["storage"]["state"] == "disk full"
        seen = len(readings(sub))
        # Readings still reach the broker, straight past the outbox, marked as not stored.
        wait_until(lambda: unstored_after(sub, seen) >= 5, timeout_s=60, what="unstored readings")
        assert proc.poll() is None, "the daemon keeps running on a full disk"
        figures = metrics(url)
        assert figures["digitcam_store_errors_total"] >= 1
        assert figures["digitcam_readings_unstored_total"] >= 5
        assert figures["digitcam_store_writable"] == 0
        wait_until(
            lambda: [
                s
                for s in (json.loads(m.payload) for m in sub.on("digitcam/testcam/stats"))
                if s["storage"]["state"] == "disk full"
            ],
            what="a stats message naming the full disk",
        )

        last_stored = max(stored_seqs(sub))
        filler.unlink()
        wait_until(lambda: health(url)["status"] == "ok", timeout_s=60, what="/health ok again")
        wait_until(
            lambda: max(stored_seqs(sub)) > last_stored, timeout_s=60, what="stored readings again"
        )
        # seq carries on from the last stored reading: unstored ones used none.
        assert min(s for s in stored_seqs(sub) if s > last_stored) == last_stored + 1
        assert health(url)["storage"]["errors"] >= 1
        log = stop(proc)
        assert "disk full" in log and "writable again" in log
    finally:
        kill(proc)


def first_history(tmp_path: Path, small_disk: Path) -> int:
    """Run the daemon once over the frames with its database on the small disk; last seq."""
    returncode, out, err = run_once_on(tmp_path, small_disk)
    assert returncode == 0, err
    return int(json.loads(out.splitlines()[-1])["seq"])


def test_a_restart_on_a_full_disk_runs_degraded_and_recovers(
    tmp_path: Path, small_disk: Path, mosquitto: Broker, subscriber
) -> None:
    # A first run leaves a history behind; then the disk fills while the daemon is down.
    last_stored = first_history(tmp_path, small_disk)
    filler = fill(small_disk)

    sub = subscriber(mosquitto, ["digitcam/testcam/reading"])
    proc, url = start(tmp_path, small_disk, mosquitto)
    try:
        wait_until(lambda: unstored_after(sub, 0) >= 3, timeout_s=60, what="unstored readings")
        assert proc.poll() is None, "a full disk at start is not a configuration error"
        assert "disk full" in " ".join(health(url)["reasons"])
        filler.unlink()
        wait_until(lambda: stored_seqs(sub), timeout_s=60, what="stored readings again")
        assert min(stored_seqs(sub)) == last_stored + 1
        wait_until(lambda: health(url)["status"] == "ok", timeout_s=30, what="/health ok again")
        stop(proc)
    finally:
        kill(proc)


def test_a_read_only_file_system_at_start_runs_degraded_and_recovers(
    tmp_path: Path, small_disk: Path, mosquitto: Broker, subscriber
) -> None:
    last_stored = first_history(tmp_path, small_disk)
    mount("-o", "remount,ro", str(small_disk))

    sub = subscriber(mosquitto, ["digitcam/testcam/reading"])
    proc, url = start(tmp_path, small_disk, mosquitto)
    try:
        wait_until(lambda: unstored_after(sub, 0) >= 3, timeout_s=60, what="unstored readings")
        assert proc.poll() is None, "a read-only disk at start is not a configuration error"
        body = health(url)
        assert body["storage"]["state"] == "read-only file system", body
        mount("-o", "remount,rw", str(small_disk))
        wait_until(lambda: stored_seqs(sub), timeout_s=60, what="stored readings again")
        assert min(stored_seqs(sub)) == last_stored + 1
        wait_until(lambda: health(url)["status"] == "ok", timeout_s=30, what="/health ok again")
        stop(proc)
    finally:
        kill(proc)


@pytest.fixture
def ext4_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB ext4 image on a loop device that turns read-only on its first error."""
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 is not installed (apt-get install e2fsprogs)")
    image, disk = tmp_path / "ext4.img", tmp_path / "ext4"
    with image.open("wb") as f:
        f.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", str(image)], check=True)
    disk.mkdir()
    mount("-o", "loop,errors=remount-ro", str(image), str(disk))
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_file_system_turning_read_only_while_running_degrades_it(
    tmp_path: Path, ext4_disk: Path, mosquitto: Broker, subscriber
) -> None:
    device = Path(_mount_source(ext4_disk)).name
    trigger = Path("/sys/fs/ext4") / device / "trigger_fs_error"
    if not trigger.exists():
        pytest.skip(f"{trigger} is missing: this kernel cannot simulate an ext4 error")
    sub = subscriber(mosquitto, ["digitcam/testcam/#"])
    proc, url = start(tmp_path, ext4_disk, mosquitto)
    try:
        wait_until(lambda: len(stored_seqs(sub)) >= 3, timeout_s=60, what="stored readings")
        # What ext4 does on a failing SD card with errors=remount-ro: read-only from now on.
        trigger.write_text("digitcam test\n")
        wait_until(
            lambda: health(url)["storage"]["state"] == "read-only file system",
            timeout_s=60,
            what="/health degraded by the read-only file system",
        )
        assert "read-only file system" in " ".join(health(url)["reasons"])
        seen = len(readings(sub))
        wait_until(lambda: unstored_after(sub, seen) >= 3, timeout_s=60, what="unstored readings")
        assert proc.poll() is None
        stop(proc)
    finally:
        kill(proc)


def _mount_source(mount_point: Path) -> str:
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(mount_point):
            return fields[0]
    raise AssertionError(f"{mount_point} is not mounted")
