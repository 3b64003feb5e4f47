"""Performance per model version: every model the device has read with, side by side.

For each version: how many readings it made, how many of them a person corrected and how many
of those it had right (from the history: each reading names its model), and how it reads the
device's labelled examples now (each installed model, the one in use and the shipped one, run
over the examples; kept until the examples or the models change).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from edge.api import perfstats
from edge.api.services import Services
from edge.model import DigitModel, ModelError, bundled_model_path
from edge.model_install import examples
from edge.store.models import LibraryError, ModelLibrary

logger = logging.getLogger(__name__)


def models_side_by_side(
    services: Services, corrected: list[dict[str, Any]], readings_per_model: dict[str, int]
) -> list[dict[str, Any]]:
    """One row per model version, the one in use first."""
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in corrected:
        by_model[str(entry.get("model"))].append(entry)
    files = _model_files(services)
    scored = _label_scores(services, files)
    in_use = services.model_version
    versions = list(dict.fromkeys([in_use, *files, *readings_per_model, *by_model]))
    rows = []
    for version in versions:
        if version in ("none", "None"):
            continue
        rows.append(
            {
                "version": version,
                "in_use": version == in_use,
                "installed": files.get(version, (None, None))[1],
                "readings": readings_per_model.get(version, 0),
                "corrected": perfstats.reading_accuracy(by_model.get(version, [])),
                "labels": scored.get(version),
            }
        )
    return rows


def _model_files(services: Services) -> dict[str, tuple[Path, str | None]]:
    """version -> (file, when installed) of the models on the device and the shipped one."""
    files: dict[str, tuple[Path, str | None]] = {}
    try:
        library = ModelLibrary(services.settings.storage.path)
        entries = library.entries()
    except LibraryError as exc:
        logger.warning("%s", exc)
        entries = []
    for entry in entries:
        files[entry.version] = (library.folder / entry.file, entry.installed)
    model = services.model
    if model is not None and model.version not in files:
        files[model.version] = (model.path, None)
    try:
        shipped = DigitModel(bundled_model_path())
        files.setdefault(shipped.version, (shipped.path, None))
    except ModelError:
        pass
    return files


def _label_scores(
    services: Services, files: dict[str, tuple[Path, str | None]]
) -> dict[str, dict[str, Any]]:
    store = services.store
    if store is None:
        return {}
    count, newest = store.label_stamp("drawing")
    stamp = tuple(store.label_stamp(source) for source in ("correction", "import"))
    key = (str(store.path), count, newest, stamp, tuple(sorted(str(f) for f, _ in files.values())))
    return services.per_model_memo.get(key, lambda: _score_all(services, files))


def _score_all(
    services: Services, files: dict[str, tuple[Path, str | None]]
) -> dict[str, dict[str, Any]]:
    images, labels = examples(services.store)
    if not len(labels):
        return {}
    batch = images[:, None].astype(np.float32) / 255.0
    scores = {}
    for version, (path, _) in files.items():
        try:
            model = DigitModel(path)
        except ModelError as exc:
            logger.warning("model %s not scored: %s", version, exc)
            continue
        right = int((model.predict(batch).argmax(1) == labels).sum())
        scores[version] = perfstats.summary(len(labels), right)
    return scores
