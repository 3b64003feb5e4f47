"""Refuse request bodies over api.max_upload_bytes while they stream in, not after.

A pure ASGI middleware placed outside everything else, so it sees the body before the
multipart parser does. A declared Content-Length over the limit is answered at once
without reading a byte; a chunked body is counted as it arrives, and the moment it passes
the limit the client gets 413 and the application sees a disconnect. Either way the
connection is closed, so the rest of the upload is never read or buffered.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.api.guard import send_json

logger = logging.getLogger(__name__)


class UploadLimit:
    """ASGI middleware: 413 for any HTTP request body larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.max_bytes:
            logger.info(
                "refused %s %s: Content-Length %s over the limit of %s bytes",
                scope["method"],
                scope["path"],
                declared,
                self.max_bytes,
            )
            await self.refuse(send, declared)
            return
        await _Guard(self, scope, receive, send).run()

    async def refuse(self, send: Send, size: int | None) -> None:
        """Send the 413 and ask the server to close the connection (the body is left unread)."""
        got = f"{size:,} bytes" if size is not None else "more than that"
        detail = (
            f"upload too large: the limit is {self.max_bytes:,} bytes "
            f"(api.max_upload_bytes), this request has {got}"
        )
        await send_json(send, 413, {"detail": detail})


class _Guard:
    """One request under the limit's watch."""

    def __init__(self, limit: UploadLimit, scope: Scope, receive: Receive, send: Send) -> None:
        self.limit, self.scope = limit, scope
        self._receive, self._send = receive, send
        self.received = 0
        self.refused = False
        self.response_started = False

    async def run(self) -> None:
        try:
            await self.limit.app(self.scope, self.receive, self.send)
        except Exception:
            if not self.refused:
                raise
            # The application failed on the disconnect we gave it; the client has its 413.
            logger.debug("request failed after its upload was refused", exc_info=True)

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] != "http.request":
            return message
        self.received += len(message.get("body", b""))
        if self.received <= self.limit.max_bytes:
            return message
        self.refused = True
        logger.info(
            "refused %s %s: body passed the limit of %s bytes while streaming",
            self.scope["method"],
            self.scope["path"],
            self.limit.max_bytes,
        )
        if not self.response_started:
            await self.limit.refuse(self._send, None)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        if self.refused:
            return  # the 413 went out already; drop whatever the application answers
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


def content_length(scope: Scope) -> int | None:
    """The declared Content-Length, or None when absent or unreadable (chunked bodies)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
