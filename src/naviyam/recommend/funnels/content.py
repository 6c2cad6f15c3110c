"""Content funnel: the hybrid retriever (BM25 + dense) on the semantic query, inside the hard filters.

The query text is the NLU's ``semantic_query``; without one it is written
from the filters (menu, category, dietary wishes). With no query words at
all, a known user's taste profile (the mean document vector of the shops they
chose) is searched instead, so the funnel still proposes similar shops; an
unknown user with no query words gets nothing from this funnel.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from naviyam.recommend.funnels.base import Candidate, FitContext, FunnelList, FunnelQuery, top_k_candidates
from naviyam.retrieval.index import FusionConfig

#: Korean search words for the contract's dietary_preferences values.
DIETARY_WORDS = {
    "healthy": "건강한 음식",
    "vegetarian": "채식 고기 없는",
    "not_spicy": "안 매운 순한 맛",
    "spicy": "매운 얼큰한 맛",
    "light": "가벼운 간단한 식사",
    "hearty": "든든한 푸짐한 양 많은",
}


def query_text(filters: dict, semantic_query: str | None) -> str:
    """The retriever's query: the semantic query, else words from the filters ('' when none)."""
    if semantic_query and semantic_query.strip():
        return semantic_query.strip()
    words = [filters.get("menu"), filters.get("category")]
    words += [DIETARY_WORDS.get(d, "") for d in filters.get("dietary_preferences") or ()]
    return " ".join(w for w in words if w).strip()


class ContentFunnel:
    name = "content"

    def __init__(self, fusion: FusionConfig | None = None, use_profile: bool = True):
        self.fusion = fusion
        self.use_profile = use_profile

    def fit(self, ctx: FitContext) -> ContentFunnel:
        if ctx.index is None:
            raise ValueError("the content funnel needs the shop index")
        self.index_ = ctx.index
        self.matrix_ = ctx.matrix
        self.align(ctx.catalog)
        return self

    def align(self, catalog, index=None) -> None:
        if index is not None:
            self.index_ = index
        if not self.index_.is_aligned(catalog):
            raise ValueError("shop index rows do not match the catalog; rebuild or refresh the index")
        row_of = catalog.row_of
        self.col_to_row_ = np.array([row_of.get(int(s), -1) for s in self.matrix_.shop_ids], dtype=np.int64)
        self._catalog = catalog

    def candidates(self, query: FunnelQuery, k: int) -> Sequence[Candidate]:
        text = query_text(query.filters, query.semantic_query)
        cat = self._catalog
        if text:
            res = self.index_.search(text, k=k, allowed=query.allowed, fusion=self.fusion)
            dist = None if query.distances is None else \
                np.asarray(query.distances[res.rows], dtype=np.float64).tolist()
            return FunnelList(self.name, cat.ids[res.rows].tolist(), np.asarray(res.scores, dtype=np.float64).tolist(),
                              dist, res.rows.tolist())
        if not self.use_profile:
            return []
        cols, weights = self.matrix_.history(query.user_id)
        rows = self.col_to_row_[cols] if len(cols) else cols
        keep = rows >= 0
        if not keep.any():
            return []
        emb = self.index_.embeddings
        profile = (np.log1p(weights[keep])[:, None] * emb[rows[keep]]).sum(axis=0)
        profile /= max(float(np.linalg.norm(profile)), 1e-9)
        return top_k_candidates(self.name, emb @ profile, query.allowed, k, cat, query.distances)

    def save(self, folder: Path) -> None:
        cfg = {"fusion": dataclasses.asdict(self.fusion) if self.fusion else None, "use_profile": self.use_profile}
        (folder / "content.json").write_text(json.dumps(cfg), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ctx: FitContext) -> ContentFunnel:
        cfg = json.loads((folder / "content.json").read_text(encoding="utf-8"))
        fusion = FusionConfig(**cfg["fusion"]) if cfg["fusion"] else None
        return cls(fusion=fusion, use_profile=cfg["use_profile"]).fit(ctx)
