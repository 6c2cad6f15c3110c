"""The NLU lexicon: taxonomy, hand-written slot words and gazetteers.

Sources, all loaded from package resources or the database (never the network):

* ``resources/taxonomy.json`` (the binding contract's food words),
* ``resources/nlu/lexicon.json`` (spelling variants, slang, slot words),
* Seoul 구/동/landmarks from :mod:`naviyam.core.geo` (plus the small extra
  lists of lexicon.json),
* shop-name parts from ``resources/world/shop_names.json`` (the sample world's),
* shop names from the ``shop`` table when an engine is given (otherwise the
  fallback list).

The lexicon is plain data; it can be saved with a trained model
(:meth:`Lexicon.to_dict`) so the model is loaded with the gazetteer it was
trained on.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from naviyam.core import geo
from naviyam.core.taxonomy import read_resource, taxonomy
from naviyam.db.models import Shop
from naviyam.db.session import session_scope

log = logging.getLogger(__name__)

#: Entity labels used by the tagger (BIO over characters) and their contract meaning.
LABELS = (
    "CAT", "DISH", "BUDGET", "COMP", "PARTY", "TIME", "DIET", "PAY", "GOOD",
    "DIST", "DONG", "LMK", "NEAR", "OPEN", "SORT", "SHOP",
)

#: Contract entity names for tagger labels.
ENTITY_NAMES = {
    "CAT": "category", "DISH": "menu", "BUDGET": "budget", "COMP": "companion", "PARTY": "party_size",
    "TIME": "time_of_day", "DIET": "dietary", "PAY": "payment_method", "GOOD": "good_shop",
    "DIST": "district", "DONG": "dong", "LMK": "landmark", "NEAR": "near", "OPEN": "open_now",
    "SORT": "sort", "SHOP": "shop_name",
}


#: The taxonomy loader has one owner, :mod:`naviyam.core.taxonomy`.
load_taxonomy = taxonomy


@lru_cache
def load_lexicon_data() -> dict[str, Any]:
    return read_resource("nlu", "lexicon.json")


def _geo_gazetteers() -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(dong, district) pairs, with the colloquial 동 names people use, and landmarks of the Seoul gazetteer."""
    dongs = [(str(d), str(g)) for d, g in geo.all_dongs()]
    for alias, covered in geo.dong_aliases().items():  # "봉천동" for the administrative 봉천n동
        if covered:
            dongs.append((str(alias), str(covered[0].district)))
    lms = []
    for lm in geo.all_landmarks():
        for name in (lm.name, *(lm.aliases or ())):
            lms.append({"name": str(name), "kind": lm.kind, "dong": lm.dong})
    return dongs, [x for x in lms if x["name"]]


def _sample_world_name_parts() -> tuple[list[str], list[str], list[str]]:
    """(prefixes, suffixes, whole names) shops are named with (``resources/world/shop_names.json``)."""
    parts = read_resource("world", "shop_names.json")
    pre = list(parts["name_prefixes"])
    for v in parts["style_prefixes"].values():
        pre += list(v)
    for v in parts["famous_dish_places"].values():
        pre += list(v)
    suf = [x for v in parts["name_suffixes"].values() for x in v]
    suf += list(parts["nameable_dishes"])
    names = [x for v in parts["style_names"].values() for x in v]
    names += [x for b in parts["brands"].values() for x in b["names"]]
    return pre, suf, names


def shop_names_from_db(engine: Any, limit: int = 20000) -> list[str]:
    """Distinct shop names of the database (may be empty)."""
    if engine is None:
        return []
    try:
        with session_scope(engine) as s:
            names = s.scalars(select(Shop.name).distinct().limit(limit)).all()
        return sorted({n.strip() for n in names if n and n.strip()})
    except Exception as e:  # noqa: BLE001
        log.warning("could not read shop names from the database: %s", e)
        return []


@dataclass
class Lexicon:
    """All word lists of the NLU, as plain data."""

    categories: dict[str, dict[str, list[str]]]
    dish_category: dict[str, str]
    phrases: dict[str, dict[str, str]]  # label -> surface -> canonical value
    districts: list[str]
    dongs: dict[str, str]  # dong -> district
    landmarks: list[str]
    landmark_suffixes: list[str]
    landmark_prefixes: list[str]
    shop_names: list[str]
    shop_prefixes: list[str]
    shop_suffixes: list[str]
    negation: list[str]
    reset: list[str]
    decoys: list[str]
    meal_card_names: list[str]
    good_shop_words: list[str]
    sources: dict[str, str] = field(default_factory=dict)

    # ---- construction -------------------------------------------------
    @classmethod
    def build(cls, engine: Any = None, shop_names: list[str] | None = None) -> Lexicon:
        tax = load_taxonomy()
        lex = load_lexicon_data()
        categories = {c: {"aliases": list(v["aliases"]), "dishes": list(v["dishes"])}
                      for c, v in tax["categories"].items()}
        dish_category = {d: c for c, v in categories.items() for d in v["dishes"]}
        phrases = _phrases(tax, lex, categories, dish_category)
        dong_pairs, lms = _geo_gazetteers()
        dong_pairs = list(dong_pairs) + [tuple(x) for x in lex["dongs_fallback"]]
        landmarks = sorted({x["name"] for x in lms} | set(lex["landmarks_fallback"]))
        sources = {"geo": "naviyam.core.geo"}
        if not dong_pairs:
            dong_pairs = [tuple(x) for x in lex["dongs_fallback"]]
        dongs: dict[str, str] = {}
        for d, g in dong_pairs:
            dongs.setdefault(d, g)
        shop_names, shop_prefixes, shop_suffixes = _shop_words(engine, shop_names, lex, sources)
        return cls(
            categories=categories, dish_category=dish_category, phrases=phrases,
            districts=list(tax["districts_seoul"]), dongs=dongs, landmarks=landmarks,
            landmark_suffixes=list(lex["landmark_suffixes"]), landmark_prefixes=list(lex["landmark_prefixes"]),
            shop_names=sorted(set(shop_names)), shop_prefixes=shop_prefixes,
            shop_suffixes=shop_suffixes, negation=list(lex["negation"]), reset=list(lex["reset"]),
            decoys=list(lex["decoys"]), meal_card_names=list(tax["meal_card_names"]),
            good_shop_words=list(tax["good_shop_words"]), sources=sources,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Lexicon:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    # ---- lookups ------------------------------------------------------
    def category_of_dish(self, dish: str) -> str | None:
        return self.dish_category.get(dish)

    @property
    def all_categories(self) -> list[str]:
        return list(self.categories)


_WS = re.compile(r"\s+")


def compact(s: str) -> str:
    return _WS.sub("", s)


def _phrases(tax: dict[str, Any], lex: dict[str, Any], categories: dict[str, dict[str, list[str]]],
             dish_category: dict[str, str]) -> dict[str, dict[str, str]]:
    """Label -> surface -> canonical value, from the taxonomy and the lexicon resource."""
    phrases: dict[str, dict[str, str]] = {lab: {} for lab in ("CAT", "DISH", "COMP", "TIME", "DIET", "PAY",
                                                               "GOOD", "OPEN", "SORT", "NEAR")}
    for c, v in categories.items():
        for a in v["aliases"]:
            phrases["CAT"][a] = c
        phrases["CAT"][c] = c
        for d in v["dishes"]:
            phrases["DISH"][d] = d
    for c, words in lex["category_aliases"].items():
        for w in words:
            phrases["CAT"].setdefault(w, c)
    for d, words in lex["dish_variants"].items():
        if d not in dish_category:
            raise ValueError(f"lexicon dish {d!r} is not in taxonomy.json")
        for w in words:
            phrases["DISH"].setdefault(w, d)
    for key, label in (("companion", "COMP"), ("time_of_day", "TIME"), ("dietary", "DIET"),
                       ("sort", "SORT"), ("near", "NEAR")):
        for value, words in lex[key].items():
            for w in words:
                phrases[label].setdefault(w, value)
    for n in tax["meal_card_names"]:
        phrases["PAY"][n] = "meal_card"
    for value, words in lex["payment"].items():
        for w in words:
            phrases["PAY"].setdefault(w, value)
    for w in list(tax["good_shop_words"]) + list(lex["good_shop"]):
        phrases["GOOD"][w] = "true"
    for w in lex["open_now"]:
        phrases["OPEN"][w] = "true"
    return phrases


def _shop_words(engine: Any, shop_names: list[str] | None, lex: dict[str, Any],
                sources: dict[str, str]) -> tuple[list[str], list[str], list[str]]:
    """(shop names, name prefixes, name suffixes): the database's names (or the given ones, or the fallback
    list with the sample world's), and the sample world's name parts; ``sources`` says where they came from."""
    if shop_names is None:
        shop_names = shop_names_from_db(engine)
        sources["shops"] = "database" if shop_names else "fallback"
    else:
        sources["shops"] = "given"
    if not shop_names:
        shop_names = list(lex["shop_names_fallback"])
    shop_prefixes, shop_suffixes = list(lex["shop_prefixes"]), list(lex["shop_suffixes"])
    pre, suf, names = _sample_world_name_parts()
    shop_prefixes = sorted(set(shop_prefixes) | set(pre))
    shop_suffixes = sorted(set(shop_suffixes) | set(suf))
    if sources.get("shops") != "database":
        shop_names = list(shop_names) + names
    sources["shop_name_parts"] = "resources/world/shop_names.json"
    return shop_names, shop_prefixes, shop_suffixes
