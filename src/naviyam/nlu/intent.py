"""Intent classifier: multinomial logistic regression over sparse features, temperature-calibrated.

``fit`` learns a vocabulary and weights with scikit-learn; the learned state is
plain arrays (``vocab_``, ``coef_``, ``intercept_``, ``classes_``,
``temperature_``) saved as JSON + ``.npz`` (no pickles) and scored with numpy,
so loading and predicting need no scikit-learn objects.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


class IntentClassifier:
    def __init__(self, C: float = 4.0, min_count: int = 2, max_iter: int = 300):
        self.C = C
        self.min_count = min_count
        self.max_iter = max_iter

    # ---- training -----------------------------------------------------
    def _matrix(self, feats: list[dict[str, float]]):
        rows, cols, vals = [], [], []
        for r, f in enumerate(feats):
            ids = [self.vocab_[k] for k in f if k in self.vocab_]
            if not ids:
                continue
            w = 1.0 / math.sqrt(len(ids))
            rows += [r] * len(ids)
            cols += ids
            vals += [w] * len(ids)
        return csr_matrix((vals, (rows, cols)), shape=(len(feats), len(self.vocab_)), dtype=np.float64)

    def fit(self, feats: list[dict[str, float]], y: list[str]) -> IntentClassifier:
        cnt: Counter[str] = Counter()
        for f in feats:
            cnt.update(f.keys())
        keys = sorted(k for k, c in cnt.items() if c >= self.min_count)
        self.vocab_ = {k: i for i, k in enumerate(keys)}
        X = self._matrix(feats)
        clf = LogisticRegression(C=self.C, max_iter=self.max_iter)
        clf.fit(X, y)
        self.classes_ = [str(c) for c in clf.classes_]
        self.coef_ = np.ascontiguousarray(clf.coef_.T.astype(np.float32))  # V x K
        self.intercept_ = clf.intercept_.astype(np.float32)
        self.temperature_ = 1.0
        return self

    def calibrate(self, feats: list[dict[str, float]], y: list[str]) -> float:
        """Fit the softmax temperature on held-out data (minimum negative log-likelihood)."""
        logits = np.stack([self.logits(f) for f in feats])
        target = np.array([self.classes_.index(t) for t in y])
        best_t, best_nll = 1.0, float("inf")
        for t in np.exp(np.linspace(math.log(0.2), math.log(5.0), 60)):
            z = logits / t
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            nll = -logp[np.arange(len(target)), target].mean()
            if nll < best_nll:
                best_t, best_nll = float(t), float(nll)
        self.temperature_ = best_t
        return best_t

    # ---- inference ----------------------------------------------------
    def logits(self, f: dict[str, float]) -> np.ndarray:
        ids = [self.vocab_[k] for k in f if k in self.vocab_]
        z = self.intercept_.astype(np.float64).copy()
        if ids:
            z += self.coef_[ids].sum(axis=0) / math.sqrt(len(ids))
        return z

    def predict_proba(self, f: dict[str, float]) -> dict[str, float]:
        z = self.logits(f) / self.temperature_
        z = z - z.max()
        p = np.exp(z)
        p /= p.sum()
        return {c: float(v) for c, v in zip(self.classes_, p, strict=False)}

    # ---- persistence --------------------------------------------------
    def save(self, folder: Path) -> None:
        folder = Path(folder)
        vocab = sorted(self.vocab_, key=self.vocab_.get)
        (folder / "intent.json").write_text(json.dumps({
            "classes": self.classes_, "temperature": self.temperature_, "vocab": vocab,
            "params": {"C": self.C, "min_count": self.min_count, "max_iter": self.max_iter},
        }, ensure_ascii=False), encoding="utf-8")
        np.savez_compressed(folder / "intent_weights.npz", coef=self.coef_, intercept=self.intercept_)

    @classmethod
    def load(cls, folder: Path) -> IntentClassifier:
        folder = Path(folder)
        meta = json.loads((folder / "intent.json").read_text(encoding="utf-8"))
        obj = cls(**meta["params"])
        obj.classes_ = meta["classes"]
        obj.temperature_ = float(meta["temperature"])
        obj.vocab_ = {k: i for i, k in enumerate(meta["vocab"])}
        with np.load(folder / "intent_weights.npz") as z:
            obj.coef_ = np.ascontiguousarray(z["coef"])
            obj.intercept_ = z["intercept"]
        return obj


class TfidfBaseline:
    """Baseline for the report: TF-IDF character n-grams (1-4, word-bounded) + logistic regression."""

    def fit(self, texts: Iterable[str], y: list[str]) -> TfidfBaseline:
        self.vec_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True)
        X = self.vec_.fit_transform(list(texts))
        self.clf_ = LogisticRegression(C=10.0, max_iter=300).fit(X, y)
        return self

    def predict(self, texts: list[str]) -> list[str]:
        return [str(x) for x in self.clf_.predict(self.vec_.transform(texts))]

    def predict_proba(self, texts: list[str]) -> list[dict[str, float]]:
        P = self.clf_.predict_proba(self.vec_.transform(texts))
        return [{str(c): float(p) for c, p in zip(self.clf_.classes_, row, strict=False)} for row in P]
