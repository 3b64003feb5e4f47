"""/docs (Swagger UI) and /redoc (ReDoc) from files shipped in the package, never a CDN.

FastAPI's own /docs and /redoc load their scripts from a CDN, so on a device without internet
(or a browser that cannot reach one) they are blank. The same pages are built here with the
scripts from edge/static/vendor/ (versions and licences in its README.md).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"
# The pages' own inline start-up scripts and styles are allowed; nothing from elsewhere is.
# ReDoc runs its search index in a worker it creates from a blob: URL.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; "
        "font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _prefix(request: Request) -> str:
    """The path the app is mounted under (behind a proxy with root_path), without a slash."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    prefix = _prefix(request)
    page = get_swagger_ui_html(
        openapi_url=f"{prefix}{request.app.openapi_url}",
        title=f"{request.app.title} API",
        swagger_js_url=f"{prefix}{VENDOR}/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{prefix}{VENDOR}/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{prefix}{VENDOR}/swagger-ui/favicon-32x32.png",
        # The validator badge would send the schema's address to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers.update(DOCS_HEADERS)
    return page


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    prefix = _prefix(request)
    page = get_redoc_html(
        openapi_url=f"{prefix}{request.app.openapi_url}",
        title=f"{request.app.title} API",
        redoc_js_url=f"{prefix}{VENDOR}/redoc/redoc.standalone.js",
        redoc_favicon_url=f"{prefix}{VENDOR}/swagger-ui/favicon-32x32.png",
        with_google_fonts=False,
    )
    page.headers.update(DOCS_HEADERS)
    return page
