"""Why the store's file cannot be written: a full disk, a read-only file system, or other.

SQLite names a full disk (SQLITE_FULL) but reports a file system that turned read-only, or
one full before the file could be opened, only as "disk I/O error" or "unable to open
database file". So after a failure the folder itself is asked: statvfs, and a small probe
file, whose error number says it plainly (ext4's emergency read-only mode after an SD card
error still shows `rw` to statvfs but refuses writes with EROFS). The two named conditions
pass without a change of configuration, so the daemon carries on without its store and
retries instead of exiting; anything else at start-up is for a person to fix.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

DISK_FULL = "disk full"
READ_ONLY = "read-only file system"
# Conditions that end by themselves or by a person freeing space or remounting, not by
# editing the configuration: never a reason for exit 78.
TRANSIENT = frozenset({DISK_FULL, READ_ONLY})
# Below this much free space SQLite cannot grow its WAL by the pages of one reading with its
# crops; root may still write into the file system's reserve, which statvfs does not count.
_LOW_SPACE_BYTES = 64 * 1024
# How each condition ends, for the health reason and the log.
REMEDY = {
    DISK_FULL: "free space on that disk",
    READ_ONLY: "check the disk and remount it read-write",
}


@dataclass(frozen=True)
class StoreHealth:
    """Whether the store's file can be written now and, when not, why."""

    writable: bool  # False from a failed write (or open) until the next one succeeds
    condition: str | None  # DISK_FULL, READ_ONLY, or None for any other failure
    error: str | None  # the last failure's message while not writable
    errors: int  # failed writes and opens since the process started

    @property
    def state(self) -> str:
        """`ok`, the condition's name, or `failing`."""
        if self.writable:
            return "ok"
        return self.condition or "failing"


def condition_of(path: Path, exc: BaseException) -> str | None:
    """DISK_FULL or READ_ONLY when that is why `exc` happened to the file at `path`, else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_FULL:
        return DISK_FULL
    if isinstance(exc, OSError) and (named := _errno_condition(exc)):
        return named
    folder = _existing_folder(path)
    try:
        fs = os.statvfs(folder)
    except OSError:
        return None
    if fs.f_flag & os.ST_RDONLY:
        return READ_ONLY
    probed = _probe(folder)
    if probed is not None:
        return probed
    if fs.f_bavail * fs.f_frsize < _LOW_SPACE_BYTES or (fs.f_files > 0 and fs.f_favail == 0):
        return DISK_FULL
    return None


def _existing_folder(path: Path) -> Path:
    # The file's folder may not exist yet (a first start on an empty disk).
    for candidate in path.parents:
        if candidate.is_dir():
            return candidate
    return Path("/")


def _probe(folder: Path) -> str | None:
    """Write one page to a scratch file in `folder`: the error, if any, names the condition."""
    try:
        fd, name = tempfile.mkstemp(prefix=".digitcam-probe-", dir=folder)
    except OSError as exc:
        return _errno_condition(exc)
    try:
        os.write(fd, bytes(4096))
    except OSError as exc:
        return _errno_condition(exc)
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
    return None


def _errno_condition(exc: OSError) -> str | None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DISK_FULL
    if exc.errno == errno.EROFS:
        return READ_ONLY
    return None
