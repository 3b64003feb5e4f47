"""Refuse JSON bodies that Python reads but JSON cannot carry back: 422, never 500.

Python's reader takes `NaN`, `Infinity`, `-Infinity` and `1e999` (beyond the float range)
as numbers, a `\\ud800` escape as a string no UTF-8 can encode, and fails with
RecursionError on deep nesting. FastAPI echoes an invalid value in its validation error,
which then cannot be written as JSON, and the client got 500. This middleware checks every
JSON body first and answers 422 in FastAPI's error format, naming where the value is.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.api.guard import send_json

logger = logging.getLogger(__name__)

NON_FINITE = (
    "Input should be a finite number: JSON has no NaN or Infinity, and numbers beyond the "
    "float range (such as 1e999) are refused"
)
LONE_SURROGATE = "JSON strings must be valid Unicode: a lone \\uD800-\\uDFFF escape is not"
TOO_DEEP = "JSON nested too deeply"

Loc = list[str | int]


class _NonFinite:
    """Stands in, while checking, for a number that is not finite; keeps the text sent."""

    def __init__(self, text: str) -> None:
        self.text = text[:40]


class StrictJsonBodies:
    """ASGI middleware: 422 for JSON with NaN, Infinity, 1e999, lone surrogates or deep nesting."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not read_as_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        # Read whole to be checked (UploadLimit, outside, caps its size), then handed on as is.
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        error = json_error(body)
        if error is not None:
            logger.info("refused %s %s: %s", scope["method"], scope["path"], error["msg"])
            await send_json(send, 422, {"detail": [error]})
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def json_error(body: bytes) -> dict[str, Any] | None:
    """The validation error for the first value refused, or None (invalid JSON included:
    FastAPI answers that itself)."""

    def finite(text: str) -> float | _NonFinite:
        value = float(text)
        return value if math.isfinite(value) else _NonFinite(text)

    try:
        document = json.loads(body, parse_constant=_NonFinite, parse_float=finite)
    except RecursionError:
        return {"type": "json_invalid", "loc": ["body"], "msg": TOO_DEEP, "input": {}}
    except ValueError:
        return None
    found = first_refused(document)
    if found is None:
        return None
    loc, value = found
    if isinstance(value, _NonFinite):
        return {
            "type": "finite_number",
            "loc": ["body", *loc],
            "msg": NON_FINITE,
            "input": value.text,
        }
    return {"type": "json_invalid", "loc": ["body", *loc], "msg": LONE_SURROGATE, "input": {}}


def first_refused(document: Any) -> tuple[Loc, Any] | None:
    """(where, what) for the first non-finite number or unencodable string, in document order."""
    stack: list[tuple[Loc, Any]] = [([], document)]
    while stack:
        loc, item = stack.pop()
        if isinstance(item, _NonFinite) or (isinstance(item, str) and not _encodable(item)):
            return loc, item
        if isinstance(item, dict):
            for key in reversed(item):
                if not _encodable(key):
                    return loc, key  # the key itself cannot be named in `loc`
                stack.append(([*loc, key], item[key]))
        elif isinstance(item, list):
            stack.extend(([*loc, i], item[i]) for i in reversed(range(len(item))))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_as_json(headers: Headers) -> bool:
    """Whether FastAPI parses this body as JSON: no content type, application/json or +json."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type:
        return "content-length" in headers or "transfer-encoding" in headers
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )
