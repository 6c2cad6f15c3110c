"""Admin routes (X-API-Key): the model registry, promotion, rollback and hot reload.

Promotion and rollback change the registry, then make this server load the
result at once (:meth:`naviyam.service.runtime.Runtime.refresh`); other
workers pick it up on their next registry check.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from naviyam.api.deps import AdminDep, RuntimeDep
from naviyam.api.schemas import ModelsPublic, ModelVersionPublic, PromotionPublic, ReloadPublic
from naviyam.core.registry import RegistryError
from naviyam.db.models import MODEL_KINDS
from naviyam.learning.promotion import PromotionRefused, promote_version
from naviyam.service.runtime import Runtime

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


def _public(mv, parents: dict[int, str]) -> ModelVersionPublic:
    return ModelVersionPublic(kind=mv.kind, version=mv.version, status=mv.status, metrics=mv.metrics,
                              data_window_start=mv.data_window_start, data_window_end=mv.data_window_end,
                              parent=parents.get(mv.parent_id) if mv.parent_id else None,
                              created_at=mv.created_at, promoted_at=mv.promoted_at)


def _reload(request: Request, runtime: Runtime) -> ReloadPublic:
    res = runtime.refresh(reload_state=True)
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.set_model_versions(res.versions)
    return ReloadPublic(changed={k: list(v) for k, v in res.changed.items()}, failed=res.failed,
                        serving=res.versions, candidate_serving=res.candidate_versions)


@router.get("/models", response_model=ModelsPublic)
def list_models(runtime: RuntimeDep, kind: str | None = None):
    """Every registered version (newest first) and what this server serves now."""
    versions = runtime.registry.list(kind)
    parents = {mv.id: mv.version for mv in runtime.registry.list()}
    return ModelsPublic(models=[_public(mv, parents) for mv in reversed(versions)],
                        serving=runtime.model_versions(), candidate_serving=runtime.candidate_versions(),
                        ab_share=runtime.settings.ab_share)


@router.post("/models/{version}/promote", response_model=PromotionPublic,
             responses={404: {"description": "unknown version"}, 409: {"description": "refused by the gate"}})
async def promote(version: str, request: Request, runtime: RuntimeDep, force: bool = False):
    """Promote a version (sanity checks always; its recorded offline comparison unless ``force``), then reload."""
    previous = None
    mv0 = runtime.registry.get(version)
    if mv0 is not None:
        cur = runtime.registry.current(mv0.kind)
        previous = cur.version if cur is not None else None
    try:
        mv = await run_in_threadpool(promote_version, runtime.registry, version, runtime.settings, force=force)
    except RegistryError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    except PromotionRefused as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    reload = await run_in_threadpool(_reload, request, runtime)
    return PromotionPublic(kind=mv.kind, version=mv.version, previous=previous, reload=reload)


@router.post("/models/{kind}/rollback", response_model=PromotionPublic,
             responses={404: {"description": "unknown kind"}, 409: {"description": "nothing to roll back to"}})
async def rollback(kind: str, request: Request, runtime: RuntimeDep):
    """Make the previous production version of ``kind`` production again (the current one is archived), then reload."""
    if kind not in MODEL_KINDS:
        raise HTTPException(status_code=404, detail=f"모델 종류는 {', '.join(MODEL_KINDS)} 중 하나예요.")
    try:
        restored, rolled_back = await run_in_threadpool(runtime.registry.rollback, kind)
    except RegistryError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    reload = await run_in_threadpool(_reload, request, runtime)
    return PromotionPublic(kind=kind, version=restored.version, previous=rolled_back.version, reload=reload)


@router.post("/reload", response_model=ReloadPublic)
async def reload(request: Request, runtime: RuntimeDep):
    """Check the registry now and hot-swap whatever changed (no restart, no failed request)."""
    return await run_in_threadpool(_reload, request, runtime)
