"""``/admin/dashboard``: the operator's dashboard, behind the admin key.

Two ways in: the ``X-API-Key`` header (scripts, like every admin route), or,
for a browser, the login form the page shows without a key. The form posts
the key once; the answer sets an ``HttpOnly``, ``SameSite=Strict`` cookie
holding an HMAC of the key (never the key itself), valid 8 hours and only
under ``/admin``; changing ``NAVIYAM_ADMIN_API_KEY`` invalidates it. The key
never travels in a URL (URLs end up in access logs and browser history).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from naviyam.api.dashboard_page import CSP, dashboard_page, login_page
from naviyam.api.deps import RuntimeDep
from naviyam.service.dashboard import build_dashboard

router = APIRouter(prefix="/admin/dashboard", tags=["admin"])

COOKIE = "naviyam_admin"
COOKIE_MAX_AGE_S = 8 * 3600
NEED_KEY = "관리자 키가 필요해요. 관리자 키를 넣어 주세요."
WRONG_KEY = "관리자 키가 맞지 않아요. 다시 넣어 주세요."
MAX_FORM_BYTES = 4096


def session_token(admin_key: str) -> str:
    """What the cookie holds: HMAC-SHA256 of a fixed label under the admin key."""
    return hmac.new(admin_key.encode(), b"naviyam-admin-dashboard", hashlib.sha256).hexdigest()


def _authorised(request: Request, x_api_key: str | None) -> bool:
    key = request.app.state.settings.admin_api_key
    if x_api_key and hmac.compare_digest(x_api_key.encode(), key.encode()):
        return True
    cookie = request.cookies.get(COOKIE)
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_token(key).encode())


def _html(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code,
                        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


HTML = {"text/html": {"schema": {"type": "string"}}}


@router.get("", response_model=None,
            responses={200: {"description": "the dashboard page", "content": HTML},
                       401: {"description": "no or wrong admin key: the login page", "content": HTML}})
async def dashboard(request: Request, runtime: RuntimeDep,
                    days: Annotated[int, Query(ge=1, le=365, description="days shown")] = 28,
                    x_api_key: Annotated[str | None, Header()] = None):
    """Daily metrics and charts, the models serving and their promotions, open alerts, the current A/B test."""
    if not _authorised(request, x_api_key):
        return _html(login_page(WRONG_KEY if x_api_key else NEED_KEY), 401)
    data = await run_in_threadpool(build_dashboard, request.app.state.engine, serving=runtime.model_versions(),
                                   candidates=runtime.candidate_versions(), settings=request.app.state.settings,
                                   days=days)
    return _html(await run_in_threadpool(dashboard_page, data))


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login(request: Request):
    """The login form's target: the right key sets the session cookie and goes to the dashboard."""
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", errors="replace"))
    given = (form.get("key") or [""])[0]
    key = request.app.state.settings.admin_api_key
    if not given or not hmac.compare_digest(given.encode(), key.encode()):
        return _html(login_page(WRONG_KEY if given else NEED_KEY), 401)
    response = RedirectResponse("/admin/dashboard", status_code=303)
    response.set_cookie(COOKIE, session_token(key), max_age=COOKIE_MAX_AGE_S, path="/admin", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/logout", include_in_schema=False)
async def logout():
    response = RedirectResponse("/admin/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict")
    return response
