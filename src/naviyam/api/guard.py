"""The API's front door: per-IP and per-user rate limits, a body-size cap, the worker header.

A pure ASGI middleware (no per-request task). The user of a request is the
``user_id`` of its JSON body (``/chat``, ``/feedback``); the body is read
once, checked, and handed on unchanged. Limited requests get 429 with a
Korean message and ``Retry-After``. Every response names the worker process
that answered in ``X-Naviyam-Worker`` (its PID), which shows which worker of
a multi-worker server continued a conversation.
"""

from __future__ import annotations

import json
import logging
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from naviyam.config import Settings

log = logging.getLogger(__name__)

#: Requests larger than this are refused with 413 before they are parsed (a chat message is <= 500 chars).
MAX_BODY_BYTES = 64 * 1024
WINDOW_S = 60
#: Paths that are never rate limited: health checks, metrics scraping, the chat page and the API docs.
EXEMPT_PREFIXES = ("/health", "/metrics", "/static", "/docs", "/redoc", "/openapi.json")
WORKER_HEADER = b"x-naviyam-worker"


def too_many_requests_message(retry_after: int) -> str:
    return f"요청이 너무 많아요. {retry_after}초 뒤에 다시 시도해 주세요."


class GuardMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        worker = str(os.getpid()).encode()

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (WORKER_HEADER, worker)]
            await send(message)

        path = scope.get("path", "")
        if path == "/" or path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send_with_worker)
            return

        body_messages: list[Message] = []
        user_id = None
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            declared = _content_length(scope)
            if declared is not None and declared > MAX_BODY_BYTES:
                await _reply(send_with_worker, 413, "요청이 너무 커요.")
                return
            body_messages = await _read_body(receive)
            if body_messages is None:
                await _reply(send_with_worker, 413, "요청이 너무 커요.")
                return
            if self.settings.rate_limit_per_minute_user:
                user_id = _user_id(b"".join(m.get("body", b"") for m in body_messages
                                            if m["type"] == "http.request"))

        decision = await self._over_limit(scope, user_id)
        if decision is not None:
            await _reply(send_with_worker, 429, too_many_requests_message(decision.retry_after),
                         [(b"retry-after", str(decision.retry_after).encode())])
            return

        if body_messages:
            pending = list(body_messages)

            async def replay() -> Message:
                if pending:
                    return pending.pop(0)
                return await receive()

            await self.app(scope, replay, send_with_worker)
        else:
            await self.app(scope, receive, send_with_worker)

    async def _over_limit(self, scope: Scope, user_id: int | None):
        """The limiter's refusal for the first limit (client address, then user) this request goes over, or None."""
        limiter = getattr(scope["app"].state, "rate_limiter", None) if "app" in scope else None
        if limiter is None:
            return None
        checks = []
        if self.settings.rate_limit_per_minute_ip:
            client = scope.get("client")
            checks.append((f"ip:{client[0] if client else 'unknown'}", self.settings.rate_limit_per_minute_ip))
        if user_id is not None:
            checks.append((f"user:{user_id}", self.settings.rate_limit_per_minute_user))
        for key, limit in checks:
            decision = await limiter.hit(key, limit, WINDOW_S)
            if not decision.allowed:
                return decision
        return None


async def _read_body(receive: Receive) -> list[Message] | None:
    """The body's messages (to replay to the app), or None as soon as it grows over MAX_BODY_BYTES."""
    body_messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        body_messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            break
    return body_messages


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _user_id(body: bytes) -> int | None:
    """The body's integer ``user_id``, or None (no body, not JSON, anonymous)."""
    if not body or b"user_id" not in body:
        return None
    try:
        value = json.loads(body).get("user_id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
