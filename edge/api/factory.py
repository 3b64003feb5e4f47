"""create_app(services) -> FastAPI: routers, the upload limit, error handlers, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from edge import __version__
from edge.api.limits import UploadLimit
from edge.api.routes import dataset, health, labels, metrics, pages, performance, predict, readings
from edge.api.services import Services
from edge.api.strict import reject_ambiguous_parameters
from edge.config import Settings
from edge.store import StoreError

logger = logging.getLogger(__name__)

DESCRIPTION = """Read handwritten digits: upload an image, draw one, or ask the camera.
Browse and correct the reading history, keep labelled examples for training, and watch
accuracy and speed. Mutating requests need `Authorization: Bearer <api.token>` when
api.token is set."""


def create_app(services: Services) -> FastAPI:
    """The ASGI app. Handlers reach settings, store and model through edge.api.deps."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Standalone, the API opens the store and loads the model; under the daemon they are
        # borrowed and open() has nothing to do.
        await run_in_threadpool(services.open, strict=False)
        try:
            yield
        finally:
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="DigitCam",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_ambiguous_parameters)],
    )
    app.state.services = services
    for module in (health, predict, readings, labels, performance, metrics, dataset, pages):
        app.include_router(module.router)
    pages.mount_static(app)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(405, method_not_allowed)
    # Outermost, so an oversized body is refused before anything parses it.
    app.add_middleware(UploadLimit, max_bytes=services.settings.api.max_upload_bytes)
    return app


def create_app_from_settings(settings: Settings) -> FastAPI:
    """For `uvicorn --factory`-style use: a standalone app that opens what it needs itself."""
    return create_app(Services(settings))


async def store_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("history store error: %s", exc)
    return JSONResponse({"detail": f"the history store failed: {exc}"}, status_code=503)


async def method_not_allowed(request: Request, _exc: Exception) -> JSONResponse:
    """405 naming every method the path has; Starlette's would name only the first route's."""
    allowed = sorted(
        {
            method
            for route in request.app.router.routes
            if route.matches(request.scope)[0] != Match.NONE
            for method in getattr(route, "methods", None) or ()
        }
    )
    detail = f"{request.method} is not allowed here; use {', '.join(allowed)}"
    return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(allowed)})
