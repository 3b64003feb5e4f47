"""The SQLite store: history, outbox, seq counter, crops and labels in one file."""

from edge.store.condition import DISK_FULL, READ_ONLY, StoreHealth
from edge.store.db import StoreError
from edge.store.labels import Crop, Label, LabelSource
from edge.store.outbox import OutboxItem
from edge.store.schema import SCHEMA_VERSION
from edge.store.store import Store

__all__ = [
    "DISK_FULL",
    "READ_ONLY",
    "SCHEMA_VERSION",
    "Crop",
    "Label",
    "LabelSource",
    "OutboxItem",
    "Store",
    "StoreError",
    "StoreHealth",
]
