"""Connection limits uvicorn lacks: a cap on open connections, header and body deadlines.

Without them a client that opens sockets and sends nothing (or a byte now and then) holds
one file descriptor each, for ever: uvicorn arms no timer before the first request, its
keep-alive timer restarts on every byte, and `limit_concurrency` answers 503 only once a
whole request has arrived, after the socket was accepted. A few hundred such sockets used
up the process's descriptors, and then the camera could not open its next frame.

`limited_h11(limits)` gives uvicorn an h11 protocol class that
- answers 503 and closes at once when `max_connections` are already open, so descriptors
  stay bounded whatever clients do;
- closes a connection whose request headers are not complete `header_timeout_s` after it
  opened (or after its previous response), with 408;
- closes one whose request body is not complete `body_timeout_s` after its headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

# Descriptors kept for everything but API clients: SQLite and its WAL, the camera, MQTT,
# the listening socket, the event loop, libraries. The daemon uses about 10.
FD_RESERVE = 64
# An upload over 1 MB is spooled to a temporary file: a client can hold two descriptors.
FDS_PER_CONNECTION = 2


@dataclass(frozen=True)
class ConnectionLimits:
    """How many clients the API serves at once and how long a request may take to arrive."""

    # A browser opens up to 6 connections; Home Assistant, Prometheus and scripts one each.
    max_connections: int = 64
    # A request's headers are a few hundred bytes: even a slow Wi-Fi link sends them at once.
    header_timeout_s: float = 10.0
    # api.max_upload_bytes (8 MB) in 60 s needs about 1.1 Mbit/s.
    body_timeout_s: float = 60.0
    # Connections the kernel queues before they are accepted. asyncio accepts up to this many
    # in one go before any is refused and closed, so they need descriptors too.
    backlog: int = 32

    def within_fd_limit(self) -> ConnectionLimits:
        """These limits with max_connections lowered to fit the process's RLIMIT_NOFILE."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self
        fitting = max(1, (soft - FD_RESERVE - self.backlog) // FDS_PER_CONNECTION)
        if fitting >= self.max_connections:
            return self
        logger.warning(
            "api: serving at most %s connections at once (not %s): the open-file limit is %s",
            fitting,
            self.max_connections,
            soft,
        )
        return replace(self, max_connections=fitting)


def limited_h11(limits: ConnectionLimits) -> type[H11Protocol]:
    """An h11 protocol class for uvicorn's `http=` option, bound to these limits."""
    return type("LimitedH11Protocol", (LimitedH11Protocol,), {"limits": limits})


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and request deadlines (see module doc)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._waiting_for = ""
        self._request: Any = None  # the uvicorn request cycle whose headers came last
        super().connection_made(transport)  # type: ignore[arg-type]
        if len(self.connections) > self.limits.max_connections:
            logger.warning(
                "api: %s connections open, the most it serves at once; refusing more",
                self.limits.max_connections,
            )
            self._answer_and_close(503, "too many connections to this device; try again soon")
            return
        self._expect("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cycle is self._request and not self.transport.is_closing():
            self._expect("headers")  # kept alive: the next request has its own deadline
        else:
            self._follow_request()  # a pipelined request was already read

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def _follow_request(self) -> None:
        """Move the deadline on as the headers, then the body, of a request arrive."""
        if self.transport.is_closing():
            self._cancel()
        elif self.cycle is not None and self.cycle is not self._request:
            self._request = self.cycle
            if self.cycle.more_body:
                self._expect("body")
            else:
                self._cancel()
        elif self._waiting_for == "body" and not self.cycle.more_body:
            self._cancel()

    def _expect(self, part: str) -> None:
        self._cancel()
        timeout_s = (
            self.limits.header_timeout_s if part == "headers" else self.limits.body_timeout_s
        )
        self._waiting_for = part
        self._deadline = self.loop.call_later(timeout_s, self._expired)

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._waiting_for = None, ""

    def _expired(self) -> None:
        part, self._deadline = self._waiting_for, None
        if self.transport.is_closing():
            return
        limit_s = self.limits.header_timeout_s if part == "headers" else self.limits.body_timeout_s
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        logger.info("api: closed the connection from %s: request %s incomplete", client, part)
        detail = f"the request {part} did not arrive within {limit_s:g} s"
        if part == "headers" or not self.cycle.response_started:
            self._answer_and_close(408, detail)
        else:
            self.transport.close()

    def _answer_and_close(self, status: int, detail: str) -> None:
        """Write a whole response straight to the socket (outside any request) and close it."""
        body = json.dumps({"detail": detail}).encode()
        reason = {408: "Request Timeout", 503: "Service Unavailable"}[status]
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()
