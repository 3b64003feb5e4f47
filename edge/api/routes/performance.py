"""GET /api/v1/performance: accuracy where people said what was right, speed, load, the model."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import numpy as np
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from edge.api import perfstats
from edge.api.deps import ServicesDep
from edge.api.permodel import models_side_by_side
from edge.api.services import Services
from edge.model import DigitModel, meta_float
from edge.reading import utc_timestamp
from edge.store import Store

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["performance"])

CORRECTED_LIMIT = 20_000  # newest corrected readings taken into account
LATENCY_WINDOW = 10_000  # newest readings whose latency is summarised
LABEL_LIMIT = 50_000
MODEL_BATCH = 256


@router.get("/performance", summary="Accuracy, calibration, latency and load")
async def performance(services: ServicesDep) -> dict[str, Any]:
    """Accuracy counts only examples a person labelled: corrected readings and labelled drawings."""
    return await run_in_threadpool(performance_report, services, datetime.now(timezone.utc))


def performance_report(services: Services, now: datetime) -> dict[str, Any]:
    store, model = services.store, services.model
    corrected = store.corrected(CORRECTED_LIMIT) if store else []
    examples = perfstats.reading_examples(corrected)
    label_part, drawn = drawing_results(services)
    examples += drawn
    starts = perfstats.hour_window(now)
    hourly = store.per_hour(utc_timestamp(starts[0])) if store else {}
    latencies = store.latencies(LATENCY_WINDOW) if store else []
    return {
        "examples": perfstats.accuracy(examples),
        "readings": perfstats.reading_accuracy(corrected),
        "drawings": label_part,
        "per_digit": perfstats.per_digit(examples),
        "calibration": perfstats.calibration(examples),
        "latency_ms": {**perfstats.percentiles(latencies), "readings": len(latencies)},
        "per_hour": perfstats.per_hour(hourly, starts),
        "model": model_info(model),
        "models": models_side_by_side(
            services, corrected, store.readings_per_model() if store else {}
        ),
    }


def drawing_results(services: Services) -> perfstats.DrawingResults:
    """Accuracy on the labelled drawings and their examples, re-classified only on change.

    Running the model over up to LABEL_LIMIT drawings is the costly part of the report, so
    the result is kept until a drawing is added or removed or the model is another one.
    """
    store, model = services.store, services.model
    count, newest_id = store.label_stamp("drawing") if store is not None else (0, 0)
    if store is None or model is None or count == 0:
        return {"count": min(count, LABEL_LIMIT), "correct": 0, "accuracy": None}, ()
    key = (str(store.path), model.version, str(model.path), count, newest_id)
    part, drawn = services.drawings_memo.get(key, lambda: classify_drawings(store, model))
    return dict(part), drawn


def classify_drawings(store: Store, model: DigitModel) -> perfstats.DrawingResults:
    """The current model's accuracy on the stored drawings, and one example per drawing."""
    drawings = store.labels(LABEL_LIMIT, 0, "drawing")
    if not drawings:
        return perfstats.summary(0, 0), ()
    probs = classify(model, np.stack([lb.image for lb in drawings]))
    drawn = perfstats.label_examples([lb.label for lb in drawings], probs)
    return perfstats.accuracy(drawn), tuple(drawn)


def classify(model: DigitModel, images: np.ndarray) -> np.ndarray:
    """The current model's probabilities for stored 28x28 uint8 examples, in batches."""
    batch = images.astype(np.float32)[:, None, :, :] / 255.0
    parts = [model.predict(batch[i : i + MODEL_BATCH]) for i in range(0, len(batch), MODEL_BATCH)]
    return np.concatenate(parts) if parts else np.zeros((0, 10), np.float32)


def model_info(model: DigitModel | None) -> dict[str, Any]:
    if model is None:
        return {"version": None, "mnist_test_accuracy": None, "created": None}
    meta = model.metadata
    return {
        "version": model.version,
        "mnist_test_accuracy": meta_float(meta.get("mnist_test_accuracy")),
        "created": meta.get("created"),
        "train_data_sha256": meta.get("train_data_sha256"),
    }
