"""The store's SQLite file: its connections, transactions and migrations (edge.store.schema).

One file (`storage.path`) in WAL mode, opened once by Db and handed to each of the store's
parts. Writes and ordinary reads go through one connection behind a lock, shared by the
capture thread, the publisher and the HTTP API. Reports that count a day of readings use a
second, read-only connection with its own lock, so a long count never makes the capture
thread wait (WAL lets it read while the writer writes). Every method raises StoreError
naming the file when SQLite fails, so the daemon can log it and carry on.

A full disk or a read-only file system (edge.store.condition) is waited out, not fatal:
when the file cannot even be opened, Db starts without it and every call tries again (at
most every OPEN_RETRY_S); a failed write is counted and logged, and the next write tries
again. health() says whether the file can be written now, and why not.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.store.condition import REMEDY, TRANSIENT, StoreHealth, condition_of
from edge.store.schema import MIGRATIONS, SCHEMA_VERSION

logger = logging.getLogger(__name__)

OPEN_RETRY_S = 5.0  # while the file cannot be opened: the least time between two tries
_FAILURE_LOG_INTERVAL_S = 60.0  # a full disk fails every write: one log line a minute


class StoreError(Exception):
    """The database file cannot be opened, read or written; the message names the file.

    `condition` is DISK_FULL or READ_ONLY (edge.store.condition) when that is the cause.
    """

    def __init__(self, message: str, condition: str | None = None) -> None:
        super().__init__(message)
        self.condition = condition


class Db:
    """The open file with its schema up to date: transactions, reads and report queries."""

    def __init__(self, path: Path) -> None:
        """Open the file; raises StoreError unless the cause is a full or read-only disk."""
        self.path = Path(path)
        self._lock = threading.RLock()
        self._report_lock = threading.Lock()
        self._report_db: sqlite3.Connection | None = None
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._failure: StoreError | None = None  # the last failure, until a write succeeds
        self._errors = 0
        self._retry_open_at = 0.0
        self._last_failure_log = float("-inf")
        try:
            self._open()
        except StoreError as exc:
            if exc.condition not in TRANSIENT:
                raise
            self._failed(exc)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc, "cannot open: ") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a reading's seq may already be published when power fails; NORMAL could
            # roll the commit back and hand the same seq to a different reading after reboot.
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            self._migrate(db)
        except (sqlite3.Error, StoreError) as exc:
            db.close()
            if isinstance(exc, StoreError):
                raise
            error = self._error(exc, "cannot use it: ")
            if error.condition is None:
                error = StoreError(
                    f"{error}; check that the file and its folder are writable, "
                    "or move a damaged file aside to start a fresh one"
                )
            raise error from None
        self._db = db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = scalar(db, "PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"storage.path {self.path}: schema version {version} was written by a newer "
                f"DigitCam (this one knows {SCHEMA_VERSION}); upgrade DigitCam"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[number - 1]:
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            logger.info("storage %s: schema now at version %s", self.path, number)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; SQLite errors become StoreError."""
        with self._lock:
            db = self._connection()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    _rollback(db)
                    raise
            except sqlite3.Error as exc:
                error = self._error(exc)
                if _is_storage_failure(exc):
                    self._failed(error, reopen=_is_read_only_connection(exc))
                raise error from None
            self._written()

    def health(self) -> StoreHealth:
        """Whether the file can be written now and, when not, why."""
        failure = self._failure
        return StoreHealth(
            writable=failure is None,
            condition=None if failure is None else failure.condition,
            error=None if failure is None else str(failure),
            errors=self._errors,
        )

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query on the write connection, under the lock; columns by name."""
        with self._lock:
            db = self._connection()
            try:
                cursor = db.execute(sql, args)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

    def report(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the report connection, opened on first use."""
        with self._report_lock:
            try:
                if self._closed:
                    raise sqlite3.ProgrammingError("the store is closed")
                if self._report_db is None:
                    uri = self.path.resolve().as_uri() + "?mode=ro"
                    self._report_db = sqlite3.connect(
                        uri, uri=True, timeout=10, check_same_thread=False
                    )
                return self._report_db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the file; later calls raise StoreError."""
        with self._report_lock:
            self._closed = True
            if self._report_db is not None:
                self._report_db.close()
                self._report_db = None
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ---- failures and recovery --------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """The open connection; reopens the file when it is due, else raises the last failure."""
        if self._closed:
            raise StoreError(f"storage.path {self.path}: the store is closed")
        if self._db is None:
            failure = self._failure
            if failure is not None and time.monotonic() < self._retry_open_at:
                raise StoreError(str(failure), failure.condition)
            try:
                self._open()
            except StoreError as exc:
                self._failed(exc)
                raise
            logger.info("storage.path %s: open again", self.path)
        assert self._db is not None
        return self._db

    def _error(self, exc: BaseException, what: str = "") -> StoreError:
        """A StoreError naming the file and, when it is the cause, the disk's condition."""
        condition = condition_of(self.path, exc)
        cause = f"{condition} ({exc})" if condition else str(exc)
        return StoreError(f"storage.path {self.path}: {what}{cause}", condition)

    def _failed(self, error: StoreError, *, reopen: bool = False) -> None:
        """Count a failed write or open and log it, once a minute while it lasts."""
        self._errors += 1
        changed = self._failure is None or self._failure.condition != error.condition
        self._failure = error
        self._retry_open_at = time.monotonic() + OPEN_RETRY_S
        if reopen and self._db is not None:
            # SQLite opened the file read-only (the disk was read-only then): only a new
            # connection can write once the disk is writable again.
            self._db.close()
            self._db = None
        now = time.monotonic()
        if changed or now - self._last_failure_log >= _FAILURE_LOG_INTERVAL_S:
            self._last_failure_log = now
            remedy = REMEDY.get(error.condition or "", "")
            logger.error(
                "%s; nothing is stored until it can be written%s (failed writes so far: %s)",
                error,
                f" ({remedy})" if remedy else "",
                self._errors,
            )

    def _written(self) -> None:
        if self._failure is not None:
            logger.info(
                "storage.path %s: writable again (failed writes so far: %s)",
                self.path,
                self._errors,
            )
            self._failure = None


def _rollback(db: sqlite3.Connection) -> None:
    # SQLite rolls back by itself after a full disk or an I/O error; a ROLLBACK then would
    # fail ("no transaction is active") and hide the real cause.
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            logger.debug("rollback failed", exc_info=True)


def _is_storage_failure(exc: sqlite3.Error) -> bool:
    # The file or the disk failed (full, read-only, I/O, corrupt, locked too long), as opposed
    # to a statement the data broke (a constraint) or a programming error.
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _is_read_only_connection(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_READONLY


def scalar(db: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> int:
    """The first column of the first row as an int, 0 when there is none."""
    row = db.execute(sql, args).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def meta_value(db: sqlite3.Connection, key: str) -> int:
    """A counter of the meta table (seq, outbox_depth, outbox_dropped), within a transaction."""
    return scalar(db, "SELECT value FROM meta WHERE key = ?", (key,))
