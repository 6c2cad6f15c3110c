"""The one small interface every Layer 1 funnel implements.

A funnel is fitted once on a :class:`FitContext` (catalog, interactions,
index) and then answers :meth:`Funnel.candidates` for a :class:`FunnelQuery`
with at most ``k`` :class:`Candidate` s: distinct shops allowed by the query's
hard-filter mask, best first, each with a score normalised to [0, 1] (the
best allowed shop scores 1, the worst allowed shop 0).

Funnels that learn state save it with ``save(folder)`` and restore it with
``load(folder, ctx)`` (plain ``.npy``/``.npz``/JSON files, never pickles).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from naviyam.recommend.interactions import InteractionMatrix, Interactions
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.index import ShopIndex
from naviyam.retrieval.location import Place


@dataclass
class Candidate:
    """One shop proposed by Layer 1 with the funnels that produced it.

    ``funnels`` maps funnel name → that funnel's normalised score in [0, 1];
    ``score`` is the merged score (for a single funnel's output, its own score).
    """

    shop_id: int
    score: float
    funnels: dict[str, float] = field(default_factory=dict)
    #: metres from the request's origin (current position, landmark or home), when one is known
    distance_m: float | None = None
    #: the shop's row in the catalog the candidate came from (internal; not stable across refreshes)
    row: int = -1
    #: funnel name -> 0-based rank of the shop in that funnel's own list (set by the merge)
    ranks: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"shop_id": self.shop_id, "score": round(self.score, 6),
                "funnels": {k: round(v, 6) for k, v in self.funnels.items()},
                "distance_m": None if self.distance_m is None else round(self.distance_m, 1)}


class FunnelList(Sequence):
    """One funnel's proposals, best first, as parallel Python lists; a :class:`Candidate` is made only when one is
    read (the merge reads the lists themselves: a request's funnels propose ~400 shops and 100 are kept).

    It reads like the list of candidates it stands for: ``len``, indexing, slicing, iteration, ``==``.
    """

    __slots__ = ("name", "ids", "scores", "distances", "rows")

    def __init__(self, name: str, ids: list[int], scores: list[float], distances: list[float | None] | None,
                 rows: list[int]):
        self.name, self.ids, self.scores, self.rows = name, ids, scores, rows
        self.distances = [None] * len(ids) if distances is None else distances

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return FunnelList(self.name, self.ids[i], self.scores[i], self.distances[i], self.rows[i])
        v = self.scores[i]
        return Candidate(self.ids[i], v, {self.name: v}, self.distances[i], self.rows[i])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # compares by content, like a list

    def __repr__(self) -> str:
        return f"FunnelList({self.name!r}, {list(self)!r})"


@dataclass
class FunnelQuery:
    """What a funnel sees of one request."""

    user_id: int | None
    #: hard-filter mask over catalog rows (already relaxed where needed)
    allowed: np.ndarray
    now: dt.datetime
    #: the NLU contract's filters (soft signals such as time_of_day and dietary_preferences live here)
    filters: dict[str, Any] = field(default_factory=dict)
    semantic_query: str | None = None
    #: where distances are measured from
    origin: Place | None = None
    #: metres from ``origin`` to every catalog row (computed once per request)
    distances: np.ndarray | None = None
    #: the district popularity is ranked in
    district: str | None = None
    budget: int | None = None


@dataclass
class FitContext:
    catalog: ShopCatalog
    interactions: Interactions
    matrix: InteractionMatrix
    index: ShopIndex | None = None
    #: reference time for recency decay (the end of the data window)
    now: dt.datetime | None = None


@runtime_checkable
class Funnel(Protocol):
    name: str

    def fit(self, ctx: FitContext) -> Funnel: ...

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]: ...


class PersistentFunnel(Funnel, Protocol):
    def save(self, folder: Path) -> None: ...

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> PersistentFunnel: ...


def top_k_candidates(name: str, scores: np.ndarray, allowed: np.ndarray, k: int, catalog: ShopCatalog,
                     distances: np.ndarray | None = None, min_score: float | None = None) -> FunnelList:
    """The ``k`` best allowed rows as candidates, scores min-max normalised over the allowed rows.

    Rows with a non-finite score (or below ``min_score``) are never returned.
    """
    ok = allowed & np.isfinite(scores)
    if min_score is not None:
        ok &= scores >= min_score
    rows = np.flatnonzero(ok)
    if len(rows) == 0 or k <= 0:
        return []
    s = scores[rows].astype(np.float64)
    lo, hi = float(s.min()), float(s.max())
    norm = (s - lo) / (hi - lo) if hi > lo else np.ones_like(s)
    if len(rows) > k:
        part = np.argpartition(-s, k - 1)[:k]
        rows, s, norm = rows[part], s[part], norm[part]
    order = np.lexsort((rows, -s))
    rows = rows[order]
    # Python numbers in one go (indexing numpy arrays element by element costs more than the candidates)
    dist = None if distances is None else np.asarray(distances[rows], dtype=np.float64).tolist()
    return FunnelList(name, catalog.ids[rows].tolist(), norm[order].tolist(), dist, rows.tolist())
