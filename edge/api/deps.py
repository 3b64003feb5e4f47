"""FastAPI dependencies: how settings, store and model reach the handlers (tests override them)."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from edge.api.services import Services
from edge.config import Settings
from edge.model import DigitModel
from edge.store import Store

logger = logging.getLogger(__name__)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_settings(services: Annotated[Services, Depends(get_services)]) -> Settings:
    return services.settings


def get_store(services: Annotated[Services, Depends(get_services)]) -> Store:
    if services.store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the history store is not open")
    return services.store


def get_model(services: Annotated[Services, Depends(get_services)]) -> DigitModel:
    if services.model is None:
        reason = services.model_error or "not loaded yet"
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"no model: {reason}")
    return services.model


def bearer_matches(authorization: str, expected: str) -> bool:
    """True when an Authorization header value is `Bearer <expected>`."""
    scheme, _, given = authorization.partition(" ")
    # compare_digest takes as long whatever the mismatch, so timing reveals nothing.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), expected.encode()
    )


def require_token(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """When api.token is set, the request must carry `Authorization: Bearer <token>`.

    edge.api.guard checks every write before its body is read; this keeps the rule (and
    its 401 in the OpenAPI document) on the routes themselves.
    """
    expected = settings.api.token.get_secret_value()
    if expected and not bearer_matches(request.headers.get("authorization", ""), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "this needs the API token: send 'Authorization: Bearer <api.token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ModelDep = Annotated[DigitModel, Depends(get_model)]
Authorised = Depends(require_token)
