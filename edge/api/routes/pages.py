"""The web page: `/` serves index.html; its scripts, styles and samples live under /static."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

# Everything the page uses is shipped in the package: nothing may come from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def static_dir() -> Path:
    return Path(str(resources.files("edge") / "static"))


@router.get("/")
async def index() -> Response:
    return FileResponse(
        static_dir() / "index.html",
        media_type="text/html",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


def mount_static(app: FastAPI) -> None:
    """Serve edge/static/ at /static (scripts, styles, the MNIST sample sprite)."""
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
