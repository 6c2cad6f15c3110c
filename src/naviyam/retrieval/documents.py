"""One Korean text document per shop: what BM25 and the dense embedder read.

The document names the shop, its category, where it is, its menus with
prices, tags (착한가게, 급식카드 가능), opening hours, its description and a
few good review snippets (BM25 reads it, and it is what a shop "is" in
search results). :func:`dense_text` is a shorter text for the embedder.
:func:`document_hash` of the dense text is what incremental index rebuilds
compare: a shop is re-embedded only when its dense text changed.
"""

from __future__ import annotations

import hashlib
import re

from naviyam.retrieval.catalog import ShopCatalog

_PRICE = re.compile(r"\s*[\d,]+\s*원")
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
    parts.append(f"영업시간: {catalog.hours_text(row)}.")
    if catalog.descriptions[row]:
        parts.append(catalog.descriptions[row].strip())
    if catalog.review_snippets[row]:
        parts.append("리뷰: " + " / ".join(catalog.review_snippets[row]))
    return " ".join(parts)


def dense_text(catalog: ShopCatalog, row: int) -> str:
    """The shorter text the dense embedder reads: what the shop *is*, without prices, hours and reviews.

    Embedding costs about 1.5 ms per token on this CPU, and prices, hours and
    review chatter carry little a sentence embedding can use (filters and BM25
    handle them). Leaving them out keeps documents short and means a price
    change or a new review never forces a re-embedding.
    """
    # signatures first, then real dishes (sides such as drinks have no canonical dish), dearer first
    menus = sorted(catalog.menus[row], key=lambda m: (not m.is_signature, m.dish is None, -m.price))
    dishes = list(dict.fromkeys(_PRICE.sub("", m.name).strip() for m in menus))
    parts = [f"{catalog.names[row]}: {catalog.categories[row]}", ", ".join(dishes[:8])]
    if catalog.is_good_shop[row]:
        parts.append("착한가게")
    if catalog.accepts_meal_card[row]:
        parts.append("급식카드 가능")
    if catalog.descriptions[row]:
        parts.append(_PRICE.sub("", catalog.descriptions[row]).strip()[:80])
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())


def build_documents(catalog: ShopCatalog) -> list[str]:
    return [shop_document(catalog, i) for i in range(len(catalog))]


def build_dense_texts(catalog: ShopCatalog) -> list[str]:
    return [dense_text(catalog, i) for i in range(len(catalog))]


def document_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()
