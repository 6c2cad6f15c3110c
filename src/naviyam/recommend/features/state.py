"""What features read of the past: the interaction state as of a moment, replayed from the events."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, func, select

from naviyam.core.clock import to_local
from naviyam.core.privacy import training_exclusions
from naviyam.db.models import FeedbackEvent, ProductOrder, Review, UserFavorite
from naviyam.recommend.features.definitions import (
    FEEDBACK_SIGNAL_WEIGHTS,
    GOOD_REVIEW_RATING,
    UserInfo,
    age_at,
    age_group,
    time_bucket,
)
from naviyam.recommend.interactions import load_users
from naviyam.retrieval.catalog import ShopCatalog

log = logging.getLogger(__name__)
#: Versions of the shops' figures (:attr:`InteractionState.shop_figures_version`), unique in the process.
_FIGURE_VERSIONS = itertools.count(1)


class InteractionState:
    """Counts of orders, favourites and reviews as of some moment, updated event by event.

    Build it empty and :meth:`apply_order` / :meth:`apply_favorite` /
    :meth:`apply_review` in time order (the training-set builder does this so
    that every example only sees its past), or :meth:`load` everything up to
    now for serving.
    """

    def __init__(self, users: Mapping[int, UserInfo], shop_categories: Mapping[int, str],
                 shop_districts: Mapping[int, str]):
        self.users = dict(users)
        self._shop_cat = dict(shop_categories)
        self._shop_district = dict(shop_districts)
        self.user_shop_orders: Counter[tuple[int, int]] = Counter()
        self.favourites: set[tuple[int, int]] = set()
        self.user_orders: Counter[int] = Counter()
        self.user_amount_sum: Counter[int] = Counter()
        self.user_favs: Counter[int] = Counter()
        self.user_reviews: Counter[int] = Counter()
        self.user_district_orders: dict[int, Counter[str]] = defaultdict(Counter)
        self.shop_orders: Counter[int] = Counter()
        self.shop_reviews: Counter[int] = Counter()
        self.shop_rating_sum: Counter[int] = Counter()
        self.age_cat: dict[str, Counter[str]] = defaultdict(Counter)
        self.time_cat: dict[str, Counter[str]] = defaultdict(Counter)
        self.user_cat: dict[int, Counter[str]] = defaultdict(Counter)
        #: the shops each user chose (orders, favourites, reviews >= 4), as of the last event applied
        self.user_history: dict[int, set[int]] = defaultdict(set)
        self._max_cache: dict[tuple[str, str], int] = {}
        #: order times, in the order applied (events are applied in time order): all, and per shop
        self.order_times: list[dt.datetime] = []
        self.shop_order_times: dict[int, list[dt.datetime]] = defaultdict(list)
        #: the shop of each of ``order_times`` (what :meth:`recent_orders_windows` counts per shop at once)
        self.order_shops: list[int] = []
        self._order_slots: _OrderSlots | None = None
        self._order_slots_seen = -1  # len(order_times) at the last read: two reads at one length build the slots
        self._order_slots_unsorted = -1  # len(order_times) when they were found out of time order
        #: the user's own chat feedback (:data:`FEEDBACK_SIGNAL_WEIGHTS`): per (user, shop) and per user and category
        self.user_shop_feedback: Counter[tuple[int, int]] = Counter()
        self.user_feedback_cat: dict[int, Counter[str]] = defaultdict(Counter)
        self.user_shop_dismissed: Counter[tuple[int, int]] = Counter()
        #: the newest event id of each kind applied (what :meth:`Runtime.refresh` compares to the database's)
        self.marks: dict[str, int] = {}
        #: renewed at every change to the shops' own figures (orders, reviews), never the same in two states of a
        #: process: what a reader's copy of them is as of
        self.shop_figures_version = next(_FIGURE_VERSIONS)

    # ------------------------------------------------------------------ updates
    # ``population=False`` counts an event for its own user only, not in the shops' and groups' figures
    # every other request sees: what serving does with the events no training may read (see :meth:`load`).
    def apply_order(self, user_id: int, shop_id: int, amount: float, when: dt.datetime, *,
                    population: bool = True) -> None:
        self.user_shop_orders[(user_id, shop_id)] += 1
        self.user_history[user_id].add(shop_id)
        self.user_orders[user_id] += 1
        self.user_amount_sum[user_id] += float(amount or 0)
        if population:
            self.shop_orders[shop_id] += 1
            self.shop_figures_version = next(_FIGURE_VERSIONS)
            if when is not None:
                self.order_times.append(when)
                self.shop_order_times[shop_id].append(when)
                self.order_shops.append(shop_id)
        district = self._shop_district.get(shop_id)
        if district:
            self.user_district_orders[user_id][district] += 1
        cat = self._shop_cat.get(shop_id)
        if cat:
            self.user_cat[user_id][cat] += 1
            if population:
                u = self.users.get(user_id)
                g = age_group(age_at(u.birthday, when) if u else None)
                self.age_cat[g][cat] += 1
                self.time_cat[time_bucket(when)][cat] += 1
                self._max_cache.pop(("age", g), None)
                self._max_cache.pop(("time", time_bucket(when)), None)

    def apply_favorite(self, user_id: int, shop_id: int, when: dt.datetime | None = None) -> None:
        self.user_history[user_id].add(shop_id)
        if (user_id, shop_id) not in self.favourites:
            self.favourites.add((user_id, shop_id))
            self.user_favs[user_id] += 1

    def apply_review(self, user_id: int, shop_id: int, rating: float, when: dt.datetime | None = None, *,
                     population: bool = True) -> None:
        self.user_reviews[user_id] += 1
        if rating >= GOOD_REVIEW_RATING:
            self.user_history[user_id].add(shop_id)
        if population:
            self.shop_reviews[shop_id] += 1
            self.shop_rating_sum[shop_id] += float(rating)
            self.shop_figures_version = next(_FIGURE_VERSIONS)

    def apply_feedback(self, user_id: int, shop_id: int, feedback_type: str,
                       when: dt.datetime | None = None) -> None:
        """The user's own feedback on a shown shop (chat clicks, orders, favourites, dismissals).

        It counts for that user only, never in the shops' and groups' figures: a clicked, ordered or
        favourited shop joins the user's history with its weight, a dismissal is counted apart."""
        if feedback_type == "dismissed":
            self.user_shop_dismissed[(user_id, shop_id)] += 1
            return
        weight = FEEDBACK_SIGNAL_WEIGHTS.get(feedback_type)
        if not weight:
            return
        self.user_shop_feedback[(user_id, shop_id)] += weight
        self.user_history[user_id].add(shop_id)
        cat = self._shop_cat.get(shop_id)
        if cat:
            self.user_feedback_cat[user_id][cat] += weight

    def add_shops(self, catalog: ShopCatalog) -> None:
        """Know the category and district of shops added to the catalog since the state was built."""
        for s, c, d in zip(catalog.ids, catalog.categories, catalog.districts, strict=True):
            self._shop_cat.setdefault(int(s), c)
            self._shop_district.setdefault(int(s), d)

    # ------------------------------------------------------------------ reads
    def recent_orders(self, shop_ids: Sequence[int], when: dt.datetime, days: float) -> tuple[np.ndarray, int]:
        """Orders of each shop, and of all shops, in the ``days`` before ``when``."""
        return self.recent_orders_windows(shop_ids, when, (days,))[0]

    def recent_orders_windows(self, shop_ids: Sequence[int], when: dt.datetime,
                              windows: Sequence[float]) -> list[tuple[np.ndarray, int]]:
        """:meth:`recent_orders` for several windows (days) ending at ``when``: each shop's order times are
        searched once for ``when``, then for each window's start below it."""
        starts = [when - dt.timedelta(days=d) for d in windows]
        slots = self._slots()
        if slots is not None:
            return slots.windows(self.order_times, shop_ids, when, starts)
        times_of, left = self.shop_order_times.get, bisect.bisect_left
        ids = shop_ids.tolist() if isinstance(shop_ids, np.ndarray) else [int(s) for s in shop_ids]
        times = [times_of(s) for s in ids]
        ends = [left(t, when) if t else 0 for t in times]
        end = left(self.order_times, when)
        return [(np.array([e - left(t, since, 0, e) if e else 0 for t, e in zip(times, ends, strict=True)],
                          dtype=np.float64), end - left(self.order_times, since, 0, end)) for since in starts]

    def _slots(self) -> _OrderSlots | None:
        """The orders' shops as an array, once the orders stop changing: built at the second read that finds as
        many orders as the one before (a server's state: its first two requests), never while a training-set
        builder applies orders between its reads (there the per-shop search stays), nor for orders applied out
        of time order."""
        n = len(self.order_times)
        if self._order_slots is not None and self._order_slots.n == n:
            return self._order_slots
        if n == self._order_slots_unsorted:
            return None
        if n != self._order_slots_seen:
            self._order_slots_seen = n
            return None
        times = self.order_times
        if any(times[i] > times[i + 1] for i in range(n - 1)):
            self._order_slots_unsorted = n  # not looked at again until another order arrives
            return None
        self._order_slots = _OrderSlots.build(self.order_shops[:n])
        return self._order_slots

    def days_since_last_order(self, shop_ids: Sequence[int], when: dt.datetime) -> np.ndarray:
        """Days from each shop's last order before ``when`` (inf without one)."""
        out = np.full(len(shop_ids), np.inf)
        slots = self._slots()
        if slots is not None:
            found, k = slots.last_before(shop_ids, bisect.bisect_left(self.order_times, when))
            if len(k):
                # whole microseconds, as timedelta.total_seconds() divides them: the same days to the last bit
                micros = slots.micros(self.order_times)
                out[found] = np.maximum(0.0, (_micros(when) - micros[k]) / 1e6 / 86400)
            return out
        ids = shop_ids.tolist() if isinstance(shop_ids, np.ndarray) else [int(s) for s in shop_ids]
        for i, s in enumerate(ids):
            times = self.shop_order_times.get(s)
            if times:
                j = bisect.bisect_left(times, when)
                if j:
                    out[i] = max(0.0, (when - times[j - 1]).total_seconds() / 86400)
        return out

    def shop_rating(self, shop_id: int) -> float | None:
        n = self.shop_reviews.get(shop_id, 0)
        return self.shop_rating_sum[shop_id] / n if n else None

    def user_mean_amount(self, user_id: int | None) -> float | None:
        if user_id is None or not self.user_orders.get(user_id):
            return None
        return self.user_amount_sum[user_id] / self.user_orders[user_id]

    def cross(self, table: str, key: str, category: str) -> float:
        """(n[key, category] + 1) / (max_c n[key, c] + 1) for table 'age' or 'time'."""
        counts = (self.age_cat if table == "age" else self.time_cat).get(key)
        if not counts:
            return 1.0
        top = self._max_cache.get((table, key))
        if top is None:
            top = max(counts.values())
            self._max_cache[(table, key)] = top
        return (counts.get(category, 0) + 1.0) / (top + 1.0)

    # ------------------------------------------------------------------ loading
    @staticmethod
    def load_users(engine: Engine) -> dict[int, UserInfo]:
        return {u.id: UserInfo(u.id, u.birthday, u.district, u.dong, u.is_meal_card_holder) for u in load_users(engine)}

    @classmethod
    def empty(cls, users: Mapping[int, UserInfo], catalog: ShopCatalog) -> InteractionState:
        cats = {int(s): c for s, c in zip(catalog.ids, catalog.categories, strict=True)}
        dists = {int(s): d for s, d in zip(catalog.ids, catalog.districts, strict=True)}
        return cls(users, cats, dists)

    @classmethod
    def load(cls, engine: Engine, catalog: ShopCatalog, until: dt.datetime | None = None) -> InteractionState:
        """Every event (before ``until`` when given) applied in time order: the serving state.

        Chat feedback (:meth:`apply_feedback`) is part of it; :attr:`marks` records the newest event of
        each kind, so that a running service can tell when the database has moved on (:func:`event_marks`).
        The events of users no training may read (children without a guardian's consent, erased users)
        count for those users' own history only, not in the shops' and groups' figures: what every other
        request sees is then exactly what the training sets were built with.
        """
        state = cls.empty(cls.load_users(engine), catalog)
        state.marks = event_marks(engine)  # before reading: an event arriving meanwhile is seen next time
        excluded = training_exclusions(engine)
        for ev in load_events(engine, until=until, feedback=True):
            state.apply(ev, population=ev.user_id not in excluded)
        return state

    def apply(self, ev: Event, *, population: bool = True) -> None:
        if ev.kind == "order":
            self.apply_order(ev.user_id, ev.shop_id, ev.amount, ev.when, population=population)
        elif ev.kind == "favorite":
            self.apply_favorite(ev.user_id, ev.shop_id, ev.when)
        elif ev.kind == "review":
            self.apply_review(ev.user_id, ev.shop_id, ev.rating, ev.when, population=population)
        elif ev.kind == "feedback" and ev.feedback_type is not None:
            self.apply_feedback(ev.user_id, ev.shop_id, ev.feedback_type, ev.when)


#: Windows whose counts per shop a state keeps (two windows a request; the rest is cleared past this many).
WINDOW_MEMO = 8


def _micros(when: dt.datetime) -> int:
    """A (naive) time as whole microseconds since 1970, the unit of :meth:`_OrderSlots.micros`."""
    return int(np.datetime64(when, "us").astype(np.int64))


@dataclass(frozen=True)
class _OrderSlots:
    """The shop of every order (in the state's time order) as a dense slot, to count a list's orders in a window
    with one ``bincount`` over the window's orders instead of two searches in each shop's times."""

    n: int  # how many orders it covers
    shop_ids: np.ndarray  # sorted distinct shop ids; slot = position here
    slot_of_order: np.ndarray  # int64, one per order
    #: slot * (n + 1) + position of every order, sorted: each shop's orders in time order, shop after shop
    keys: np.ndarray

    #: the orders' times in microseconds (:meth:`micros`) and each window's counts per slot (:meth:`windows`),
    #: made at the first read that needs them
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, order_shops: list[int]) -> _OrderSlots:
        n = len(order_shops)
        ids, slots = np.unique(np.asarray(order_shops, dtype=np.int64), return_inverse=True)
        slots = slots.astype(np.int64).reshape(-1)
        return cls(n, ids, slots, np.sort(slots * (n + 1) + np.arange(n, dtype=np.int64)))

    def micros(self, order_times: list[dt.datetime]) -> np.ndarray:
        """The covered orders' times as whole microseconds (:func:`_micros`)."""
        micros = self._memo.get("micros")
        if micros is None:
            micros = self._memo["micros"] = np.array(order_times[:self.n], dtype="datetime64[us]").astype(np.int64)
        return micros

    def _per_slot(self, lo: int, end: int) -> np.ndarray:
        """The orders in positions ``[lo, end)`` counted per slot; the last few windows' counts are kept (a
        window moves only when an order enters or leaves it)."""
        key = ("window", lo, end)
        counts = self._memo.get(key)
        if counts is None:
            if len(self._memo) > WINDOW_MEMO:
                self._memo.clear()
            counts = np.bincount(self.slot_of_order[lo:end], minlength=len(self.shop_ids))
            counts.flags.writeable = False
            self._memo[key] = counts
        return counts

    def _positions(self, shop_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The slot of each shop, and whether it has one (a shop never ordered from has none)."""
        ids = np.asarray(shop_ids, dtype=np.int64).reshape(-1)
        n_shops = len(self.shop_ids)
        pos = np.minimum(np.searchsorted(self.shop_ids, ids), max(n_shops - 1, 0))
        known = self.shop_ids[pos] == ids if n_shops else np.zeros(len(ids), dtype=bool)
        return pos, known

    def last_before(self, shop_ids: Sequence[int], end: int) -> tuple[np.ndarray, np.ndarray]:
        """(i, k): for each ``shop_ids[i]`` with an order before position ``end``, the position ``k`` of its last."""
        pos, known = self._positions(shop_ids)
        if not len(self.keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        span = self.n + 1
        prev = np.searchsorted(self.keys, pos * span + end) - 1  # the last key below (slot, end)
        key = self.keys[np.maximum(prev, 0)]
        found = known & (prev >= 0) & (key // span == pos)
        return np.flatnonzero(found), key[found] % span

    def windows(self, order_times: list[dt.datetime], shop_ids: Sequence[int], when: dt.datetime,
                starts: list[dt.datetime]) -> list[tuple[np.ndarray, int]]:
        """What :meth:`InteractionState.recent_orders_windows` returns: the orders in ``[start, when)`` are one
        run of the time-ordered orders, counted per shop."""
        pos, known = self._positions(shop_ids)
        n_shops, n_ids = len(self.shop_ids), len(pos)
        left = bisect.bisect_left
        end = left(order_times, when, 0, self.n)
        out = []
        for since in starts:
            lo = left(order_times, since, 0, end)
            if n_shops:
                counts = np.where(known, self._per_slot(lo, end)[pos], 0).astype(np.float64)
            else:
                counts = np.zeros(n_ids, dtype=np.float64)
            out.append((counts, end - lo))
        return out


@dataclass(frozen=True)
class Event:
    kind: str  # order | favorite | review | feedback
    when: dt.datetime
    id: int
    user_id: int
    shop_id: int
    amount: float = 0.0
    rating: float = 0.0
    menu_id: int | None = None
    payment_method: str | None = None
    #: a feedback event's type (clicked, ordered, favorited, dismissed)
    feedback_type: str | None = None


_KIND_ORDER = {"order": 0, "favorite": 1, "review": 2, "feedback": 3}
#: The feedback types the features read (a rating is about the answer, not one shop).
FEATURE_FEEDBACK_TYPES = ("clicked", "ordered", "favorited", "dismissed")


def load_events(engine: Engine, until: dt.datetime | None = None, *, trainable_only: bool = False,
                feedback: bool = False) -> list[Event]:
    """Orders, favourites and reviews (and with ``feedback`` the users' chat feedback) sorted by (time, kind, id).

    ``trainable_only`` leaves out the events of users no training may use
    (:func:`naviyam.core.privacy.training_exclusions`): what training sets read; serving reads everything.
    Feedback kept minimised (a child without a guardian's consent) or without a user is never read;
    its time (stored in UTC) is converted to local time like the other events'. The full training set
    reads no feedback (its examples are orders, favourites and reviews); serving and the nightly
    incremental data do.
    """
    excluded = training_exclusions(engine) if trainable_only else frozenset()
    events: list[Event] = []
    with engine.connect() as conn:
        q = select(ProductOrder.id, ProductOrder.user_id, ProductOrder.shop_id, ProductOrder.amount,
                   ProductOrder.ordered_at, ProductOrder.menu_id, ProductOrder.payment_method)
        if until is not None:
            q = q.where(ProductOrder.ordered_at < until)
        for i, u, s, a, t, m, p in conn.execute(q):
            events.append(Event("order", t, int(i), int(u), int(s), amount=float(a or 0), menu_id=m,
                                payment_method=p))
        q = select(UserFavorite.id, UserFavorite.user_id, UserFavorite.shop_id, UserFavorite.created_at)
        if until is not None:
            q = q.where(UserFavorite.created_at < until)
        for i, u, s, t in conn.execute(q):
            events.append(Event("favorite", t, int(i), int(u), int(s)))
        q = select(Review.id, Review.user_id, Review.shop_id, Review.rating, Review.created_at)
        if until is not None:
            q = q.where(Review.created_at < until)
        for i, u, s, r, t in conn.execute(q):
            events.append(Event("review", t, int(i), int(u), int(s), rating=float(r)))
        if feedback:
            q = select(FeedbackEvent.id, FeedbackEvent.user_id, FeedbackEvent.shop_id, FeedbackEvent.feedback_type,
                       FeedbackEvent.created_at).where(
                FeedbackEvent.feedback_type.in_(FEATURE_FEEDBACK_TYPES), FeedbackEvent.user_id.is_not(None),
                FeedbackEvent.minimised.is_(False))
            for i, u, s, k, t in conn.execute(q):
                when = to_local(t.replace(tzinfo=dt.UTC))
                if until is None or when < until:
                    events.append(Event("feedback", when, int(i), int(u), int(s), feedback_type=str(k)))
    if excluded:
        events = [e for e in events if e.user_id not in excluded]
    events.sort(key=lambda e: (e.when, _KIND_ORDER[e.kind], e.id))
    return events


def event_marks(engine: Engine) -> dict[str, int]:
    """The newest id of each event table (0 when empty): a cheap check of whether new events arrived."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for name, col in (("order", ProductOrder.id), ("favorite", UserFavorite.id), ("review", Review.id),
                          ("feedback", FeedbackEvent.id)):
            out[name] = int(conn.execute(select(func.max(col))).scalar() or 0)
    return out
