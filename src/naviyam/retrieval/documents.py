"""One Korean text document per shop: what BM25 and the dense embedder read.

The document names the shop, its category, where it is, its menus with
prices, tags (착한가게, 급식카드 가능), opening hours, its description and a
few good review snippets. :func:`document_hash` is what incremental index
rebuilds compare: a shop is re-embedded only when its hash changed.
"""

from __future__ import annotations

import hashlib

from naviyam.retrieval.catalog import ShopCatalog

#: At most this many menus are written into a document (signature menus first).
MAX_MENUS = 12


def _price(p: int) -> str:
    return f"{p:,}원"


def shop_document(catalog: ShopCatalog, row: int) -> str:
    menus = sorted(catalog.menus[row], key=lambda m: (not m.is_signature, m.price))[:MAX_MENUS]
    parts = [f"{catalog.names[row]}. {catalog.categories[row]} 가게."]
    place = " ".join(p for p in (catalog.districts[row], catalog.dongs[row]) if p)
    if place:
        parts.append(f"위치: {place}.")
    if menus:
        parts.append("메뉴: " + ", ".join(f"{m.name} {_price(m.price)}" for m in menus) + ".")
        sig = [m.name for m in menus if m.is_signature]
        if sig:
            parts.append("대표 메뉴: " + ", ".join(sig[:3]) + ".")
    tags = []
    if catalog.is_good_shop[row]:
        tags.append("착한가게")
    if catalog.accepts_meal_card[row]:
        tags.append("급식카드 가능")
    if tags:
        parts.append("특징: " + ", ".join(tags) + ".")
    hours = f"영업시간: {catalog.hours_text(row)}"
    if catalog.closed_days_text[row]:
        hours += f", 휴무: {catalog.closed_days_text[row]}"
    parts.append(hours + ".")
    if catalog.descriptions[row]:
        parts.append(catalog.descriptions[row].strip())
    if catalog.review_snippets[row]:
        parts.append("리뷰: " + " / ".join(catalog.review_snippets[row]))
    return " ".join(parts)


def build_documents(catalog: ShopCatalog) -> list[str]:
    return [shop_document(catalog, i) for i in range(len(catalog))]


def document_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
