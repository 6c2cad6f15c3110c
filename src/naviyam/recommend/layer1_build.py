"""Building Layer 1 (``naviyam index build``): the shop index, the tuned funnel settings and the fitted funnels,
registered as an "index" version and promoted through the gate. Serving lives in :mod:`naviyam.recommend.layer1`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from naviyam.core.registry import ModelRegistry
from naviyam.recommend.layer1 import Layer1Config, fit_layer1, load_config
from naviyam.recommend.layer1_tuning import tune_layer1
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.embedding import DiskCachedPassages, Embedder, make_embedder
from naviyam.retrieval.index import ShopIndex

log = logging.getLogger(__name__)
#: Folder (in the models folder) of the passage vectors every index build shares (DiskCachedPassages).
EMBEDDING_CACHE_DIR = "embedding-cache"


@dataclass
class BuildReport:
    version: str
    path: Path
    parent: str | None
    n_shops: int
    n_embedded: int
    n_reused: int
    index_seconds: float
    fit_seconds: float
    total_seconds: float
    tuning: Any = None
    promoted: bool = True
    gate_reasons: list[str] = field(default_factory=list)


def build_layer1(
    engine: Engine,
    registry: ModelRegistry,
    *,
    config: Layer1Config | None = None,
    embedder: Embedder | None = None,
    full: bool = False,
    tune: bool = False,
    gate: bool | None = None,
    force: bool = False,
) -> BuildReport:
    """Build, save and register a new production "index" version (incremental unless ``full``).

    With ``tune`` the funnels' settings, merge weights and candidate list size
    are first fitted on a time split of the database
    (:mod:`naviyam.recommend.layer1_tuning`); the report is saved with the version.

    The promotion gate (``gate``, on by default with ``tune``): when a production
    index exists, its settings are scored on the same split and the new
    version is registered as a candidate, promoted only when its Recall@100 +
    NDCG@10 is not below production's (ties promote: the new version also
    carries the newest data); ``force`` promotes it anyway.
    """
    t0 = time.perf_counter()
    config = config or Layer1Config()
    embedder = embedder or make_embedder(config.embedder)
    if not isinstance(embedder, DiskCachedPassages):
        # passage vectors kept by (embedder, text hash): even a full rebuild embeds only what is new
        embedder = DiskCachedPassages(embedder, registry.models_dir / EMBEDDING_CACHE_DIR)
    current = registry.current("index")
    previous = _previous_index(current) if current is not None and not full else None
    catalog = ShopCatalog.load(engine)
    index, s = ShopIndex.build(catalog, embedder, previous=previous, fusion=config.fusion)
    gate = tune if gate is None else gate
    incumbent = _incumbent_config(current) if gate and current is not None else None
    tuning = None
    if tune or incumbent is not None:
        config, tuning = tune_layer1(engine, config, catalog=catalog, embedder=embedder, index=index,
                                     incumbent=incumbent, search=tune)
    arts = fit_layer1(engine, config=config, embedder=embedder, previous_index=index, catalog=catalog)
    alloc = registry.allocate("index")
    arts.save(alloc.path, config)
    if tuning is not None:
        (alloc.path / "tuning.json").write_text(json.dumps(tuning.to_json(), ensure_ascii=False, indent=2,
                                                           default=str), encoding="utf-8")
    total = time.perf_counter() - t0
    promote, reasons = _index_gate(current, tuning, incumbent, force)
    metrics = {**_build_metrics(s, arts, total, tuning), "gate": {"promoted": promote, "reasons": reasons}}
    registry.register(
        alloc,
        metrics=metrics,
        config={"layer1": config.to_dict(), "embedder": embedder.name,
                "funnels": {n: f.config() for n, f in arts.funnels.items() if hasattr(f, "config")},
                "tuning": tuning.to_json() if tuning is not None else None},
        data_window=arts.interactions.window(),
        parent=current.version if current is not None else None,
        status="production" if promote else "candidate",
    )
    return BuildReport(alloc.version, alloc.path, current.version if current else None, s.n_shops, s.n_embedded,
                       s.n_reused, s.seconds, arts.fit_seconds, total, tuning, promote, reasons)


def _previous_index(current) -> ShopIndex | None:
    """The production index's shop index (its vectors are reused), or None when it cannot be read."""
    try:
        return ShopIndex.load(Path(current.path) / "index")
    except (OSError, ValueError) as exc:
        log.warning("previous index %s unreadable (%s); embedding every shop", current.version, exc)
        return None


def _incumbent_config(current) -> Layer1Config | None:
    """The production index's settings (the gate scores them on the same split), or None when unreadable."""
    try:
        return load_config(Path(current.path))
    except (OSError, ValueError, KeyError) as exc:
        log.warning("production index %s has no readable settings (%s): not compared", current.version, exc)
        return None


def _build_metrics(s, arts, total: float, tuning) -> dict:
    """The registry metrics of a build: sizes, seconds and, when tuned, the tuning's before and after."""
    metrics = {"n_shops": s.n_shops, "n_embedded": s.n_embedded, "n_reused": s.n_reused,
               "index_seconds": round(s.seconds, 3), "fit_seconds": round(arts.fit_seconds, 3),
               "build_seconds": round(total, 3), "n_users": len(arts.matrix.user_ids),
               "n_interactions": int(arts.matrix.matrix.nnz)}
    if tuning is not None and not tuning.skipped:
        metrics.update({f"tuning_before_{k}": v for k, v in tuning.before.items()})
        metrics.update({f"tuning_after_{k}": v for k, v in tuning.after.items()})
    return metrics


def _gate_score(m: dict[str, float] | None) -> float:
    return (m or {}).get("recall@100", 0.0) + (m or {}).get("ndcg@10", 0.0)


def _index_gate(current, tuning, incumbent, force: bool) -> tuple[bool, list[str]]:
    """Promote the new index or keep production; the reasons in Korean for the operator."""
    if current is None:
        return True, ["처음 만든 색인이라 바로 운영에 올려요"]
    if incumbent is None or tuning is None or tuning.skipped or tuning.incumbent is None:
        why = tuning.skipped if tuning is not None and tuning.skipped else "비교할 평가 기간이 없어요"
        return True, [f"운영 색인과 비교하지 않고 올려요 ({why})"]
    new, old = _gate_score(tuning.after), _gate_score(tuning.incumbent)
    line = (f"Recall@100+NDCG@10 새 색인 {new:.4f} / 운영 {old:.4f} "
            f"({tuning.cutoff:%Y-%m-%d} 이후 새 주문, 사용자 {tuning.n_users}명)")
    if new >= old - 1e-9:
        return True, [line + ": 새 색인이 같거나 더 좋아서 올려요"]
    if force:
        return True, [line + ": 더 좋지 않지만 --force라서 올려요"]
    return False, [line + ": 새 색인이 더 좋지 않아 운영 색인을 유지해요"]


def build_index_model(engine: Engine, registry: ModelRegistry, settings) -> str:
    """``MODEL_BUILDERS["index"]`` for start-up: build Layer 1 and return the version."""
    return build_layer1(engine, registry, tune=True).version


# --------------------------------------------------------------------------- serving
