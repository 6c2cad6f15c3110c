from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from naviyam.api.deps import SessionDep
from naviyam.api.schemas import ErrorPublic, ShopListPublic, ShopPublic
from naviyam.core.taxonomy import district_names, taxonomy
from naviyam.shops import get_shop, list_shops

router = APIRouter(prefix="/shops", tags=["shops"])


@router.get("/{shop_id}", response_model=ShopPublic, responses={404: {"model": ErrorPublic}})
def read_shop(shop_id: Annotated[int, Path(ge=1, le=2**31 - 1)], db: SessionDep):
    """One shop with its menus and derived figures (average price, rating, counts)."""
    record = get_shop(db, shop_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"{shop_id}번 가게를 찾을 수 없어요.")
    return record.to_dict()


@router.get("", response_model=ShopListPublic, responses={422: {"model": ErrorPublic}})
def read_shops(
    db: SessionDep,
    district: Annotated[str | None, Query(max_length=20, description="Seoul 구, e.g. 관악구")] = None,
    category: Annotated[str | None, Query(max_length=20, description="Category from taxonomy.json")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
):
    """Shops filtered by 구 and/or category."""
    district = (district or "").strip() or None
    category = (category or "").strip() or None
    if district and district not in district_names():
        raise HTTPException(status_code=422, detail=f"'{district}'은(는) 서울의 구 이름이 아니에요. 예: 관악구, 동작구")
    if category and category not in taxonomy()["categories"]:
        allowed = ", ".join(taxonomy()["categories"])
        raise HTTPException(status_code=422, detail=f"'{category}'은(는) 없는 분류예요. 가능한 분류: {allowed}")
    records, total = list_shops(db, district=district, category=category, limit=limit, offset=offset)
    return {"shops": [r.to_dict() for r in records], "total": total, "limit": limit, "offset": offset}
