"""The store's tables: one list of migrations; the file's `user_version` says how many ran."""

from __future__ import annotations

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
    [
        # The reading a correction's example came from, so a later correction of that reading
        # replaces its examples instead of leaving contradicting ones. No foreign key: an
        # example outlives its reading's pruning. NULL for drawings and imports.
        "ALTER TABLE labels ADD COLUMN seq INTEGER",
        "CREATE INDEX labels_seq ON labels (seq)",
    ],
    [
        # Counter regions: the last accepted value and a level waiting for confirmation
        # (edge.meter.plausible), so a restart does not forget what the meter showed.
        "CREATE TABLE meter_state (region TEXT PRIMARY KEY, state TEXT NOT NULL)",
    ],
    [
        # Labels imported from image folders (digitcam labels import): SQLite cannot change a
        # CHECK, so the table is rebuilt with the same ids (AUTOINCREMENT keeps counting on).
        """CREATE TABLE labels_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            source TEXT NOT NULL CHECK (source IN ('drawing', 'correction', 'import')),
            image BLOB NOT NULL, png BLOB, created TEXT NOT NULL, seq INTEGER)""",
        """INSERT INTO labels_new (id, label, source, image, png, created, seq)
            SELECT id, label, source, image, png, created, seq FROM labels""",
        "DROP TABLE labels",
        "ALTER TABLE labels_new RENAME TO labels",
        "CREATE INDEX labels_seq ON labels (seq)",
    ],
    [
        # The region image of the newest readings (edge.store.frames), for corrections by box.
        """CREATE TABLE frames (
            seq INTEGER PRIMARY KEY REFERENCES readings (seq) ON DELETE CASCADE,
            jpeg BLOB NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL, scale REAL NOT NULL,
            created TEXT NOT NULL)""",
    ],
    [
        # Aligned meter regions (edge.meter.align): the grey patch around the window that later
        # frames are matched against, where it sat, and the window and frame size it is for.
        """CREATE TABLE meter_reference (
            region TEXT PRIMARY KEY, key TEXT NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
            png BLOB NOT NULL, created TEXT NOT NULL)""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
