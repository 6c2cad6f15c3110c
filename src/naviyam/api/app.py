"""The FastAPI application factory. Heavy objects are built once in the lifespan."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError

from naviyam import __version__
from naviyam.api.metrics import Metrics, MetricsMiddleware, metrics_endpoint
from naviyam.api.routes import chat, feedback, health, shops
from naviyam.config import Settings, get_settings
from naviyam.db.session import make_engine, session_factory

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', '올바르지 않은 값')}" if where else err.get("msg", ""))
    return "요청 값이 올바르지 않아요. " + "; ".join(parts)


def create_app(settings: Settings | None = None, engine=None, runtime=None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        own_engine = engine is None
        app.state.engine = engine or make_engine(settings.resolved_database_url)
        app.state.session_factory = session_factory(app.state.engine)
        app.state.settings = settings
        if runtime is not None:
            app.state.runtime = runtime
        else:
            from naviyam.service.runtime import Runtime

            app.state.runtime = await run_in_threadpool(Runtime.load, app.state.engine, settings)
        app.state.metrics.set_model_versions(app.state.runtime.model_versions())
        log.info("naviyam %s serving on %s", __version__,
                 app.state.engine.url.render_as_string(hide_password=True))
        yield
        if own_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="Naviyam (나비얌)",
        version=__version__,
        description="Food recommendations for children and families with meal-support cards.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _on_validation_error(_request: Request, exc: RequestValidationError):
        return JSONResponse(status_code=422, content={"detail": _validation_message(exc)})

    @app.exception_handler(OperationalError)
    async def _on_db_down(_request: Request, exc: OperationalError):
        log.error("database unavailable: %s", exc.__class__.__name__)
        return JSONResponse(status_code=503, content={"detail": "잠시 서비스를 이용할 수 없어요. 조금 뒤에 다시 시도해 주세요."})

    @app.exception_handler(Exception)
    async def _on_unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return JSONResponse(status_code=500, content={"detail": "앗, 문제가 생겼어요. 잠시 뒤에 다시 시도해 주세요."})

    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.include_router(health.router)
    app.include_router(shops.router)
    app.include_router(feedback.router)
    app.include_router(chat.router)
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app
