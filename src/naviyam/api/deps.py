"""Dependencies that routes take as ``Annotated`` parameters (swap them in tests)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from naviyam.config import Settings
from naviyam.service.runtime import Runtime


def get_db(request: Request) -> Iterator[Session]:
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


# The dependencies that only read the app's state are ``async def``: FastAPI runs a plain ``def`` dependency on the
# thread pool, whose limiter (``request_concurrency``) the requests' own work waits for, so every /chat request
# queued twice, once only to fetch the runtime.
async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_runtime(request: Request) -> Runtime:
    """The models and services this server runs (tests swap it with ``app.dependency_overrides``)."""
    return request.app.state.runtime


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def require_admin(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="Admin API key (NAVIYAM_ADMIN_API_KEY)")] = None,
) -> None:
    """Admin routes need the key; compared in constant time."""
    expected = request.app.state.settings.admin_api_key
    if not x_api_key or not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="관리자 키가 필요해요 (X-API-Key 헤더).")


AdminDep = Depends(require_admin)
