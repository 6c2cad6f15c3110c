"""The FastAPI application factory. Heavy objects are built once in the lifespan."""

from __future__ import annotations

import html
import logging
import string
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from naviyam import __version__
from naviyam.api import connections
from naviyam.api.compute import ComputePool
from naviyam.api.connections import ConnectionBalanceMiddleware
from naviyam.api.guard import GuardMiddleware
from naviyam.api.metrics import Metrics, MetricsMiddleware, metrics_endpoint
from naviyam.api.routes import admin, chat, dashboard, feedback, health, recommendations, shops, users
from naviyam.api.schemas import ErrorPublic
from naviyam.config import Settings, get_settings
from naviyam.core import clock, heap
from naviyam.core.threads import limit_math_threads
from naviyam.db.session import make_engine, session_factory
from naviyam.logging_filters import install_log_redaction
from naviyam.service.ratelimit import build_rate_limiter
from naviyam.service.runtime import Runtime
from naviyam.service.warm import QueryWarmer

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
TEMPLATES_DIR = Path(__file__).parent / "templates"


#: pydantic's error types in a client's language (the rest keep pydantic's own message).
_KOREAN_ERRORS = {
    "missing": "꼭 있어야 해요",
    "string_type": "문자열이어야 해요",
    "int_type": "정수여야 해요", "int_parsing": "정수여야 해요", "int_from_float": "정수여야 해요",
    "float_type": "숫자여야 해요", "float_parsing": "숫자여야 해요",
    "bool_type": "true 또는 false여야 해요", "bool_parsing": "true 또는 false여야 해요",
    "dict_type": "객체여야 해요", "model_type": "객체여야 해요", "list_type": "목록이어야 해요",
    "literal_error": "허용되지 않는 값이에요 ({expected} 중 하나)",
    "greater_than": "{gt}보다 커야 해요", "greater_than_equal": "{ge} 이상이어야 해요",
    "less_than": "{lt}보다 작아야 해요", "less_than_equal": "{le} 이하여야 해요",
    "string_too_short": "{min_length}자 이상이어야 해요", "string_too_long": "{max_length}자 이하여야 해요",
    "string_pattern_mismatch": "형식이 올바르지 않아요",
    "datetime_parsing": "ISO 8601 시각이어야 해요 (예: 2026-11-02T12:30:00)",
    "date_parsing": "YYYY-MM-DD 날짜여야 해요", "date_from_datetime_parsing": "YYYY-MM-DD 날짜여야 해요",
    "json_invalid": "JSON 형식이 올바르지 않아요",
}


def _korean(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "value_error":  # our own validators raise Korean messages
        return str(err.get("ctx", {}).get("error") or err.get("msg", "올바르지 않은 값이에요"))
    template = _KOREAN_ERRORS.get(kind)
    if template is None:
        return err.get("msg", "올바르지 않은 값이에요")
    try:
        return template.format(**{k: v for k, v in (err.get("ctx") or {}).items()})
    except (KeyError, IndexError, ValueError):
        return err.get("msg", "올바르지 않은 값이에요")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        # a body that is not JSON at all has only a character offset for a location
        loc = () if err.get("type") == "json_invalid" else err.get("loc", ())
        where = ".".join(str(p) for p in loc if p not in ("body", "query", "path"))
        parts.append(f"{where}: {_korean(err)}" if where else _korean(err))
    return "요청 값이 올바르지 않아요. " + "; ".join(parts)


#: What a client gets while the database does not answer (fast, instead of hanging).
DB_DOWN = "잠시 서비스를 이용할 수 없어요. 조금 뒤에 다시 시도해 주세요."
#: Seconds a client should wait before retrying after a 503.
DB_RETRY_AFTER_S = 5


def create_app(settings: Settings | None = None, engine=None, runtime=None) -> FastAPI:
    """The app: ``engine`` and ``runtime`` are built at start-up unless given (tests give their own)."""
    settings = settings or get_settings()
    install_log_redaction()
    metrics = Metrics()
    redis_up = metrics.gauge("naviyam_redis_up", "1 while the shared Redis answers (0: per-process state or no "
                             "Redis; with several workers the lowest of the live workers)", multiprocess_mode="livemin")
    # /docs and /redoc load Swagger UI and ReDoc from the service itself (fastapi-offline's bundled
    # assets), not from a CDN: many public-sector networks have no internet.
    app = FastAPIOffline(
        title="Naviyam (나비얌)",
        version=__version__,
        description="급식카드를 쓰는 아이들과 가족을 위한 음식 추천 API입니다. "
                    "(Food recommendations for children and families with meal-support cards.)",
        lifespan=_lifespan(settings, engine, runtime, redis_up),
        static_url="/docs-assets",
        swagger_ui_parameters={"defaultModelsExpandDepth": 0},
    )
    _add_exception_handlers(app)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    # Rate limits (429 + Retry-After), body size, and the X-Naviyam-Worker header on every response.
    app.add_middleware(GuardMiddleware, settings=settings)
    # With several workers, one that holds more than its share of keep-alive connections closes one (connections).
    app.add_middleware(ConnectionBalanceMiddleware)
    if settings.cors_origins:
        # Default: no CORS headers at all, so browsers refuse every cross-origin call.
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "DELETE"], allow_headers=["Content-Type", "X-API-Key"],
                           max_age=600)
    _add_routes(app, settings)
    return app


def _lifespan(settings: Settings, engine, runtime, redis_up):
    """Start-up (rate limiter, engine, runtime, thread limits) and shut-down of the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_engine = engine is None
        restore_clock = clock.use_settings(settings)  # the time zone and NAVIYAM_CLOCK of these settings
        app.state.rate_limiter = build_rate_limiter(settings.redis_url, settings.rate_limit_strategy,
                                                    on_state_change=redis_up.set)
        redis_up.set(1 if settings.redis_url else 0)
        app.state.engine = engine or make_engine(settings.resolved_database_url)
        app.state.session_factory = session_factory(app.state.engine)
        app.state.settings = settings
        if runtime is not None:
            app.state.runtime = runtime
        else:
            app.state.runtime = await run_in_threadpool(Runtime.load, app.state.engine, settings)
        settle_heap = settings.gc_freeze and runtime is None  # a runtime handed in belongs to its caller
        if settle_heap:
            await run_in_threadpool(heap.settle)
            app.state.runtime.after_swap.append(heap.settle)
        app.state.metrics.set_model_versions(app.state.runtime.model_versions())
        # One math thread per request thread, and at most request_concurrency requests computing at once on
        # each pool (both are FIFO: the rest wait in line instead of fighting over two cores and one lock).
        restore_threads = limit_math_threads(settings.math_threads)
        limiter = anyio.to_thread.current_default_thread_limiter()
        pool_tokens = limiter.total_tokens
        if settings.compute_threads > 0:
            limiter.total_tokens = settings.compute_threads
        # Chat turns and recommendations compute on the worker's own pool (naviyam.api.compute).
        app.state.compute = ComputePool(settings.compute_threads)
        # The recent frequent queries embedded in the background (naviyam.service.warm): a restart starts warm.
        warmer = QueryWarmer(app.state.runtime, app.state.engine, settings.query_cache_warm) \
            if settings.query_cache_warm > 0 else None
        app.state.query_warmer = warmer
        log.info("naviyam %s serving on %s", __version__,
                 app.state.engine.url.render_as_string(hide_password=True))
        if connections.BOARD is not None:
            connections.BOARD.serving()
        yield
        if connections.BOARD is not None:
            connections.BOARD.serving(False)
        limiter.total_tokens = pool_tokens
        if warmer is not None:
            warmer.stop()
        app.state.compute.close()
        restore_threads()
        close = getattr(app.state.rate_limiter, "close", None)
        if close is not None:
            await close()
        if own_engine:
            app.state.engine.dispose()
        if settle_heap:
            app.state.runtime.after_swap.remove(heap.settle)
            heap.release()
        app.state.metrics.close()
        restore_clock()

    return lifespan


def _add_exception_handlers(app: FastAPI) -> None:
    """Korean messages: 422 for bad input, 503 (with Retry-After) while the database is down, 500 otherwise."""

    @app.exception_handler(RequestValidationError)
    async def _on_validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _on_http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # A body that is not UTF-8 text: as invalid as malformed JSON, and documented the same way.
            return JSONResponse(status_code=422, content={"detail": "요청 값이 올바르지 않아요. 본문은 UTF-8 JSON이어야 해요."})
        return await http_exception_handler(request, exc)

    async def _on_db_down(_request: Request, exc: Exception):
        if isinstance(exc, DBAPIError) and not isinstance(exc, (OperationalError, InterfaceError)) \
                and not exc.connection_invalidated:
            return await _on_unexpected(_request, exc)
        # The class name only: a driver message can quote the SQL parameters (a child's message).
        log.error("database unavailable: %s", exc.__class__.__name__)
        return JSONResponse(status_code=503, content={"detail": DB_DOWN},
                            headers={"Retry-After": str(DB_RETRY_AFTER_S)})

    # Connection refused/reset, a connection that died under us, or no pooled connection in time: all 503.
    for exc_class in (OperationalError, InterfaceError, DBAPIError, PoolTimeoutError):
        app.add_exception_handler(exc_class, _on_db_down)

    @app.exception_handler(Exception)
    async def _on_unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return JSONResponse(status_code=500, content={"detail": "앗, 문제가 생겼어요. 잠시 뒤에 다시 시도해 주세요."})


def _add_routes(app: FastAPI, settings: Settings) -> None:
    """The API routers, /metrics, the static chat page and the privacy page."""
    # What every API router can answer besides its own responses; 422 is documented as the Korean
    # {"detail": "..."} that _on_validation_error returns (FastAPI would document its own list shape).
    limited = {422: {"model": ErrorPublic, "description": "Invalid request (Korean message)"},
               429: {"model": ErrorPublic, "description": "Too many requests (see Retry-After)"},
               503: {"model": ErrorPublic, "description": "Database unavailable (see Retry-After)"}}
    app.include_router(health.router)
    app.include_router(shops.router, responses=limited)
    app.include_router(feedback.router, responses=limited)
    app.include_router(chat.router, responses=limited)
    app.include_router(recommendations.router, responses=limited)
    app.include_router(users.router, responses=limited)
    app.include_router(admin.router, responses=limited)
    app.include_router(dashboard.router, responses=limited)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/privacy", include_in_schema=False)
    def privacy_page() -> HTMLResponse:
        return HTMLResponse(privacy_html(settings))


def privacy_html(settings: Settings) -> str:
    """The /privacy page for children and guardians, with this service's retention days and contact."""
    days = settings.retention_days
    if days > 0:
        retention = (f"대화, 기억한 내용, 누른 버튼은 {days}일 동안 보관하고, 그보다 오래된 것은 매일 밤 "
                     "저절로 지워요.")
    else:
        retention = "지금은 보관 기간을 정해 두지 않았어요. 지워 달라고 하면 언제든 지워요."
    contact = settings.privacy_contact.strip()
    ask = f"물어볼 곳: {contact}" if contact else "이 서비스를 운영하는 곳의 개인정보 보호 담당자에게 물어보세요."
    page = string.Template((TEMPLATES_DIR / "privacy.html").read_text(encoding="utf-8"))
    return page.substitute(retention_text=html.escape(retention), contact=html.escape(ask))
