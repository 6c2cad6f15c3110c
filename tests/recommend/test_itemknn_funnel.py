"""The item-kNN (co-visitation) funnel on a tiny matrix whose answer is known."""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import sparse

from naviyam.recommend.funnels import FitContext, FunnelQuery, ItemKNNFunnel
from naviyam.recommend.funnels.itemknn import knn_similarity
from naviyam.recommend.interactions import InteractionMatrix, Interactions

NOON = dt.datetime(2026, 10, 12, 12, 0)
SHOPS = np.array([10, 20, 30, 40, 50])


class _Catalog:
    """The two things the funnel reads from a catalog: shop ids and their rows."""

    def __init__(self, ids):
        self.ids = np.asarray(ids)
        self.row_of = {int(s): i for i, s in enumerate(self.ids)}

    def __len__(self):
        return len(self.ids)


def _matrix() -> InteractionMatrix:
    # users 1-3 chose shops 10 and 20 together; users 4-5 chose 30 and 40; user 6 chose only 10;
    # user 7 chose 10 and 50; user 8 chose only 30
    rows = {1: [10, 20], 2: [10, 20], 3: [10, 20], 4: [30, 40], 5: [30, 40], 6: [10], 7: [10, 50], 8: [30]}
    users = sorted(rows)
    col = {int(s): j for j, s in enumerate(SHOPS)}
    r = [i for i, u in enumerate(users) for _ in rows[u]]
    c = [col[s] for u in users for s in rows[u]]
    m = sparse.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(len(users), len(SHOPS)))
    return InteractionMatrix(np.array(users), SHOPS, m)


def _funnel(**params) -> ItemKNNFunnel:
    cat = _Catalog(SHOPS)
    return ItemKNNFunnel(**params).fit(FitContext(cat, Interactions.empty(), _matrix())), cat


def _query(user_id, n=len(SHOPS)):
    return FunnelQuery(user_id=user_id, allowed=np.ones(n, bool), now=NOON)


def test_similarity_is_cosine_over_co_visits():
    sim = knn_similarity(_matrix().matrix, neighbours=10, alpha=0.5, shrink=0.0).toarray()
    # 10 has 5 users, 20 has 3, all three shared: 3 / sqrt(5 * 3)
    assert np.isclose(sim[0, 1], 3 / np.sqrt(15))
    assert np.isclose(sim[2, 3], 2 / np.sqrt(6))  # 30 (3 users) and 40 (2 users) share two
    assert sim[0, 2] == 0.0 and np.all(np.diag(sim) == 0.0)


def test_user_who_chose_only_10_gets_20_first_then_50_and_never_30_or_40():
    funnel, _cat = _funnel(neighbours=10, shrink=0.0)
    cands = funnel.candidates(_query(6), k=5)
    ids = [c.shop_id for c in cands]
    assert ids[:2] == [20, 50] and 30 not in ids and 40 not in ids
    assert cands[0].score == 1.0 and cands[0].funnels == {"itemknn": 1.0}


def test_user_who_chose_only_30_gets_40_and_nothing_from_the_other_cluster():
    funnel, _cat = _funnel(neighbours=10, shrink=0.0)
    assert [c.shop_id for c in funnel.candidates(_query(8), k=5)] == [40]


def test_neighbours_keeps_only_the_most_similar_shop():
    sim = knn_similarity(_matrix().matrix, neighbours=1, shrink=0.0)
    assert np.all(np.diff(sim.indptr) <= 1)


def test_unknown_user_gets_nothing_and_mask_is_honoured():
    funnel, _cat = _funnel()
    assert funnel.candidates(_query(999), k=5) == []
    allowed = np.array([True, False, True, True, True])
    q = FunnelQuery(user_id=6, allowed=allowed, now=NOON)
    assert 20 not in [c.shop_id for c in funnel.candidates(q, k=5)]


def test_save_load_round_trip(tmp_path):
    funnel, cat = _funnel(neighbours=3, shrink=2.0)
    funnel.save(tmp_path)
    loaded = ItemKNNFunnel.load(tmp_path, FitContext(cat, Interactions.empty(), _matrix()))
    assert loaded.config() == funnel.config()
    a, b = funnel.candidates(_query(7), k=5), loaded.candidates(_query(7), k=5)
    assert [(c.shop_id, c.score) for c in a] == [(c.shop_id, c.score) for c in b]


def test_a_historys_scores_are_kept_read_only_and_equal_a_fresh_computation():
    funnel, _cat = _funnel(neighbours=10, shrink=0.0)
    sim_t = funnel.similarity_.T.toarray()
    first = funnel.history_scores_by_row([10, 50])
    assert np.array_equal(first, sim_t[:, [0, 4]].sum(axis=1).astype(np.float32))  # 10 and 50's columns
    assert funnel.history_scores_by_row([50, 10, 10]) is first  # the same history in another order: kept
    assert not first.flags.writeable  # shared by every request that asks
    # user 7 chose 10 and 50: the matrix's history is the same history
    assert funnel.scores_by_row(7) is first
    other = funnel.history_scores_by_row([30])
    assert other is not first and other[SHOPS.tolist().index(40)] > 0 and first[SHOPS.tolist().index(40)] == 0
    assert funnel.history_scores_by_row([999]) is None  # a shop the model never saw: no history
