"""The store's SQLite file: its schema and migrations, its connections and transactions.

One file (`storage.path`) in WAL mode, opened once by Db and handed to each of the store's
parts. Writes and ordinary reads go through one connection behind a lock, shared by the
capture thread, the publisher and the HTTP API. Reports that count a day of readings use a
second, read-only connection with its own lock, so a long count never makes the capture
thread wait (WAL lets it read while the writer writes). Every method raises StoreError
naming the file when SQLite fails, so the daemon can log it and carry on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# Schema version N is reached by running MIGRATIONS[N - 1]; append, never edit, old entries.
MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        # outbox_depth is kept here, in the same transactions as the rows, so it is exact for
        # every process sharing the file and costs no COUNT(*) scan of a full outbox.
        """INSERT INTO meta (key, value)
            VALUES ('seq', 0), ('outbox_depth', 0), ('outbox_dropped', 0)""",
        """CREATE TABLE readings (
            seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, region TEXT NOT NULL, value TEXT,
            status TEXT NOT NULL, confidence REAL, payload TEXT NOT NULL,
            corrected_value TEXT, corrected_at TEXT)""",
        "CREATE INDEX readings_ts ON readings (ts)",
        # AUTOINCREMENT: ids never come back, so "oldest first" is simply "lowest id first".
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
            qos INTEGER NOT NULL, retain INTEGER NOT NULL, created TEXT NOT NULL)""",
        """CREATE TABLE crops (
            seq INTEGER NOT NULL REFERENCES readings (seq) ON DELETE CASCADE,
            digit INTEGER NOT NULL, image BLOB NOT NULL, png BLOB, created TEXT NOT NULL,
            PRIMARY KEY (seq, digit))""",
        "CREATE INDEX crops_created ON crops (created)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            source TEXT NOT NULL CHECK (source IN ('drawing', 'correction')),
            image BLOB NOT NULL, png BLOB, created TEXT NOT NULL)""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database file cannot be opened, read or written; the message names the file."""


class Db:
    """The open file with its schema up to date: transactions, reads and report queries."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._report_lock = threading.Lock()
        self._report_db: sqlite3.Connection | None = None
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"storage.path {self.path}: cannot open: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a reading's seq may already be published when power fails; NORMAL could
            # roll the commit back and hand the same seq to a different reading after reboot.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, StoreError) as exc:
            self._db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(
                f"storage.path {self.path}: cannot use it ({exc}); check that the file and its "
                "folder are writable, or move a damaged file aside to start a fresh one"
            ) from None

    def _migrate(self) -> None:
        version = scalar(self._db, "PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"storage.path {self.path}: schema version {version} was written by a newer "
                f"DigitCam (this one knows {SCHEMA_VERSION}); upgrade DigitCam"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[number - 1]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            logger.info("storage %s: schema now at version %s", self.path, number)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; SQLite errors become StoreError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

    def read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query on the write connection, under the lock; columns by name."""
        with self._lock:
            try:
                cursor = self._db.execute(sql, args)
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
            self._db.close()


def scalar(db: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> int:
    """The first column of the first row as an int, 0 when there is none."""
    row = db.execute(sql, args).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def meta_value(db: sqlite3.Connection, key: str) -> int:
    """A counter of the meta table (seq, outbox_depth, outbox_dropped), within a transaction."""
    return scalar(db, "SELECT value FROM meta WHERE key = ?", (key,))
