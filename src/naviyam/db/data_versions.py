"""What the models were trained on, and whether the operator's data has moved on since.

Every write path of the operator's data (the sample-world generator, ``data import``) bumps a
version counter per *aspect* in the ``data_version`` table, in the same transaction as the rows:
one aspect per operator table, plus ``lexicon`` for the words the NLU knows (shop and brand names,
categories, menus and dishes, districts and 동). Every registered model records the versions of
the aspects it reads (:data:`MODEL_ASPECTS`); a production model is stale when one of them has a
newer version now. Reading the versions is one small query, cheap enough for ``/health``.

Rows written outside these paths (by hand, in SQL) are not seen; re-import or
``naviyam train all --force`` after such edits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from naviyam.core.clock import utcnow
from naviyam.db.models import DataVersion

OPERATOR_ASPECTS = ("shop", "shop_menu", "brand", "user", "product_order", "userfavorite", "review")
LEXICON = "lexicon"
#: Whose events training may use: bumped when a guardian's consent is set or withdrawn and when a user's
#: data is erased (naviyam.service.privacy), so models fitted before are stale until rebuilt without them.
PRIVACY = "privacy"
#: Columns whose change changes what the NLU's lexicon holds.
LEXICON_COLUMNS = {"shop": {"name", "category", "district", "dong"}, "shop_menu": {"name", "dish"},
                   "brand": {"name"}}
#: Which aspects each model kind is trained on.
MODEL_ASPECTS: dict[str, tuple[str, ...]] = {
    "nlu": (LEXICON,),
    "index": (*OPERATOR_ASPECTS, PRIVACY),
    "ranker": (*OPERATOR_ASPECTS, PRIVACY),
}
#: Operator-facing Korean names of the aspects.
ASPECT_NAMES = {"shop": "가게", "shop_menu": "메뉴", "brand": "브랜드", "user": "사용자", "product_order": "주문",
                "userfavorite": "찜", "review": "리뷰", LEXICON: "가게·메뉴 이름과 지역",
                PRIVACY: "보호자 동의·삭제 요청"}


#: How many times :func:`bump` ran in this process: a reader that keeps the versions for a while
#: (naviyam.service.policy.ShopFactsCache) reads them again at once after a write of its own process.
_local_bumps = 0


def local_bumps() -> int:
    """How many times :func:`bump` ran in this process (a change says: read the versions again now)."""
    return _local_bumps


def bump(conn: Connection, aspects: Iterable[str], source: str) -> None:
    """Record that ``aspects`` changed (inside the caller's transaction)."""
    global _local_bumps
    _local_bumps += 1
    table = DataVersion.__table__
    now = utcnow()
    for aspect in sorted(set(aspects)):
        current = conn.execute(select(table.c.version).where(table.c.aspect == aspect)).scalar()
        if current is None:
            conn.execute(table.insert().values(aspect=aspect, version=1, changed_at=now, source=source))
        else:
            conn.execute(table.update().where(table.c.aspect == aspect)
                         .values(version=current + 1, changed_at=now, source=source))


def current(engine: Engine | Connection) -> dict[str, int]:
    """aspect → version now (aspects never written are absent: version 0)."""
    if isinstance(engine, Connection):
        return {a: v for a, v in engine.execute(_CURRENT)}
    with engine.connect() as conn:
        return {a: v for a, v in conn.execute(_CURRENT)}


#: Read on every answer that shows shops (naviyam.service.policy.ShopFactsCache): built once.
_CURRENT = select(DataVersion.__table__.c.aspect, DataVersion.__table__.c.version)


def details(engine: Engine) -> dict[str, tuple[int, dt.datetime, str]]:
    table = DataVersion.__table__
    with engine.connect() as conn:
        return {r.aspect: (r.version, r.changed_at, r.source) for r in conn.execute(select(table))}


def fingerprint(kind: str, versions: dict[str, int]) -> dict[str, int] | None:
    """What a model of ``kind`` records about its data (None for kinds that read no operator data)."""
    aspects = MODEL_ASPECTS.get(kind)
    if aspects is None:
        return None
    return {a: int(versions.get(a, 0)) for a in aspects}


def changed_since(kind: str, recorded: dict[str, int] | None, versions: dict[str, int]) -> list[str] | None:
    """The aspects that moved on since a model recorded ``recorded``; None when nothing is known (older models)."""
    if kind not in MODEL_ASPECTS or not isinstance(recorded, dict):
        return None
    return [a for a in MODEL_ASPECTS[kind] if int(versions.get(a, 0)) > int(recorded.get(a, 0))]
