"""The models installed on the device: files in `models/` beside the database, one active.

`models/index.json` names the active file and the ones before it, newest first, so a
rollback knows where to go. It is replaced atomically (a temporary file renamed over it), so a
power cut leaves either the old index or the new one, and its modification time is what a
running daemon watches to swap models between two frames. The files themselves are copied in
the same way and never modified; a file is named by its model's version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edge.reading import utc_timestamp

logger = logging.getLogger(__name__)

MODELS_DIR = "models"
INDEX = "index.json"
KEEP = 5  # installed models kept for rollback; older files are deleted


class LibraryError(Exception):
    """The models folder cannot be read or written, or there is nothing to roll back to."""


@dataclass
class InstalledModel:
    file: str  # name inside models/
    version: str
    installed: str  # UTC timestamp
    sha256: str
    source: str  # where it came from: a path, "upload", "rollback"
    scores: dict[str, Any]  # what the check measured when it was installed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ModelLibrary:
    """The models/ folder beside `storage.path`."""

    def __init__(self, storage_path: Path) -> None:
        self.folder = Path(storage_path).resolve().parent / MODELS_DIR

    @property
    def index_path(self) -> Path:
        return self.folder / INDEX

    def entries(self) -> list[InstalledModel]:
        """Installed models, the active one first, then the ones it replaced, newest first."""
        try:
            data = json.loads(self.index_path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{self.index_path} cannot be read: {exc}") from None
        fields = InstalledModel.__dataclass_fields__
        return [
            InstalledModel(**{k: v for k, v in e.items() if k in fields})
            for e in data.get("models", [])
        ]

    def active_path(self) -> Path | None:
        """The active model's file, or None when nothing was installed."""
        entries = self.entries()
        return self.folder / entries[0].file if entries else None

    def stamp(self) -> float | None:
        """When the index last changed (None: no index): a daemon reloads when it moves."""
        try:
            return self.index_path.stat().st_mtime_ns / 1e9
        except OSError:
            return None

    def install(
        self, path: Path, version: str, source: str, scores: dict[str, Any]
    ) -> InstalledModel:
        """Copy a checked model in and make it the active one."""
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        entries = self.entries()
        if entries and entries[0].sha256 == digest:
            raise LibraryError(f"{path} is already the active model ({entries[0].file})")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in version) or "model"
        name = f"{safe}-{digest[:8]}.onnx"
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / name).exists():
            _write_atomically(self.folder / name, data)
        entry = InstalledModel(name, version, utc_timestamp(), digest, source, scores)
        kept = [entry] + [e for e in entries if e.file != name]
        self._write_index(kept[:KEEP])
        self._delete_unlisted(kept[:KEEP])
        return entry

    def rollback(self) -> InstalledModel | None:
        """Drop the active model and make the one before it active again; returns that one,
        or None when the model shipped in the package is active again. Each rollback goes one
        model further back."""
        entries = self.entries()
        if not entries:
            raise LibraryError("nothing to roll back to: no model was installed")
        rest = entries[1:]
        if rest and not (self.folder / rest[0].file).is_file():
            raise LibraryError(f"the previous model's file {self.folder / rest[0].file} is gone")
        self._write_index(rest)
        self._delete_unlisted(rest)
        return rest[0] if rest else None

    def _write_index(self, entries: list[InstalledModel]) -> None:
        text = json.dumps({"models": [e.to_dict() for e in entries]}, indent=2)
        _write_atomically(self.index_path, text.encode())

    def _delete_unlisted(self, kept: list[InstalledModel]) -> None:
        names = {e.file for e in kept} | {INDEX}
        for path in self.folder.glob("*.onnx"):
            if path.name not in names:
                path.unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, rename it over `path`."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise LibraryError(f"cannot write {path}: {exc}") from None
