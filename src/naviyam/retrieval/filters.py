"""Hard filters as a boolean mask over catalog rows, and their relaxation.

The NLU contract's ``filters`` become a :class:`FilterSpec`; :func:`apply_filters`
computes which shops satisfy every filter. When fewer than ``min_results``
shops remain, filters are relaxed one step at a time in :data:`RELAXATION_ORDER`
until enough remain; every step taken is reported with a Korean sentence the
answer can show the user.

What each filter means (the property tests check exactly this):

- ``category``: the shop's category, or — when a ``menu`` is also asked — a shop
  that serves that dish whatever its category (the NLU derives the category
  from the dish).
- ``menu``: the shop has a menu whose canonical dish is it (else a menu name
  containing the word).
- ``budget_filter``: at least one real menu (price > 0) costs at most the budget.
- ``payment_method=meal_card``: the shop accepts the meal card. ``coupon`` is
  not a shop attribute in the data and filters nothing.
- ``good_shop``: the shop is a 착한가게.
- ``location_filter``: ``district`` matches the shop's; ``dong`` matches the
  shop's administrative 동 or one its colloquial name covers ("사당동" →
  사당1동 … 사당5동); ``landmark`` and ``near`` (school, home, current) keep
  shops within a radius of the place (1 km; the home 동 1.5 km).
- ``open_now``: open at the request time (after-midnight hours and closed
  days included, see :meth:`ShopCatalog.open_at`).
- ``exclude_categories``: the shop's category is not one of them.
- ``exclude_menus``: the shop's main dish (its signature menus, or all its
  menus when none is marked) is not one of them. A 분식집 whose signature is
  김밥 stays when the user says "떡볶이 말고".

Service rules (filter keys the service adds, never the NLU; see
:data:`SERVICE_KEYS`), none of them ever relaxed:

- ``_allow_alcohol``: unless it is true, shops whose main business is
  alcohol (호프, 포차, 이자카야 …) are left out. The service sets it only for
  users known to be adults, so an unknown age counts as a minor and a list is
  never short because an alcohol shop was dropped after ranking.
- ``_exclude_shop_ids``: shops already shown in this conversation ("다른 데는?").
- ``_cheaper_than``: the shop's cheapest main dish costs less than this
  ("더 싼 데는?").
- ``_closer_than``: the shop is nearer than this many metres to the point
  distances are measured from (the asked place, else the current location,
  else home: the same origin as the engine's ``distance_m``) ("더 가까운 곳은?").

Relaxation order (first relaxed first); payment_method, exclude_categories and
exclude_menus are never relaxed: a child cannot pay with a card the shop
refuses, and a dislike is never overridden.

1. ``good_shop`` dropped
2. ``location_filter`` radius doubled (landmark / near: 1 km → 2 km)
3. ``menu`` dropped (its category stays)
4. ``location_filter.dong`` widened to its 구
5. ``location_filter`` radius doubled again (→ 4 km)
6. ``category`` dropped
7. ``open_now`` dropped
8. ``location_filter`` dropped (district, landmark and near)
9. ``budget_filter`` dropped
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from naviyam.core.clock import local_now
from naviyam.core.text import particle
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.location import Place, dong_names

#: Relaxation starts when fewer shops than this satisfy the filters.
DEFAULT_MIN_RESULTS = 5
#: Filter keys never relaxed.
NEVER_RELAXED = ("payment_method", "exclude_categories", "exclude_menus")
#: Filter keys the service adds (never the NLU, never relaxed, never shown as filters).
SERVICE_KEYS = ("_allow_alcohol", "_exclude_shop_ids", "_cheaper_than", "_closer_than")


def _obj(word: str) -> str:
    """``word`` with the object particle 을/를."""
    return word + particle(word, "을", "를", otherwise="를")


@dataclass(frozen=True)
class FilterSpec:
    """The hard filters of one request, with places already resolved to coordinates."""

    category: str | None = None
    menu: str | None = None
    budget: int | None = None
    meal_card: bool = False
    good_shop: bool = False
    district: str | None = None
    dong: str | None = None
    #: the administrative 동 the ``dong`` word covers ("사당동" → 사당1동 … 사당5동)
    dong_names: tuple[str, ...] = ()
    #: a landmark or near-point with its radius
    place: Place | None = None
    #: which location key the place came from: "location_filter.landmark" or "location_filter.near"
    place_key: str | None = None
    open_now: bool = False
    now: dt.datetime | None = None
    exclude_categories: tuple[str, ...] = ()
    exclude_menus: tuple[str, ...] = ()
    #: alcohol shops are left out unless this is true (only for users known to be adults)
    allow_alcohol: bool = False
    exclude_shop_ids: tuple[int, ...] = ()
    #: the cheapest main dish must cost less than this
    cheaper_than: int | None = None
    #: (lat, lon, metres): the shop must be nearer than that to the point
    closer_than: tuple[float, float, float] | None = None

    def active_keys(self) -> list[str]:
        keys = []
        for k, v in (("category", self.category), ("menu", self.menu), ("budget_filter", self.budget),
                     ("payment_method", self.meal_card), ("good_shop", self.good_shop),
                     ("location_filter.district", self.district), ("location_filter.dong", self.dong),
                     (self.place_key, self.place), ("open_now", self.open_now),
                     ("exclude_categories", self.exclude_categories), ("exclude_menus", self.exclude_menus)):
            if v:
                keys.append(k)
        return keys


@dataclass(frozen=True)
class Relaxation:
    #: the filter key, dotted for location sub-keys ("location_filter.dong")
    key: str
    #: "dropped", "widened", or "unresolved" (a place that could not be found)
    action: str
    #: one Korean sentence for the user
    message: str


@dataclass
class FilterResult:
    mask: np.ndarray
    #: the filters finally applied (after relaxation)
    spec: FilterSpec
    relaxations: list[Relaxation] = field(default_factory=list)

    @property
    def relaxed_keys(self) -> list[str]:
        return list(dict.fromkeys(r.key for r in self.relaxations))

    @property
    def count(self) -> int:
        return int(self.mask.sum())


def filter_mask(catalog: ShopCatalog, spec: FilterSpec) -> np.ndarray:
    """Rows that satisfy every filter in ``spec``."""
    n = len(catalog)
    m = np.ones(n, dtype=bool)
    menu_mask = catalog.dish_mask(spec.menu) if spec.menu else None
    if spec.category:
        cat = catalog.value_mask("category", spec.category)
        m &= cat | menu_mask if menu_mask is not None else cat
    if menu_mask is not None:
        m &= menu_mask
    if spec.budget is not None:
        m &= catalog.min_price <= spec.budget
    if spec.meal_card:
        m &= catalog.accepts_meal_card
    if spec.good_shop:
        m &= catalog.is_good_shop
    if spec.district:
        m &= catalog.value_mask("district", spec.district)
    if spec.dong:
        m &= catalog.values_mask("dong", spec.dong_names or (spec.dong,))
    if spec.place is not None:
        m &= catalog.distances_m(spec.place.lat, spec.place.lon) <= spec.place.radius_m
    if spec.open_now:
        m &= catalog.open_at(spec.now or local_now())
    if spec.exclude_categories:
        m &= ~catalog.values_mask("category", spec.exclude_categories)
    for dish in spec.exclude_menus:
        m &= ~catalog.main_dish_mask(dish)
    if not spec.allow_alcohol:
        m &= ~catalog.alcohol_mask()
    if spec.exclude_shop_ids:
        m &= ~np.isin(catalog.ids, np.asarray(spec.exclude_shop_ids, dtype=np.int64))
    if spec.cheaper_than is not None:
        m &= catalog.min_price < spec.cheaper_than
    if spec.closer_than is not None:
        lat, lon, metres = spec.closer_than
        m &= catalog.distances_m(lat, lon) < metres
    return m


# --------------------------------------------------------------------------- relaxation steps

#: A step returns the relaxed spec and what it relaxed (one Relaxation or several), or None when it does not apply.
Step = Callable[[FilterSpec, ShopCatalog], "tuple[FilterSpec, Relaxation | list[Relaxation]] | None"]


def _drop_good_shop(s: FilterSpec, _c: ShopCatalog):
    if not s.good_shop:
        return None
    return dataclasses.replace(s, good_shop=False), Relaxation(
        "good_shop", "dropped", "착한가게만으로는 맞는 곳이 적어서 다른 가게도 함께 찾았어요.")


def _widen_radius(max_radius: float) -> Step:
    def step(s: FilterSpec, _c: ShopCatalog):
        if s.place is None or s.place.radius_m >= max_radius:
            return None
        place = dataclasses.replace(s.place, radius_m=min(s.place.radius_m * 2, max_radius))
        km = f"{place.radius_m / 1000:g}"
        return dataclasses.replace(s, place=place), Relaxation(
            s.place_key or "location_filter", "widened",
            f"{s.place.label} 가까이에 맞는 가게가 적어서 {km}km 안까지 넓혀서 찾았어요.")
    return step


def _drop_menu(s: FilterSpec, _c: ShopCatalog):
    if not s.menu:
        return None
    tail = f"다른 {s.category} 메뉴도 함께 찾았어요." if s.category else "다른 메뉴도 함께 찾았어요."
    return dataclasses.replace(s, menu=None), Relaxation(
        "menu", "dropped", f"{_obj(s.menu)} 파는 가게가 적어서 {tail}")


def _widen_dong(s: FilterSpec, c: ShopCatalog):
    if not s.dong:
        return None
    district = s.district
    if district is None:
        rows = np.flatnonzero(np.isin(c.dong_array, list(s.dong_names or (s.dong,))))
        found = {c.districts[r] for r in rows}
        district = found.pop() if len(found) == 1 else None
    where = f"{district} 전체에서" if district else "더 넓은 곳에서"
    return dataclasses.replace(s, dong=None, dong_names=(), district=district), Relaxation(
        "location_filter.dong", "widened", f"{s.dong}에는 맞는 가게가 적어서 {where} 찾았어요.")


def _drop_category(s: FilterSpec, _c: ShopCatalog):
    if not s.category:
        return None
    return dataclasses.replace(s, category=None, menu=None), Relaxation(
        "category", "dropped", f"{s.category} 가게가 적어서 다른 종류의 가게도 함께 찾았어요.")


def _drop_open_now(s: FilterSpec, _c: ShopCatalog):
    if not s.open_now:
        return None
    return dataclasses.replace(s, open_now=False), Relaxation(
        "open_now", "dropped", "지금 문을 연 가게가 적어서 지금은 닫았을 수도 있는 가게도 넣었어요. 가기 전에 영업시간을 꼭 확인해요.")


def _drop_location(s: FilterSpec, _c: ShopCatalog):
    keys = [k for k, v in (("location_filter.district", s.district), ("location_filter.dong", s.dong),
                           (s.place_key, s.place)) if v]
    if not keys:
        return None
    message = "근처에는 맞는 가게가 적어서 조금 먼 곳까지 찾아봤어요."
    # one entry per dropped sub-key; the sentence is said once
    return dataclasses.replace(s, district=None, dong=None, dong_names=(), place=None, place_key=None), [
        Relaxation(k, "dropped", message if i == 0 else "") for i, k in enumerate(keys)]


def _drop_budget(s: FilterSpec, _c: ShopCatalog):
    if s.budget is None:
        return None
    return dataclasses.replace(s, budget=None), Relaxation(
        "budget_filter", "dropped", f"{s.budget:,}원 안에서 먹을 수 있는 가게가 적어서 조금 더 비싼 가게도 넣었어요.")


#: The documented order (see the module docstring). Radii: 1 km → 2 km → 4 km.
RELAXATION_ORDER: tuple[tuple[str, Step], ...] = (
    ("good_shop", _drop_good_shop),
    ("location_filter.radius", _widen_radius(2_000.0)),
    ("menu", _drop_menu),
    ("location_filter.dong", _widen_dong),
    ("location_filter.radius", _widen_radius(4_000.0)),
    ("category", _drop_category),
    ("open_now", _drop_open_now),
    ("location_filter", _drop_location),
    ("budget_filter", _drop_budget),
)


def apply_filters(
    catalog: ShopCatalog, spec: FilterSpec, min_results: int = DEFAULT_MIN_RESULTS,
    notes: list[Relaxation] | None = None,
) -> FilterResult:
    """The rows allowed by ``spec``, relaxed in :data:`RELAXATION_ORDER` while fewer than ``min_results`` remain.

    ``notes`` (e.g. a landmark that could not be located) are reported first.
    """
    relaxations = list(notes or [])
    mask = filter_mask(catalog, spec)
    for _name, step in RELAXATION_ORDER:
        if mask.sum() >= min_results:
            break
        out = step(spec, catalog)
        if out is None:
            continue
        spec, relaxed = out
        relaxations.extend(relaxed if isinstance(relaxed, list) else [relaxed])
        mask = filter_mask(catalog, spec)
    return FilterResult(mask, spec, relaxations)


def build_spec(
    filters: dict,
    resolver,
    *,
    now: dt.datetime,
    lat: float | None = None,
    lon: float | None = None,
    home: Place | None = None,
) -> tuple[FilterSpec, list[Relaxation]]:
    """The NLU contract's ``filters`` as a :class:`FilterSpec` with places resolved.

    ``resolver`` is a :class:`naviyam.retrieval.location.LocationResolver`;
    ``home`` the user's home area (None for unknown users). Places that cannot
    be located are left out and reported as ``unresolved`` notes.
    """
    notes: list[Relaxation] = []
    loc = filters.get("location_filter") or {}
    place, place_key = _place(loc, resolver, lat, lon, home, notes)
    budget = filters.get("budget_filter")
    closer_than = None
    if filters.get("_closer_than") is not None:
        # Distances are measured from the asked place, else the current location, else home (as Layer 1 does).
        origin = place or (Place(lat, lon, 1_000.0, "현재 위치") if lat is not None and lon is not None else home)
        if origin is not None:
            closer_than = (float(origin.lat), float(origin.lon), float(filters["_closer_than"]))
    spec = FilterSpec(
        category=filters.get("category"),
        menu=filters.get("menu"),
        budget=int(budget) if budget is not None else None,
        meal_card=filters.get("payment_method") == "meal_card",
        good_shop=bool(filters.get("good_shop")),
        district=loc.get("district"),
        dong=loc.get("dong"),
        dong_names=dong_names(loc["dong"]) if loc.get("dong") else (),
        place=place,
        place_key=place_key if place is not None else None,
        open_now=bool(filters.get("open_now")),
        now=now,
        exclude_categories=tuple(filters.get("exclude_categories") or ()),
        exclude_menus=tuple(filters.get("exclude_menus") or ()),
        allow_alcohol=filters.get("_allow_alcohol") is True,
        exclude_shop_ids=tuple(int(s) for s in filters.get("_exclude_shop_ids") or ()),
        cheaper_than=int(filters["_cheaper_than"]) if filters.get("_cheaper_than") is not None else None,
        closer_than=closer_than,
    )
    return spec, notes


def _place(loc: dict, resolver, lat: float | None, lon: float | None, home: Place | None,
           notes: list[Relaxation]) -> tuple[Place | None, str | None]:
    """(place, its filter key) of a landmark or a "near" word; what could not be located is told in ``notes``."""
    place, place_key = None, None
    if loc.get("landmark"):
        place, place_key = resolver.landmark(loc["landmark"]), "location_filter.landmark"
        if place is None:
            notes.append(Relaxation("location_filter.landmark", "unresolved",
                                    f"'{loc['landmark']}' 위치를 찾지 못해서 장소 조건 없이 찾았어요."))
    elif loc.get("near"):
        near, place_key = loc["near"], "location_filter.near"
        current = Place(lat, lon, 1_000.0, "현재 위치") if lat is not None and lon is not None else None
        if near == "current":
            place = current or (dataclasses.replace(home, label="집") if home else None)
            if current is None and place is not None:
                notes.append(Relaxation(place_key, "unresolved", "지금 위치를 알 수 없어서 집 근처에서 찾았어요."))
        elif near == "home":
            place = home or current
            if home is None and place is not None:
                notes.append(Relaxation(place_key, "unresolved", "집 위치를 몰라서 지금 있는 곳 근처에서 찾았어요."))
        elif near == "school":
            place = resolver.school(home) or current
            if home is None and place is not None:
                notes.append(Relaxation(place_key, "unresolved", "학교 위치를 몰라서 지금 있는 곳 근처에서 찾았어요."))
        if place is None:
            notes.append(Relaxation(place_key, "unresolved", "어디 근처인지 알 수 없어서 장소 조건 없이 찾았어요."))
    return place, place_key
