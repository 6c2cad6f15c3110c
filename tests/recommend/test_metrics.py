"""Ranking and classification metrics against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from naviyam.recommend.metrics import (
    catalogue_coverage,
    dcg_at_k,
    hit_rate_at_k,
    intra_list_diversity,
    log_loss,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
    reciprocal_rank,
    roc_auc,
    scores_from_order,
)


def test_ndcg_of_one_relevant_item_is_one_over_log2_of_rank_plus_one():
    y = [0, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.1]  # relevant item ranked 3rd
    assert ndcg_at_k(y, s, 10) == pytest.approx(1 / math.log2(4))
    assert ndcg_at_k(y, s, 2) == 0.0
    assert ndcg_at_k(y, [0.1, 0.2, 0.9, 0.0], 10) == 1.0
    assert ndcg_at_k([0, 0], [1, 2], 10) == 0.0


def test_ndcg_with_two_relevant_items():
    y, s = [1, 0, 1], [0.9, 0.8, 0.7]
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3)
    assert dcg_at_k(y, s, 3) == pytest.approx(dcg)
    assert ndcg_at_k(y, s, 3) == pytest.approx(dcg / idcg)


def test_hit_rate_precision_recall_and_reciprocal_rank():
    y, s = [0, 1, 0, 1], [4, 3, 2, 1]
    assert hit_rate_at_k(y, s, 1) == 0.0 and hit_rate_at_k(y, s, 2) == 1.0
    assert precision_at_k(y, s, 2) == 0.5 and recall_at_k(y, s, 2) == 0.5 and recall_at_k(y, s, 4) == 1.0
    assert reciprocal_rank(y, s) == 0.5
    assert reciprocal_rank([0, 0], [1, 2]) == 0.0


def test_ties_keep_the_given_order():
    assert reciprocal_rank([0, 1, 0], [1, 1, 1]) == 0.5
    assert reciprocal_rank([0, 1, 0], scores_from_order(3)) == 0.5


def test_auc_known_answers():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    # one of four positive/negative pairs misordered
    assert roc_auc([0, 1, 0, 1], [0.1, 0.4, 0.5, 0.8]) == pytest.approx(0.75)
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


def test_auc_matches_scikit_learn_on_random_data():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500) + 0.3 * y, 2)  # many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_log_loss():
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert log_loss([1], [1.0]) == pytest.approx(0.0, abs=1e-6)


def test_ranking_metrics_average_over_lists_and_skip_lists_without_positives():
    lists = [([1, 0, 0], [3, 2, 1]), ([0, 0, 1], [3, 2, 1]), ([0, 0, 0], [3, 2, 1])]
    m = ranking_metrics(lists, ks=(1, 3))
    assert m["n_lists"] == 2
    assert m["hit_rate@1"] == 0.5 and m["hit_rate@3"] == 1.0
    assert m["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert m["ndcg@3"] == pytest.approx((1 + 0.5) / 2)


def test_coverage_and_diversity():
    assert catalogue_coverage([[1, 2], [2, 3]], 10) == 0.3
    assert intra_list_diversity(["한식", "한식", "분식"]) == pytest.approx(2 / 3)
    assert intra_list_diversity(["한식"]) == 0.0
