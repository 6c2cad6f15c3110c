"""Ranking and classification metrics: small pure functions with their formula.

Every ranking function takes one list (one request): ``y_true`` the relevance
of each candidate (1 = the shop the user chose, 0 = not chosen; graded values
work too) and ``y_score`` the score a method gave it. Candidates are ordered
by descending score; ties keep the given order (a stable sort), so a method
that returns candidates already ranked can pass ``-rank`` or
:func:`scores_from_order`.

The ``mean_*`` helpers average over requests. Lists without any relevant item
are skipped by the ranking means (their metric is undefined).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: Default cut-off for the ranking metrics.
DEFAULT_K = 10


def _ranked(y_true: Sequence[float], y_score: Sequence[float]) -> np.ndarray:
    """Relevances in descending-score order (stable for ties)."""
    t = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    if t.shape != s.shape:
        raise ValueError(f"y_true and y_score differ in shape: {t.shape} vs {s.shape}")
    order = np.argsort(-s, kind="stable")
    return t[order]


def scores_from_order(n: int) -> np.ndarray:
    """Scores n, n-1, ..., 1 for a list that is already in ranked order."""
    return np.arange(n, 0, -1, dtype=np.float64)


def dcg_at_k(y_true: Sequence[float], y_score: Sequence[float], k: int = DEFAULT_K) -> float:
    """Discounted cumulative gain.

    DCG@k = sum_{i=1..k} (2^{rel_i} - 1) / log2(i + 1), rel_i being the
    relevance of the item ranked i-th.
    """
    rel = _ranked(y_true, y_score)[:k]
    if rel.size == 0:
        return 0.0
    discounts = np.log2(np.arange(2, rel.size + 2))
    return float(np.sum((np.power(2.0, rel) - 1.0) / discounts))


def ndcg_at_k(y_true: Sequence[float], y_score: Sequence[float], k: int = DEFAULT_K) -> float:
    """Normalised DCG: NDCG@k = DCG@k / IDCG@k, IDCG@k being the DCG@k of the ideal order.

    0.0 when the list has no relevant item. With one relevant item at rank r
    (r <= k) it is 1 / log2(r + 1).
    """
    ideal = dcg_at_k(y_true, y_true, k)
    if ideal <= 0.0:
        return 0.0
    return dcg_at_k(y_true, y_score, k) / ideal


def hit_rate_at_k(y_true: Sequence[float], y_score: Sequence[float], k: int = DEFAULT_K) -> float:
    """HitRate@k = 1 if at least one relevant item is among the top k, else 0."""
    return float(np.any(_ranked(y_true, y_score)[:k] > 0))


def precision_at_k(y_true: Sequence[float], y_score: Sequence[float], k: int = DEFAULT_K) -> float:
    """Precision@k = |relevant items in the top k| / k."""
    return float(np.sum(_ranked(y_true, y_score)[:k] > 0)) / k


def recall_at_k(y_true: Sequence[float], y_score: Sequence[float], k: int = DEFAULT_K) -> float:
    """Recall@k = |relevant items in the top k| / |relevant items| (0.0 without relevant items)."""
    total = float(np.sum(np.asarray(y_true) > 0))
    if total == 0:
        return 0.0
    return float(np.sum(_ranked(y_true, y_score)[:k] > 0)) / total


def reciprocal_rank(y_true: Sequence[float], y_score: Sequence[float]) -> float:
    """RR = 1 / rank of the first relevant item (1-based); 0.0 when none is relevant.

    The mean over requests is MRR = (1/|Q|) * sum_q 1 / rank_q.
    """
    rel = _ranked(y_true, y_score)
    hits = np.flatnonzero(rel > 0)
    return 1.0 / (hits[0] + 1) if hits.size else 0.0


def roc_auc(y_true: Sequence[float], y_score: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney form).

    AUC = (sum of the ranks of the positives - n_pos (n_pos + 1) / 2) / (n_pos * n_neg),
    ranks taken over all scores in ascending order, tied scores sharing their
    average rank. It is the probability that a random positive scores above a
    random negative (ties count one half). NaN when one class is missing.
    """
    t = np.asarray(y_true, dtype=np.float64) > 0.5
    s = np.asarray(y_score, dtype=np.float64)
    n_pos = int(t.sum())
    n_neg = int(t.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0  # 1-based average rank of each tie block
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y_true: Sequence[float], y_prob: Sequence[float], eps: float = 1e-7) -> float:
    """Mean binary cross-entropy: -(1/n) sum_i [y_i log p_i + (1 - y_i) log(1 - p_i)], p clipped to [eps, 1-eps]."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.clip(np.asarray(y_prob, dtype=np.float64), eps, 1.0 - eps)
    if y.size == 0:
        return float("nan")
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def ranking_metrics(
    lists: Iterable[tuple[Sequence[float], Sequence[float]]], ks: Sequence[int] = (5, 10)
) -> dict[str, float]:
    """Mean NDCG@k, HitRate@k, Precision@k, Recall@k (for each k) and MRR over request lists.

    ``lists`` yields ``(y_true, y_score)`` per request; lists with no relevant
    item are skipped. The result also carries ``n_lists``, the number used.
    """
    sums: dict[str, float] = {}
    n = 0
    for y_true, y_score in lists:
        if not np.any(np.asarray(y_true) > 0):
            continue
        n += 1
        for k in ks:
            for name, fn in (("ndcg", ndcg_at_k), ("hit_rate", hit_rate_at_k),
                             ("precision", precision_at_k), ("recall", recall_at_k)):
                key = f"{name}@{k}"
                sums[key] = sums.get(key, 0.0) + fn(y_true, y_score, k)
        sums["mrr"] = sums.get("mrr", 0.0) + reciprocal_rank(y_true, y_score)
    out = {key: (value / n if n else float("nan")) for key, value in sums.items()}
    if not n:
        for k in ks:
            for name in ("ndcg", "hit_rate", "precision", "recall"):
                out[f"{name}@{k}"] = float("nan")
        out["mrr"] = float("nan")
    out["n_lists"] = float(n)
    return out


def catalogue_coverage(recommended: Iterable[Iterable[int]], catalogue_size: int) -> float:
    """Coverage = |distinct shops recommended in any list| / |catalogue|."""
    if catalogue_size <= 0:
        return 0.0
    seen: set[int] = set()
    for lst in recommended:
        seen.update(int(s) for s in lst)
    return len(seen) / catalogue_size


def intra_list_diversity(categories: Sequence[str]) -> float:
    """ILD = share of pairs (i < j) in one list whose categories differ; 0.0 for lists shorter than 2."""
    n = len(categories)
    if n < 2:
        return 0.0
    diff = sum(1 for i in range(n) for j in range(i + 1, n) if categories[i] != categories[j])
    return diff / (n * (n - 1) / 2)
