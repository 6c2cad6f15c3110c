from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from naviyam import __version__
from naviyam.api.deps import SessionDep
from naviyam.api.schemas import HealthPublic
from naviyam.db import data_versions
from naviyam.core.registry import ModelRegistry
from naviyam.shops import count_shops

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(db: SessionDep):
    """Liveness and readiness: the database answers and which model versions are loaded."""
    try:
        shops = count_shops(db)
        production = ModelRegistry.production_versions(db)
        models = {m.kind: m.version for m in production}
        versions = data_versions.current(db.connection())
        stale = {m.kind: changed for m in production
                 if (changed := data_versions.changed_since(m.kind, (m.config or {}).get("data_versions"), versions))}
    except SQLAlchemyError:
        body = HealthPublic(status="degraded", database="unavailable", shops=0, models={}, version=__version__)
        return JSONResponse(status_code=503, content=body.model_dump())
    return HealthPublic(status="ok", database="ok", shops=shops, models=models, version=__version__,
                        stale_models=stale)
