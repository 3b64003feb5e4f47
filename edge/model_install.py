"""Installing a handwriting model on the device, with one check for every way in.

`digitcam model install`, `POST /api/v1/model` and MQTT `cmd/reload` all go through
`check_candidate`: the file loads, its signature and metadata are right (edge.model refuses
it otherwise, whatever --force says), and it reads the device's own labelled examples at least
as well as the active model (--force overrides this one rule). Installed models live in
`models/` beside the database (edge.store.models); `run`, `serve` and `predict` use the active
one unless `model.path` is set. A running daemon swaps to a newly installed model between two
frames (ModelWatcher), so no reading is lost and each names the model that read it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import Settings
from edge.model import DigitModel, ModelError, bundled_model_path
from edge.store import Store
from edge.store.models import InstalledModel, LibraryError, ModelLibrary

logger = logging.getLogger(__name__)

MAX_EXAMPLES = 100_000  # labelled examples scored; a device rarely holds more than a few hundred
WATCH_INTERVAL_S = 1.0  # how often a running daemon looks at the installed models' index


class InstallRefused(Exception):
    """The model was not installed; the message says why. `scored`: it is a usable model that
    the check refused for reading the labelled examples worse (or the library refused)."""

    def __init__(self, message: str, scored: bool = False) -> None:
        super().__init__(message)
        self.scored = scored


@dataclass
class Check:
    """What the check measured: both models on the device's labelled examples."""

    candidate: DigitModel
    examples: int
    candidate_accuracy: float | None
    active_version: str | None
    active_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "accuracy": self.candidate_accuracy,
            "replaced": self.active_version,
            "replaced_accuracy": self.active_accuracy,
        }


def active_model_path(settings: Settings) -> Path:
    """`model.path`, else the model installed on the device, else the one shipped."""
    if settings.model.path is not None:
        return settings.model.path
    try:
        installed = ModelLibrary(settings.storage.path).active_path()
    except LibraryError as exc:
        logger.error("%s; using the model shipped in the package", exc)
        installed = None
    return installed or bundled_model_path()


def load_active(settings: Settings) -> DigitModel:
    """The model `run`, `serve` and `predict` read with."""
    return DigitModel(active_model_path(settings), threads=settings.model.threads)


def accuracy(model: DigitModel, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of labelled 28x28 examples (uint8, MNIST convention) the model reads right."""
    probs = np.concatenate(
        [
            model.predict(images[i : i + 256, None].astype(np.float32) / 255.0)
            for i in range(0, len(images), 256)
        ]
    )
    return float((probs.argmax(1) == labels).mean())


def check_candidate(
    path: Path, active: DigitModel | None, store: Store | None, *, force: bool, threads: int = 1
) -> Check:
    """Load and score a model file; raises InstallRefused with the reason."""
    try:
        candidate = DigitModel(Path(path), threads=threads)
    except ModelError as exc:
        raise InstallRefused(str(exc)) from None
    if not candidate.metadata.get("version"):
        raise InstallRefused(f"{path} has no 'version' in its metadata: readings could not name it")
    images, labels = examples(store)
    check = Check(candidate, len(labels), None, active.version if active else None, None)
    if len(labels) and active is not None:
        check.candidate_accuracy = accuracy(candidate, images, labels)
        check.active_accuracy = accuracy(active, images, labels)
        worse = check.candidate_accuracy < check.active_accuracy
        if worse and not force:
            raise InstallRefused(
                f"{candidate.version} reads {check.candidate_accuracy:.1%} of the device's "
                f"{len(labels)} labelled examples, the active {active.version} "
                f"{check.active_accuracy:.1%}; --force installs it anyway",
                scored=True,
            )
    return check


def examples(store: Store | None) -> tuple[np.ndarray, np.ndarray]:
    """The device's labelled examples (drawings and corrections) as images and labels."""
    if store is None:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    kept = store.labels(limit=MAX_EXAMPLES)
    if not kept:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack([k.image for k in kept]), np.asarray([k.label for k in kept], np.int64)


def install(
    settings: Settings, path: Path, *, force: bool = False, source: str | None = None
) -> tuple[InstalledModel, Check]:
    """Check a model file and make it the device's active model."""
    library = ModelLibrary(settings.storage.path)
    active = _active_or_none(settings)
    store = Store(settings.storage.path, settings.storage.outbox_max)
    try:
        check = check_candidate(path, active, store, force=force, threads=settings.model.threads)
    finally:
        store.close()
    try:
        entry = library.install(path, check.candidate.version, source or str(path), check.to_dict())
    except LibraryError as exc:
        raise InstallRefused(str(exc), scored=True) from None
    logger.info("model %s installed from %s", check.candidate.version, source or path)
    return entry, check


def rollback(settings: Settings) -> InstalledModel | None:
    """Make the previous model active again (None: the shipped one), after checking that it
    still loads."""
    library = ModelLibrary(settings.storage.path)
    entries = library.entries()
    if len(entries) >= 2:
        try:
            DigitModel(library.folder / entries[1].file)
        except ModelError as exc:
            raise InstallRefused(str(exc)) from None
    try:
        return library.rollback()
    except LibraryError as exc:
        raise InstallRefused(str(exc)) from None


def _active_or_none(settings: Settings) -> DigitModel | None:
    try:
        return load_active(settings)
    except ModelError as exc:  # a broken active model must not block installing a good one
        logger.warning("the active model cannot be loaded (%s); installing without comparing", exc)
        return None


class ModelWatcher:
    """Tells the capture loop when the installed model changed, or a reload was asked for."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.library = ModelLibrary(settings.storage.path)
        self.reload_asked = threading.Event()
        self._stamp = self.library.stamp()
        self._next_look = 0.0

    def changed(self) -> DigitModel | None:
        """A freshly loaded active model when it changed since the last call, else None.

        A model that fails to load is logged and skipped: the one in use keeps reading.
        """
        asked = self.reload_asked.is_set()
        now = time.monotonic()
        if not asked and now < self._next_look:
            return None  # called every frame: the index is looked at once a second
        self._next_look = now + WATCH_INTERVAL_S
        stamp = self.library.stamp()
        if stamp == self._stamp and not asked:
            return None
        self.reload_asked.clear()
        self._stamp = stamp
        try:
            return load_active(self.settings)
        except ModelError as exc:
            logger.error("model not swapped, the one in use keeps reading: %s", exc)
            return None
