"""Refuse parameters FastAPI would otherwise quietly reinterpret.

FastAPI keeps only the last of a repeated query or form field, and takes a form field sent
empty for one left out. So `kind=bogus&kind=digit` was read as `digit`, and a form with
`kind=` as the default `number`: a request with an invalid value answered 200 as if it were
valid. This dependency answers 422 instead, in FastAPI's own validation error format, for
any parameter the route declares; a route's list-valued parameters may repeat.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Iterable, Iterator
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import ImmutableMultiDict

logger = logging.getLogger(__name__)

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_SEQUENCES = (list, tuple, set, frozenset)


async def reject_ambiguous_parameters(request: Request) -> None:
    """422 when a declared query or form parameter is repeated, or a form field is empty."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    query_names = set(_single_valued(route.dependant, "query_params"))
    errors = _repeated("query", request.query_params, query_names)
    form_names = set(_single_valued(route.dependant, "body_params"))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if form_names and content_type in FORM_TYPES:
        form = await request.form()  # cached on the request: FastAPI parsed it already
        errors += _repeated("body", form, form_names)
        errors += [
            {
                "type": "empty",
                "loc": ("body", name),
                "input": "",
                "msg": "empty: give a value or leave the field out",
            }
            for name in sorted(form_names)
            if form.get(name) == ""
        ]
    if errors:
        logger.debug("refused %s %s: %s", request.method, request.url.path, errors)
        raise RequestValidationError(errors)


def _repeated(
    where: str, values: ImmutableMultiDict[str, Any], names: Iterable[str]
) -> list[dict[str, Any]]:
    errors = []
    for name in sorted(names):
        given = values.getlist(name)
        if len(given) > 1:
            shown = [v if isinstance(v, str) else "(a file)" for v in given]
            errors.append(
                {
                    "type": "repeated",
                    "loc": (where, name),
                    "input": shown,
                    "msg": f"given {len(given)} times: give it once",
                }
            )
    return errors


def _single_valued(dependant: Any, kind: str) -> Iterator[str]:
    """Aliases of the route's parameters of one kind (with its dependencies'), lists left out."""
    for field in getattr(dependant, kind):
        if not _is_sequence(field.field_info.annotation):
            yield field.alias
    for sub in dependant.dependencies:
        yield from _single_valued(sub, kind)


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_sequence(arg) for arg in get_args(annotation))
    return origin in _SEQUENCES or annotation in _SEQUENCES
