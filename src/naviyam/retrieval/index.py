"""The shop index: documents, dense vectors (FAISS), BM25, and hybrid search restricted by a mask.

``ShopIndex.build(catalog, embedder, previous=...)`` aligns the index to the
catalog's rows and re-embeds only the shops whose document hash changed (or
that are new); unchanged shops reuse the previous vectors. ``save``/``load``
write plain files (JSON, ``.npy``, ``.npz``, the FAISS index), never pickles.

Filtering happens *inside* the search: the caller passes a boolean mask over
catalog rows, FAISS searches only the allowed ids (``IDSelectorBitmap``) and
BM25 scores only count for allowed rows, so no allowed shop is lost to a
truncation made before filtering.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from naviyam.core.lru import LRU
from naviyam.core.threads import openmp_in_this_thread
from naviyam.retrieval.bm25 import BM25Index, tokenize
from naviyam.retrieval.catalog import ShopCatalog
from naviyam.retrieval.documents import build_dense_texts, build_documents, document_hash
from naviyam.retrieval.embedding import Embedder

log = logging.getLogger(__name__)

Fusion = Literal["rrf", "weighted", "dense", "bm25"]
INDEX_FORMAT = 1
#: Query texts whose BM25 scores a ShopIndex keeps (1,500 shops: 6 KB each).
BM25_CACHE_SIZE = 1024


@dataclass
class FusionConfig:
    """How dense and BM25 rankings are combined (tuned by benchmarks/retrieval_eval.py)."""

    method: Fusion = "weighted"
    #: weight of the dense score in the weighted sum (1 - alpha goes to BM25)
    alpha: float = 0.6
    #: the constant of reciprocal rank fusion: score = sum 1 / (rrf_k + rank)
    rrf_k: int = 60
    #: how deep each retriever looks before fusion
    depth: int = 200


@dataclass
class SearchResult:
    rows: np.ndarray  # catalog rows, best first
    scores: np.ndarray  # fused scores normalised to [0, 1], best = 1
    dense: np.ndarray = field(default_factory=lambda: np.zeros(0))  # raw cosine per returned row
    bm25: np.ndarray = field(default_factory=lambda: np.zeros(0))  # raw BM25 per returned row


@dataclass
class BuildStats:
    n_shops: int
    n_embedded: int
    n_reused: int
    seconds: float


def _top(scores: np.ndarray, allowed: np.ndarray, depth: int) -> np.ndarray:
    """Rows of the ``depth`` highest scores among allowed rows, best first."""
    cand = np.flatnonzero(allowed)
    if len(cand) == 0:
        return cand
    s = scores[cand]
    if len(cand) > depth:
        part = np.argpartition(-s, depth - 1)[:depth]
        cand, s = cand[part], s[part]
    order = np.lexsort((cand, -s))  # ties broken by row for determinism
    return cand[order]


class ShopIndex:
    def __init__(
        self,
        shop_ids: np.ndarray,
        documents: list[str],
        hashes: list[str],
        embeddings: np.ndarray,
        bm25: BM25Index,
        embedder_name: str,
        fusion: FusionConfig | None = None,
    ):
        self.shop_ids = np.asarray(shop_ids, dtype=np.int64)
        self.documents = documents
        self.hashes = hashes
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.bm25 = bm25
        self.embedder_name = embedder_name
        self.fusion = fusion or FusionConfig()
        self.faiss_ = faiss.IndexFlatIP(self.embeddings.shape[1])
        if len(self.embeddings):
            self.faiss_.add(self.embeddings)
        self.embedder: Embedder | None = None
        #: BM25 scores of recent query texts (chat queries repeat a lot; a text always scores the same here)
        self._bm25_cache: LRU[str, np.ndarray] = LRU(BM25_CACHE_SIZE)

    def __len__(self) -> int:
        return len(self.shop_ids)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        catalog: ShopCatalog,
        embedder: Embedder,
        previous: ShopIndex | None = None,
        fusion: FusionConfig | None = None,
    ) -> tuple[ShopIndex, BuildStats]:
        t0 = time.perf_counter()
        docs = build_documents(catalog)
        dense = build_dense_texts(catalog)
        hashes = [document_hash(d) for d in dense]
        dim = embedder.dim
        emb = np.zeros((len(docs), dim), dtype=np.float32)
        todo = list(range(len(docs)))
        if previous is not None and previous.embedder_name == embedder.name and previous.embeddings.shape[1] == dim:
            prev_row = {(int(s), h): i for i, (s, h) in enumerate(zip(previous.shop_ids, previous.hashes, strict=True))}
            todo = []
            for i, (sid, h) in enumerate(zip(catalog.ids, hashes, strict=True)):
                j = prev_row.get((int(sid), h))
                if j is None:
                    todo.append(i)
                else:
                    emb[i] = previous.embeddings[j]
        if todo:
            emb[todo] = embedder.embed_passages([dense[i] for i in todo])
        # re-use the previous tokenisation of unchanged documents (Kiwi is the slow part of a rebuild)
        prev_doc = {}
        if previous is not None:
            prev_doc = {(int(s), d): j for j, (s, d) in enumerate(zip(previous.shop_ids, previous.documents,
                                                                       strict=True))}
        tokens = []
        for sid, d in zip(catalog.ids, docs, strict=True):
            j = prev_doc.get((int(sid), d))
            tokens.append(previous.bm25.row_tokens(j) if j is not None else tokenize(d))
        bm25 = BM25Index().fit(tokens)
        index = cls(catalog.ids.copy(), docs, hashes, emb, bm25, embedder.name,
                    fusion or (previous.fusion if previous else None))
        index.embedder = embedder
        stats = BuildStats(len(docs), len(todo), len(docs) - len(todo), time.perf_counter() - t0)
        log.info("shop index: %d shops, %d embedded, %d reused in %.1fs", stats.n_shops, stats.n_embedded,
                 stats.n_reused, stats.seconds)
        return index, stats

    @staticmethod
    def document_hashes(catalog: ShopCatalog) -> list[str]:
        """Hashes of the embedded texts (what decides re-embedding)."""
        return [document_hash(d) for d in build_dense_texts(catalog)]

    def is_current(self, catalog: ShopCatalog) -> bool:
        """Same shops in the same order with the same documents and embedded texts."""
        return (self.is_aligned(catalog) and self.documents == build_documents(catalog)
                and self.hashes == self.document_hashes(catalog))

    def is_aligned(self, catalog: ShopCatalog) -> bool:
        return len(self.shop_ids) == len(catalog.ids) and bool(np.all(self.shop_ids == catalog.ids))

    # ------------------------------------------------------------------ search
    def dense_scores(self, query: str, rows: np.ndarray | None = None) -> np.ndarray:
        q = self._embed_query(query)
        emb = self.embeddings if rows is None else self.embeddings[rows]
        return emb @ q

    def bm25_scores(self, query: str) -> np.ndarray:
        """BM25 score of every shop for ``query`` (read-only; the last :data:`BM25_CACHE_SIZE` texts are kept)."""
        scores = self._bm25_cache.get(query)
        if scores is not None:
            return scores
        scores = self.bm25.score(tokenize(query))
        scores.flags.writeable = False
        return self._bm25_cache.put(query, scores)

    def _embed_query(self, query: str) -> np.ndarray:
        if self.embedder is None:
            raise RuntimeError("no embedder attached: ShopIndex.load(..., embedder=...) or set index.embedder")
        return self.embedder.embed_queries([query])[0]

    def _dense_top(self, q: np.ndarray, allowed: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.shop_ids)
        n_allowed = int(allowed.sum())
        depth = min(depth, n_allowed)
        if depth == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        openmp_in_this_thread()  # a request thread: the serving limit, not a team of threads on every core
        params = None
        if n_allowed < n:
            bitmap = np.packbits(allowed.astype(np.uint8), bitorder="little")
            params = faiss.SearchParameters(sel=faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap)))
        dist, ids = self.faiss_.search(q[None, :].astype(np.float32), depth, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), dist[0][keep]

    def search(
        self,
        query: str,
        k: int = 100,
        allowed: np.ndarray | None = None,
        fusion: FusionConfig | None = None,
        method: Fusion | None = None,
    ) -> SearchResult:
        """The ``k`` best allowed shops for ``query`` (catalog rows with scores in [0, 1])."""
        cfg = fusion or self.fusion
        method = method or cfg.method
        n = len(self.shop_ids)
        allowed = np.ones(n, dtype=bool) if allowed is None else allowed
        if not allowed.any() or k <= 0:
            empty = np.zeros(0, dtype=np.int64)
            return SearchResult(empty, np.zeros(0), np.zeros(0), np.zeros(0))
        depth = max(cfg.depth, k)
        bm = self.bm25_scores(query) if method != "dense" else np.zeros(n, dtype=np.float32)
        if method == "bm25":
            rows = _top(bm, allowed & (bm > 0), k)
            s = bm[rows]
            return SearchResult(rows, s / s.max() if len(s) and s.max() > 0 else s, np.zeros(len(rows)), s)
        q = self._embed_query(query)
        d_rows, d_scores = self._dense_top(q, allowed, depth)
        if method == "dense":
            rows = d_rows[:k]
            s = d_scores[:k]
            return SearchResult(rows, _minmax(s), s, bm[rows])
        b_rows = _top(bm, allowed & (bm > 0), depth)
        union = np.union1d(d_rows, b_rows)
        if method == "rrf":
            fused = np.zeros(n, dtype=np.float64)
            fused[d_rows] += 1.0 / (cfg.rrf_k + 1 + np.arange(len(d_rows)))
            fused[b_rows] += 1.0 / (cfg.rrf_k + 1 + np.arange(len(b_rows)))
        elif method == "weighted":
            dense_u = self.embeddings[union] @ q
            lo, hi = float(dense_u.min()), float(dense_u.max())
            dn = (dense_u - lo) / (hi - lo) if hi > lo else np.ones_like(dense_u)
            bmax = float(bm[union].max()) if len(union) else 0.0
            bn = bm[union] / bmax if bmax > 0 else np.zeros(len(union))
            fused = np.zeros(n, dtype=np.float64)
            fused[union] = cfg.alpha * dn + (1 - cfg.alpha) * bn
        else:
            raise ValueError(f"unknown fusion method {method!r}")
        mask = np.zeros(n, dtype=bool)
        mask[union] = True
        rows = _top(fused, mask, k)
        # absolute normalisation: a weighted sum is already in [0, 1]; RRF is divided by its maximum
        top = 1.0 if method == "weighted" else 2.0 / (cfg.rrf_k + 1)
        return SearchResult(rows, np.clip(fused[rows] / top, 0.0, 1.0), self.embeddings[rows] @ q, bm[rows])

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "shop_ids.npy", self.shop_ids)
        np.save(folder / "embeddings.npy", self.embeddings)
        faiss.write_index(self.faiss_, str(folder / "dense.faiss"))
        self.bm25.save(folder)
        with (folder / "documents.jsonl").open("w", encoding="utf-8") as f:
            for sid, h, d in zip(self.shop_ids, self.hashes, self.documents, strict=True):
                f.write(json.dumps({"shop_id": int(sid), "hash": h, "text": d}, ensure_ascii=False) + "\n")
        meta = {"format": INDEX_FORMAT, "embedder": self.embedder_name, "dim": int(self.embeddings.shape[1]),
                "n_shops": len(self.shop_ids), "fusion": self.fusion.__dict__}
        (folder / "index.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, embedder: Embedder | None = None) -> ShopIndex:
        folder = Path(folder)
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
        if meta.get("format") != INDEX_FORMAT:
            raise ValueError(f"index format {meta.get('format')} not supported (expected {INDEX_FORMAT})")
        docs, hashes = [], []
        with (folder / "documents.jsonl").open(encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                docs.append(rec["text"])
                hashes.append(rec["hash"])
        index = cls(np.load(folder / "shop_ids.npy"), docs, hashes, np.load(folder / "embeddings.npy"),
                    BM25Index.load(folder), meta["embedder"], FusionConfig(**meta["fusion"]))
        if embedder is not None:
            if embedder.name != index.embedder_name:
                raise ValueError(f"index was built with {index.embedder_name}, not {embedder.name}")
            index.embedder = embedder
        return index


def _minmax(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if len(s) == 0:
        return s
    lo, hi = float(s.min()), float(s.max())
    if hi <= lo:
        return np.ones_like(s)
    return (s - lo) / (hi - lo)
