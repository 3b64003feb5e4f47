"""The local HTTP API and web page (the `api` extra): FastAPI app, uvicorn server, routers.

    create_app(Services(settings))      the ASGI app; handlers reach state through dependencies
    ApiServer(settings, app=daemon)     uvicorn on a background thread, for `digitcam run`
    serve(settings)                     `digitcam serve`: the API and page alone, no capture loop

This module imports nothing from the extra, so the daemon can name ApiError and check for
the extra on a device where it is not installed.
"""

from __future__ import annotations

import importlib.util
import logging

logger = logging.getLogger(__name__)

API_EXTRA_HINT = "the web API needs the api extra: pip install 'digitcam[api]'"


class ApiError(Exception):
    """The API cannot start: the extra is missing, or the address is taken or not allowed."""


def require_api_extra() -> None:
    """Raise ApiError naming the fix when FastAPI or uvicorn is not installed."""
    missing = [
        name
        for name in ("fastapi", "uvicorn", "multipart")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        raise ApiError(f"{API_EXTRA_HINT} (missing: {', '.join(missing)})")
