"""MNIST digits shipped with the page, a page at a time, and the user's own examples."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from edge.api.deps import ServicesDep
from edge.api.pipeline import input_data_url
from edge.api.samples import (
    CREDIT,
    SAMPLE_COUNT,
    load_samples,
    sample_images,
    sample_indices,
)
from edge.api.schemas import MnistPage, Samples
from edge.api.services import Services

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/dataset", tags=["dataset"])

MAX_COUNT = 100
MAX_PAGE = 200
LABEL_SCAN = 50_000
DigitQuery = Annotated[int | None, Query(ge=0, le=9, description="one digit; all when absent")]


@router.get("/samples", response_model=Samples, summary="Example digits for the explore view")
async def samples(
    services: ServicesDep,
    digit: DigitQuery = None,
    count: Annotated[int, Query(ge=1, le=MAX_COUNT, description="images per digit")] = 10,
    source: Annotated[
        Literal["mnist", "labels"],
        Query(description="mnist: shipped samples; labels: this device's labelled examples"),
    ] = "mnist",
) -> dict[str, Any]:
    digits = range(10) if digit is None else [digit]
    if source == "mnist":
        items = [
            {"digit": d, "input": input_data_url(image)}
            for d in digits
            for image in sample_images(d, count)
        ]
        return {"source": source, "items": items, "credit": CREDIT}
    items = await run_in_threadpool(labelled_samples, services, list(digits), count)
    return {"source": source, "items": items, "credit": None}


@router.get("/mnist", response_model=MnistPage, summary="Page through the shipped MNIST digits")
async def mnist_page(
    digit: DigitQuery = None,
    offset: Annotated[int, Query(ge=0, le=SAMPLE_COUNT, description="samples to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="samples per page")] = 100,
) -> dict[str, Any]:
    """The first 1,000 MNIST test images in test-set order, with their labels."""
    indices = sample_indices(digit)
    chosen = indices[offset : offset + limit]
    images, labels = load_samples()
    items = [
        {"index": int(i), "digit": int(labels[i]), "input": input_data_url(images[i])}
        for i in chosen
    ]
    end = offset + len(chosen)
    return {
        "items": items,
        "total": len(indices),
        "limit": limit,
        "offset": offset,
        "next_offset": end if end < len(indices) else None,
        "credit": CREDIT,
    }


def labelled_samples(services: Services, digits: list[int], count: int) -> list[dict[str, Any]]:
    """The newest `count` labelled examples of each digit."""
    if services.store is None:
        return []
    labels = services.store.labels(LABEL_SCAN, 0)
    items: list[dict[str, Any]] = []
    for d in digits:
        chosen = [lb for lb in labels if lb.label == d][-count:]
        items.extend({"digit": d, "input": input_data_url(lb.image)} for lb in chosen)
    return items
