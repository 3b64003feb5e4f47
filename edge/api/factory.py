"""create_app(services) -> FastAPI: routers, the upload limit, error handlers, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Scope

from edge import __version__
from edge.api.guard import RequestGuard
from edge.api.jsonbody import StrictJsonBodies
from edge.api.limits import UploadLimit
from edge.api.routes import (
    dataset,
    docs,
    health,
    labels,
    meters,
    metrics,
    models,
    pages,
    performance,
    predict,
    readings,
)
from edge.api.services import Services
from edge.api.strict import reject_ambiguous_parameters
from edge.config import Settings
from edge.store import StoreError

logger = logging.getLogger(__name__)

DESCRIPTION = """Read handwritten digits: upload an image, draw one, or ask the camera.
Browse and correct the reading history, keep labelled examples for training, and watch
accuracy and speed. Mutating requests need `Authorization: Bearer <api.token>` when
api.token is set."""
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


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
        docs_url=None,  # routes.docs serves /docs and /redoc from the package, not a CDN
        redoc_url=None,
        # Starlette's own redirect builds an absolute URL from the client's Host header;
        # not_found redirects with a path instead.
        redirect_slashes=False,
    )
    app.state.services = services
    routes = (
        health,
        predict,
        readings,
        meters,
        labels,
        models,
        performance,
        metrics,
        dataset,
        pages,
    )
    for module in (*routes, docs):
        app.include_router(module.router)
    pages.mount_static(app)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, method_not_allowed)
    # The last added runs first. The guard refuses unknown hosts, other sites' writes and
    # missing tokens before a byte of the body is read; then an oversized body is refused
    # before anything parses it; JSON bodies are checked for non-finite numbers.
    app.add_middleware(StrictJsonBodies)
    app.add_middleware(UploadLimit, max_bytes=services.settings.api.max_upload_bytes)
    app.add_middleware(RequestGuard, settings=services.settings.api)
    return app


def create_app_from_settings(settings: Settings) -> FastAPI:
    """For `uvicorn --factory`-style use: a standalone app that opens what it needs itself."""
    return create_app(Services(settings))


async def store_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("history store error: %s", exc)
    return JSONResponse({"detail": f"the history store failed: {exc}"}, status_code=503)


async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
    """405 naming every method the path has; Starlette's would name only the first route's."""
    allowed = sorted(allowed_methods(request.scope, request.app.router.routes))
    if not allowed and isinstance(exc, HTTPException) and exc.headers:
        allowed = [m.strip() for m in exc.headers.get("Allow", "").split(",") if m.strip()]
    detail = f"{request.method} is not allowed here; use {', '.join(allowed)}"
    return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": ", ".join(allowed)})


def allowed_methods(scope: Scope, routes: list[BaseRoute]) -> set[str]:
    """The methods some route accepts at this path (static files: GET and HEAD)."""
    allowed: set[str] = set()
    for route in routes:
        if isinstance(route, Mount):
            if route.matches(scope)[0] != Match.NONE:
                allowed |= {"GET", "HEAD"}
            continue
        # Asking the route itself works for routers nested the way FastAPI includes them.
        allowed |= {m for m in METHODS if route.matches({**scope, "method": m})[0] == Match.FULL}
    return allowed


async def not_found(request: Request, exc: Exception) -> Response:
    """404, or for a path that exists with(out) a trailing slash a redirect to it (a path)."""
    location = slash_redirect(request.scope, request.app.router.routes)
    if location is not None:
        return RedirectResponse(location, status_code=307)
    assert isinstance(exc, HTTPException)
    return await http_exception_handler(request, exc)


def slash_redirect(scope: Scope, routes: list[BaseRoute]) -> str | None:
    """The path, with its trailing slash added or removed, when a route matches it."""
    path = scope["path"]
    if "endpoint" in scope or path == "/":  # a route was found and answered 404 itself
        return None
    other = path[:-1] if path.endswith("/") else path + "/"
    # "//host" or "/\host" in Location is another site to a browser.
    if other[1:2] in ("/", "\\"):
        return None
    if all(route.matches({**scope, "path": other})[0] == Match.NONE for route in routes):
        return None
    raw = scope.get("raw_path", path.encode()).decode("latin-1")  # as sent: still quoted
    location = raw[:-1] if raw.endswith("/") else raw + "/"
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location
