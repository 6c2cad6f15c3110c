"""Layer 1 funnels: collaborative, content, contextual, popularity, item-kNN (one module each, one interface)."""

from __future__ import annotations

from naviyam.recommend.funnels.base import Candidate, FitContext, Funnel, FunnelList, FunnelQuery, top_k_candidates
from naviyam.recommend.funnels.collaborative import CollaborativeFunnel
from naviyam.recommend.funnels.content import ContentFunnel
from naviyam.recommend.funnels.contextual import ContextualFunnel
from naviyam.recommend.funnels.itemknn import ItemKNNFunnel
from naviyam.recommend.funnels.popularity import PopularityFunnel

#: Funnels by name: the seed's four (in the order of their wide features), then item-kNN (co-visitation).
FUNNELS: dict[str, type] = {
    "collaborative": CollaborativeFunnel,
    "content": ContentFunnel,
    "contextual": ContextualFunnel,
    "popularity": PopularityFunnel,
    "itemknn": ItemKNNFunnel,
}
FUNNEL_NAMES = tuple(FUNNELS)

__all__ = [
    "FUNNELS", "FUNNEL_NAMES", "Candidate", "CollaborativeFunnel", "ContentFunnel", "ContextualFunnel", "FitContext",
    "Funnel", "FunnelList", "FunnelQuery", "ItemKNNFunnel", "PopularityFunnel", "top_k_candidates",
]
