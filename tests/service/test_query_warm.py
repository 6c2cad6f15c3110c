"""A worker starts with its recent frequent queries embedded: read from the log (never a minimised turn), warmed in
the background, and a request for one of them is a cache hit."""

import datetime as dt

from fastapi.testclient import TestClient

from naviyam.api.app import create_app
from naviyam.config import Settings
from naviyam.core.clock import utcnow
from naviyam.db.models import Interaction
from naviyam.db.session import session_scope
from naviyam.learning.store import frequent_queries
from naviyam.retrieval.embedding import CachedQueryEmbedder, HashingEmbedder
from naviyam.service.warm import query_embedder, warm_query_cache

#: Texts no other test asks, so that warming the session's shared embedder changes nothing elsewhere.
HOT, WARM, COOL = "따끈한 워밍 떡볶이 검색어", "따끈한 워밍 분식 검색어", "따끈한 워밍 피자 검색어"


def _log(engine, rows: list[tuple[str | None, bool, int]]) -> None:
    """One logged turn per (semantic query, minimised, days ago)."""
    now = utcnow()
    with session_scope(engine) as s:
        for i, (text, minimised, days_ago) in enumerate(rows):
            nlu = None if text is None else {"intent": "FOOD_RECOMMENDATION", "filters": {}, "semantic_query": text}
            s.add(Interaction(session_id=f"warm-{i}", message="" if minimised else (text or ""), nlu=nlu,
                              minimised=minimised, created_at=now - dt.timedelta(days=days_ago)))


def _sample_log(engine) -> None:
    _log(engine, [(HOT, False, 1)] * 3 + [(WARM, False, 2)] * 2 + [(COOL, False, 3)]
         + [("아이가 혼자 물은 비밀 검색어", True, 1)] * 5  # minimised: never read
         + [("두 달 전 검색어", False, 60)] * 5  # older than the window
         + [(None, False, 1), ("   ", False, 1)])


def test_frequent_queries_are_the_recent_logged_ones_most_frequent_first_never_a_minimised_turn(engine):
    _sample_log(engine)
    since = utcnow() - dt.timedelta(days=30)
    assert frequent_queries(engine, since=since, limit=10) == [HOT, WARM, COOL]
    assert frequent_queries(engine, since=since, limit=2) == [HOT, WARM]
    assert frequent_queries(engine, since=since, limit=0) == []


def test_warming_embeds_only_what_the_cache_lacks_and_counts_neither_hits_nor_misses():
    inner = HashingEmbedder(16)
    cache = CachedQueryEmbedder(inner, size=8)
    cache.embed_queries([HOT])
    assert (cache.hits, cache.misses) == (0, 1)
    assert cache.warm([HOT, WARM, COOL, WARM], batch_size=1) == 2
    assert cache.warmed == 2 and (cache.hits, cache.misses) == (0, 1)
    vectors = cache.embed_queries([WARM, COOL])
    assert (cache.hits, cache.misses) == (2, 1)  # both answered from the cache
    assert (vectors == inner.embed_queries([WARM, COOL])).all()


def test_a_started_worker_warms_its_query_cache_from_the_log(runtime, sqlite_engine, tmp_path):
    _sample_log(sqlite_engine)
    embedder = query_embedder(runtime)
    assert embedder is not None
    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path, query_cache_warm=2)
    app = create_app(settings, engine=sqlite_engine, runtime=runtime)
    with TestClient(app) as client:
        warmer = client.app.state.query_warmer
        warmer.join()
        # The two most frequent (the limit); the third and the minimised child's text were not embedded.
        assert warmer.embedded == 2
        hits, misses = embedder.hits, embedder.misses
        embedder.embed_queries([HOT, WARM])
        assert (embedder.hits, embedder.misses) == (hits + 2, misses)
        embedder.embed_queries([COOL])
        assert embedder.misses == misses + 1
    assert warm_query_cache(runtime, sqlite_engine, 10) == 0  # all three are cached now: nothing to embed


def test_warming_can_be_turned_off(runtime, sqlite_engine, tmp_path):
    settings = Settings(environment="test", admin_api_key="test-admin-key", var_dir=tmp_path, query_cache_warm=0)
    with TestClient(create_app(settings, engine=sqlite_engine, runtime=runtime)) as client:
        assert client.app.state.query_warmer is None


def test_the_warming_thread_runs_nicer_than_the_requests(monkeypatch):
    import os
    import sys

    from naviyam.service import warm

    seen: list[int] = []

    def spy(runtime, engine, limit, *, stop=None):
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))  # on Linux: this thread's own nice value
        return 0

    monkeypatch.setattr(warm, "warm_query_cache", spy)
    before = os.getpriority(os.PRIO_PROCESS, 0)
    warmer = warm.QueryWarmer(runtime=None, engine=None, limit=5)
    warmer.join()
    assert warmer.embedded == 0
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the caller's own priority is untouched
    if sys.platform.startswith("linux"):
        assert seen == [min(19, before + warm.WARM_NICENESS)]
