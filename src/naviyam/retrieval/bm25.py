"""BM25 over kiwipiepy morphemes, on scipy sparse matrices.

Documents and queries are cut into content morphemes (nouns, verb and
adjective stems, roots, foreign words, numbers); particles and endings are
dropped. Noun compounds are kept too ("치킨집" gives 치킨, 집 and 치킨집), so a
query word matches a document word whichever way Kiwi splits it.

The index is a (n_docs, n_terms) CSR matrix of BM25 term weights; a query
scores every document with one sparse mat-vec.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from scipy import sparse

from naviyam.core.kiwi import get_kiwi

log = logging.getLogger(__name__)

#: Kiwi tags kept as index terms.
CONTENT_TAGS = ("NNG", "NNP", "NNB", "NR", "SL", "SH", "SN", "XR", "VV", "VA", "MAG")


def tokenize(text: str) -> list[str]:
    """Content morphemes of ``text`` plus joined runs of adjacent nouns."""
    tokens: list[str] = []
    run: list[str] = []
    last_end = -1

    def flush() -> None:
        if len(run) > 1:
            tokens.append("".join(run))
        run.clear()

    for tok in get_kiwi().tokenize(text):
        tag = tok.tag.split("-")[0]
        is_noun = tag in ("NNG", "NNP", "XR")
        if not (is_noun and tok.start == last_end):
            flush()
        if tag in CONTENT_TAGS:
            tokens.append(tok.form.lower())
        if is_noun:
            run.append(tok.form.lower())
        last_end = tok.start + tok.len
    flush()
    return tokens


class BM25Index:
    """Okapi BM25 (k1, b) with the Lucene idf ``log(1 + (N - df + 0.5) / (df + 0.5))``."""

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b

    def fit(self, documents: list[list[str]]) -> BM25Index:
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for i, toks in enumerate(documents):
            counts: dict[int, int] = {}
            for t in toks:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts.keys())
            vals.extend(counts.values())
        n = len(documents)
        tf = sparse.csr_matrix((np.array(vals, dtype=np.float32), (rows, cols)), shape=(n, max(len(vocab), 1)))
        self.vocab_ = vocab
        self.tf_ = tf
        self._weights()
        return self

    def _weights(self) -> None:
        tf = self.tf_.tocsr()
        n = tf.shape[0]
        doc_len = np.asarray(tf.sum(axis=1)).ravel()
        avgdl = float(doc_len.mean()) if n else 1.0
        df = np.bincount(tf.indices, minlength=tf.shape[1]).astype(np.float64)
        self.idf_ = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        w = tf.copy()
        row_len = np.repeat(doc_len, np.diff(tf.indptr))
        denom = w.data + self.k1 * (1 - self.b + self.b * row_len / max(avgdl, 1e-9))
        w.data = (w.data * (self.k1 + 1) / denom * self.idf_[w.indices]).astype(np.float32)
        self.weights_ = w.tocsc()  # column slices per query term are cheap in CSC

    def row_tokens(self, i: int) -> list[str]:
        """Document ``i`` as a bag of its terms (order is lost; BM25 does not need it)."""
        if not hasattr(self, "_terms"):
            self._terms = sorted(self.vocab_, key=self.vocab_.get)
        start, end = self.tf_.indptr[i], self.tf_.indptr[i + 1]
        out: list[str] = []
        for j, c in zip(self.tf_.indices[start:end].tolist(), self.tf_.data[start:end].tolist(), strict=True):
            out.extend([self._terms[j]] * int(c))
        return out

    def score(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query (0 where no term matches)."""
        n = self.weights_.shape[0]
        idx = [self.vocab_[t] for t in query_tokens if t in self.vocab_]
        if not idx:
            return np.zeros(n, dtype=np.float32)
        uniq, counts = np.unique(idx, return_counts=True)
        q = sparse.csc_matrix(
            (counts.astype(np.float32), (uniq, np.zeros(len(uniq), dtype=np.int64))), shape=(self.weights_.shape[1], 1)
        )
        return np.asarray((self.weights_ @ q).todense()).ravel()

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        sparse.save_npz(folder / "bm25_tf.npz", self.tf_.tocsr())
        terms = sorted(self.vocab_, key=self.vocab_.get)
        (folder / "bm25.json").write_text(
            json.dumps({"k1": self.k1, "b": self.b, "terms": terms}, ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        meta = json.loads((folder / "bm25.json").read_text(encoding="utf-8"))
        idx = cls(k1=meta["k1"], b=meta["b"])
        idx.vocab_ = {t: i for i, t in enumerate(meta["terms"])}
        idx.tf_ = sparse.load_npz(folder / "bm25_tf.npz").tocsr().astype(np.float32)
        idx._weights()
        return idx
