"""The models on the device over HTTP: list them, install one, roll back.

Installing goes through the same check as `digitcam model install` (edge.model_install): a
file that does not load or is not a digit model is refused whatever `force` says; one that
reads the device's labelled examples worse than the active model is refused unless
`force=true`. The body is limited by api.max_upload_bytes like every upload. A running daemon
swaps to the new model between two frames; `digitcam serve` uses it from the next request.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from starlette.concurrency import run_in_threadpool

from edge.api.deps import Authorised, ServicesDep
from edge.api.schemas import Error
from edge.api.services import Services
from edge.model_install import InstallRefused, install, load_active, rollback
from edge.store.models import LibraryError, ModelLibrary

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["models"])
# 400: the file is no usable model; 409: a good model the check refuses next to the active one
# (it reads the labelled examples worse), or nothing to roll back to.
REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"model": Error},
    401: {"model": Error},
    409: {"model": Error},
    413: {"model": Error},
}


@router.get("/models", summary="The models installed on the device, the active one first")
async def list_models(services: ServicesDep) -> dict[str, Any]:
    library = ModelLibrary(services.settings.storage.path)
    try:
        entries = await run_in_threadpool(library.entries)
    except LibraryError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return {
        "in_use": services.model_version,
        "model_path_set": services.settings.model.path is not None,
        "models": [{**e.to_dict(), "active": i == 0} for i, e in enumerate(entries)],
    }


@router.post(
    "/model",
    dependencies=[Authorised],
    status_code=status.HTTP_201_CREATED,
    summary="Install a model file after the device's check (token required)",
    responses=REFUSED,
)
async def install_model(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="an ONNX digit model")] = None,  # type: ignore[assignment]
    force: Annotated[bool, Query(description="install even if it reads the labels worse")] = False,
) -> dict[str, Any]:
    if file is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "send the model as the form field 'file'")
    data = await file.read()
    return await run_in_threadpool(_install, services, data, file.filename or "upload", force)


@router.post(
    "/model/rollback",
    dependencies=[Authorised],
    summary="Make the model before the active one active again (token required)",
    responses=REFUSED,
)
async def rollback_model(services: ServicesDep) -> dict[str, Any]:
    try:
        back = await run_in_threadpool(rollback, services.settings)
    except InstallRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"refused: {exc}") from None
    await run_in_threadpool(_use_active, services)
    return {"active": back.to_dict() if back else None}


def _install(services: Services, data: bytes, name: str, force: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.onnx"
        path.write_bytes(data)
        try:
            entry, check = install(services.settings, path, force=force, source=f"upload {name}")
        except InstallRefused as exc:
            code = status.HTTP_409_CONFLICT if exc.scored else status.HTTP_400_BAD_REQUEST
            raise HTTPException(code, f"refused: {exc}".replace(str(path), name)) from None
    _use_active(services)
    return {"installed": entry.to_dict(), "check": check.to_dict()}


def _use_active(services: Services) -> None:
    """serve: read with the active model from the next request (a daemon swaps on its own)."""
    if services.daemon is None:
        services.model = load_active(services.settings)
