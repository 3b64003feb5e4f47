"""Who may talk to the API: known host names, same-origin writes, the token before the body.

A web page in the user's browser can reach a device on the LAN in two ways, with or
without api.token: DNS rebinding (the page's own name is made to resolve to the device, so
the browser treats the API as the page's origin; the request then carries `Host:` with the
page's name) and cross-site writes (a form or a no-cors fetch posts to the device; the
request carries the page's `Origin`, or `Sec-Fetch-Site: cross-site`). This middleware
answers only host names in api.allowed_hosts (and IP addresses, which a rebinding page
cannot use), and refuses writes whose Origin is not the API's own. Scripts and tools send
neither header and are not affected.

It also checks the token of a write before anything reads the body: an unauthorised
client is answered at once instead of after uploading and parsing megabytes.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from edge.api.deps import bearer_matches
from edge.config import ApiSettings

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # change nothing; everything else writes
DEFAULT_PORTS = {"http": 80, "https": 443}
# A page loaded by the user (address bar, bookmark) or from this origin; anything else is
# another site's page.
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})
Refusal = tuple[int, str, list[tuple[str, str]]]  # status, reason, extra headers


class RequestGuard:
    """ASGI middleware: 400 for unknown host names, 403 for cross-origin writes, 401 early."""

    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        names = [*settings.allowed_hosts, settings.host]
        self.any_host = "*" in names
        self.host_names = {normalise_name(name) for name in names if name != "*"}
        self.token = settings.token.get_secret_value()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope["method"], scope["scheme"], Headers(scope=scope))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail, extra = refusal
        logger.info("refused %s %s: %s", scope["method"], scope["path"], detail)
        await send_json(send, status, {"detail": detail}, extra)

    def refusal(self, method: str, scheme: str, headers: Headers) -> Refusal | None:
        """(status, reason, extra headers) when the request must be refused, else None."""
        host = headers.get("host")
        if host is not None and not self.answers_to(host):
            return (
                400,
                f"this device does not answer to the host name {split_host(host)[0]!r}: "
                "add it to api.allowed_hosts",
                [],
            )
        if method in SAFE_METHODS:
            return None
        origin = foreign_origin(headers, scheme, host)
        if origin is not None:
            return 403, f"refused a change requested by a page on another site ({origin})", []
        if self.token and not bearer_matches(headers.get("authorization", ""), self.token):
            return (
                401,
                "this needs the API token: send 'Authorization: Bearer <api.token>'",
                [("www-authenticate", "Bearer")],
            )
        return None

    def answers_to(self, host: str) -> bool:
        """True for an IP address, a name in api.allowed_hosts or api.host, or with '*'."""
        name, _ = split_host(host)
        return self.any_host or is_ip_address(name) or name in self.host_names


def foreign_origin(headers: Headers, scheme: str, host: str | None) -> str | None:
    """The other site a browser says the request comes from, or None for the same origin.

    The same origin is the same scheme, host name and port as the request itself.
    """
    origin = headers.get("origin")
    if origin is None:
        site = headers.get("sec-fetch-site")
        return None if site is None or site in SAME_SITE_FETCHES else f"Sec-Fetch-Site: {site}"
    if origin == "null" or host is None:  # sandboxed frames and file:// pages send "null"
        return origin
    try:
        parts = urlsplit(origin)
        origin_name, origin_port = normalise_name(parts.hostname or ""), parts.port
    except ValueError:
        return origin
    name, port = split_host(host)
    ours = (scheme, name, port or DEFAULT_PORTS.get(scheme))
    if (parts.scheme, origin_name, origin_port or DEFAULT_PORTS.get(parts.scheme)) != ours:
        return origin
    return None


def split_host(host: str) -> tuple[str, int | None]:
    """A Host header as (normalised name, port or None); '[::1]:8080' -> ('::1', 8080)."""
    name, port = host.strip(), ""
    if name.startswith("["):
        name, _, rest = name[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif name.count(":") == 1:
        name, port = name.split(":")
    return normalise_name(name), int(port) if port.isdigit() else None


def normalise_name(name: str) -> str:
    """Lower case, without the trailing dot of a fully qualified name or IPv6 brackets."""
    return name.strip().strip("[]").lower().rstrip(".")


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def send_json(
    send: Send, status: int, content: Any, headers: Iterable[tuple[str, str]] = ()
) -> None:
    """A JSON answer sent without reading the request body; the connection is then closed."""
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body may still be on its way: closing spares reading it.
                (b"connection", b"close"),
                *((name.encode(), value.encode()) for name, value in headers),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
