"""The model registry: every trained artefact is a version with its storage.

A trainable never builds its own paths: it asks the registry for a fresh
folder (:meth:`ModelRegistry.allocate`), writes its files there, and then
registers the version with its metrics, config, data window and parent.
The service loads the production version of each kind (:meth:`current`).

Promotion and rollback (:meth:`promote`, :meth:`rollback`) only change
statuses: ``promoted_at`` orders the production history of a kind, so a
rollback restores the version that was production before the current one
(the rolled-back one is archived and leaves that history, so a second
rollback goes one step further back). A running server notices the change
on its next registry check (see :class:`naviyam.service.runtime.Runtime`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from naviyam.config import get_settings
from naviyam.core.clock import now as clock_now
from naviyam.core.clock import utcnow
from naviyam.db import data_versions
from naviyam.db.models import MODEL_KINDS, MODEL_STATUSES, ModelVersion
from naviyam.db.session import get_engine, session_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Allocation:
    kind: str
    version: str
    path: Path


class RegistryError(LookupError):
    """A version or kind the registry cannot act on (unknown, or nothing to roll back to)."""


class ModelRegistry:
    def __init__(self, engine: Engine, models_dir: Path):
        self.engine = engine
        self.models_dir = Path(models_dir)

    def allocate(self, kind: str) -> Allocation:
        """A new, empty folder for a version of ``kind``; nothing is registered yet."""
        if kind not in MODEL_KINDS:
            raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
        stamp = clock_now().strftime("%Y%m%dT%H%M%S")
        version = f"{kind}-{stamp}-{secrets.token_hex(3)}"
        path = self.models_dir / kind / version
        path.mkdir(parents=True, exist_ok=False)
        return Allocation(kind, version, path)

    def register(
        self,
        alloc: Allocation,
        *,
        metrics: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        data_window: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
        parent: str | None = None,
        status: str = "production",
    ) -> ModelVersion:
        """Record a written version. With status='production' it replaces the current one.

        The version also records the versions of the operator data it was trained on
        (``config["data_versions"]``, see :mod:`naviyam.db.data_versions`) unless the trainer gave them.
        """
        now = utcnow()
        recorded = data_versions.fingerprint(alloc.kind, data_versions.current(self.engine))
        if recorded is not None and not (config or {}).get("data_versions"):
            config = {**(config or {}), "data_versions": recorded}
        with session_scope(self.engine) as s:
            parent_id = None
            if parent is not None:
                parent_id = s.scalar(select(ModelVersion.id).where(ModelVersion.version == parent))
            if status == "production":
                s.execute(
                    update(ModelVersion)
                    .where(ModelVersion.kind == alloc.kind, ModelVersion.status == "production")
                    .values(status="archived")
                )
            mv = ModelVersion(
                kind=alloc.kind, version=alloc.version, path=str(alloc.path), status=status,
                metrics=metrics, config=config, data_window_start=data_window[0],
                data_window_end=data_window[1], parent_id=parent_id, created_at=now,
                promoted_at=now if status == "production" else None,
            )
            s.add(mv)
        log.info("registered %s (%s)", alloc.version, status)
        return mv

    def stale(self) -> dict[str, list[str]]:
        """Production models older than the data they read: kind → the data aspects that changed since."""
        now = data_versions.current(self.engine)
        out: dict[str, list[str]] = {}
        for kind in data_versions.MODEL_ASPECTS:
            mv = self.current(kind)
            if mv is None:
                continue
            changed = data_versions.changed_since(kind, (mv.config or {}).get("data_versions"), now)
            if changed:
                out[kind] = changed
        return out

    def current(self, kind: str) -> ModelVersion | None:
        """The production version of ``kind`` (the newest promoted), or None."""
        with session_scope(self.engine) as s:
            return s.scalar(
                select(ModelVersion)
                .where(ModelVersion.kind == kind, ModelVersion.status == "production")
                .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
                .limit(1)
            )

    @staticmethod
    def production_versions(session) -> list[ModelVersion]:
        """The production version of every kind, read through an open session."""
        return list(session.scalars(
            select(ModelVersion).where(ModelVersion.status == "production").order_by(ModelVersion.kind)
        ))

    def get(self, version: str) -> ModelVersion | None:
        with session_scope(self.engine) as s:
            return s.scalar(select(ModelVersion).where(ModelVersion.version == version))

    def latest(self, kind: str, status: str = "candidate") -> ModelVersion | None:
        """The newest version of ``kind`` with ``status`` (e.g. the candidate an online A/B serves)."""
        with session_scope(self.engine) as s:
            return s.scalar(select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.status == status)
                            .order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc()).limit(1))

    def set_status(self, version: str, status: str, *, note: dict[str, Any] | None = None) -> ModelVersion:
        """Change a non-production version's status (candidate, archived, failed); ``note`` goes into metrics."""
        if status not in MODEL_STATUSES or status == "production":
            raise ValueError(f"use promote() for production; status must be one of {MODEL_STATUSES}")
        with session_scope(self.engine) as s:
            mv = s.scalar(select(ModelVersion).where(ModelVersion.version == version))
            if mv is None:
                raise RegistryError(f"모델 버전 {version}이(가) 없어요.")
            if mv.status == "production":
                raise RegistryError(f"{version}은(는) 운영 중이에요. 되돌리려면 rollback을 쓰세요.")
            mv.status = status
            if note:
                mv.metrics = {**(mv.metrics or {}), **note}
            return mv

    def promote(self, version: str) -> ModelVersion:
        """Make ``version`` the production version of its kind; the previous one is archived."""
        with session_scope(self.engine) as s:
            mv = s.scalar(select(ModelVersion).where(ModelVersion.version == version))
            if mv is None:
                raise RegistryError(f"모델 버전 {version}이(가) 없어요.")
            if mv.status == "production":
                return mv
            s.execute(update(ModelVersion)
                      .where(ModelVersion.kind == mv.kind, ModelVersion.status == "production")
                      .values(status="archived"))
            mv.status = "production"
            mv.promoted_at = utcnow()
        log.info("promoted %s", version)
        return mv

    def rollback(self, kind: str) -> tuple[ModelVersion, ModelVersion]:
        """Restore the version that was production before the current one. Returns (restored, rolled back)."""
        with session_scope(self.engine) as s:
            cur = s.scalar(select(ModelVersion)
                           .where(ModelVersion.kind == kind, ModelVersion.status == "production")
                           .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc()).limit(1))
            if cur is None:
                raise RegistryError(f"운영 중인 {kind} 모델이 없어 되돌릴 수 없어요.")
            prev = s.scalar(select(ModelVersion).where(
                ModelVersion.kind == kind, ModelVersion.status == "archived", ModelVersion.promoted_at.is_not(None),
                ModelVersion.promoted_at <= cur.promoted_at, ModelVersion.id != cur.id,
            ).order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc()).limit(1))
            if prev is None:
                raise RegistryError(f"{cur.version} 이전에 운영하던 {kind} 모델이 없어 되돌릴 수 없어요.")
            s.execute(update(ModelVersion)
                      .where(ModelVersion.kind == kind, ModelVersion.status == "production")
                      .values(status="archived"))
            # Leave the production history: a second rollback goes further back, not forth.
            cur.metrics = {**(cur.metrics or {}), "rolled_back": {
                "at": utcnow().isoformat(timespec="seconds"),
                "was_promoted_at": cur.promoted_at.isoformat() if cur.promoted_at else None,
                "restored": prev.version}}
            cur.status, cur.promoted_at = "archived", None
            prev.status = "production"
        log.warning("rolled back %s to %s", cur.version, prev.version)
        return prev, cur

    def list(self, kind: str | None = None) -> list[ModelVersion]:
        with session_scope(self.engine) as s:
            q = select(ModelVersion).order_by(ModelVersion.id)
            if kind:
                q = q.where(ModelVersion.kind == kind)
            return list(s.scalars(q))


def default_registry() -> ModelRegistry:
    """The registry of the settings' database and models folder: an entry-point default (CLI commands,
    scripts); library code takes a registry as an argument."""
    return ModelRegistry(get_engine(), get_settings().models_dir)
