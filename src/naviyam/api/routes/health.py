from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from naviyam import __version__
from naviyam.api.deps import SessionDep, SettingsDep
from naviyam.api.schemas import HealthPublic
from naviyam.core.process import wall_seconds
from naviyam.core.registry import ModelRegistry
from naviyam.db import data_versions
from naviyam.service.warming import warming_status
from naviyam.shops import count_shops

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(db: SessionDep, settings: SettingsDep):
    """Liveness and readiness: the database answers and which model versions are loaded; ``warming`` while
    ``naviyam serve --build-models`` still builds models (the service answers meanwhile)."""
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
    warming = warming_status(settings)
    if warming is not None:
        todo = list(warming.get("todo") or [])
        done = [k for k in warming.get("done") or [] if k in todo]
        building = warming.get("building")
        step = f" 지금 {building} 모델을 만드는 중이에요." if building else ""
        elapsed = wall_seconds() - warming["started"]
        warming = {"done": done, "building": building, "todo": [k for k in todo if k not in done],
                   "progress": f"{len(done)}/{len(todo)}", "seconds": round(elapsed, 1),
                   "message": f"모델을 준비하고 있어요 ({len(done)}/{len(todo)}).{step} 그동안은 기본 규칙으로 답해요."}
        return HealthPublic(status="warming", database="ok", shops=shops, models=models, version=__version__,
                            stale_models=stale, warming=warming)
    return HealthPublic(status="ok", database="ok", shops=shops, models=models, version=__version__,
                        stale_models=stale)
