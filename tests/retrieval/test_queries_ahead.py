"""Embedding queries ahead on a background thread: every group lands in the cache, in order; errors reach wait()."""

from __future__ import annotations

import numpy as np
import pytest

from naviyam.retrieval.embedding import CachedQueryEmbedder, HashingEmbedder, QueriesAhead


class _Counting(HashingEmbedder):
    def __init__(self, fail_on: str | None = None):
        super().__init__()
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    def embed_queries(self, texts):
        if self.fail_on in texts:
            raise RuntimeError("embedder broke")
        self.calls.append(list(texts))
        return super().embed_queries(texts)


def test_every_group_is_embedded_once_in_order_and_then_served_from_the_cache():
    inner = _Counting()
    cached = CachedQueryEmbedder(inner, size=100)
    groups = [["김밥", "라면", "떡볶이"], [], ["짜장면"], ["돈까스", "우동"]]
    ahead = QueriesAhead(cached, groups, batch_size=2)
    for g in range(len(groups)):
        ahead.wait(g)
    assert inner.calls == [["김밥", "라면"], ["떡볶이"], ["짜장면"], ["돈까스", "우동"]]
    vec = cached.embed_queries(["라면", "우동"])
    assert len(inner.calls) == 4 and cached.hits == 2  # no new embedding: the cache had them
    np.testing.assert_allclose(vec, HashingEmbedder().embed_queries(["라면", "우동"]))


def test_an_embedding_error_reaches_the_waiting_caller():
    ahead = QueriesAhead(CachedQueryEmbedder(_Counting(fail_on="라면"), size=10), [["김밥"], ["라면"], ["우동"]])
    ahead.wait(0)
    with pytest.raises(RuntimeError, match="embedder broke"):
        ahead.wait(1)
    with pytest.raises(RuntimeError, match="embedder broke"):
        ahead.wait(2)
