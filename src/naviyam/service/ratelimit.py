"""Rate limits per user and per client address, shared by every worker through Redis.

Two window strategies, both counting requests per key:

- ``fixed``: one counter per key and calendar window (``INCR`` + ``EXPIRE``);
  cheap, but allows up to twice the limit across a window boundary.
- ``sliding``: the timestamps of the last window in a sorted set per key
  (``ZREMRANGEBYSCORE`` + ``ZADD`` + ``ZCARD``); exact.

:class:`RedisRateLimiter` keeps the counters in Redis so that several API
workers share them. When Redis does not answer it logs one warning and
counts in process memory (:class:`MemoryRateLimiter`) instead, trying Redis
again every ``retry_s`` seconds: the service degrades, it never fails
because of its rate limiter.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

import redis.asyncio as aioredis

log = logging.getLogger(__name__)

Strategy = Literal["sliding", "fixed"]
#: Redis keys start with this, so that a shared Redis can hold other things too.
KEY_PREFIX = "naviyam:rl"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until the next request of this key would be allowed (0 when allowed).
    retry_after: int = 0


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int = 60) -> Decision:
        """Count one request of ``key`` and say whether it is within ``limit`` per ``window_s``."""
        ...


class MemoryRateLimiter:
    """Per-process counters (one worker's view only). Thread-safe."""

    backend = "memory"

    def __init__(self, strategy: Strategy = "sliding", *, clock=time.time, max_keys: int = 100_000):
        self.strategy = strategy
        self.clock = clock
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._fixed: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window_s: int = 60) -> Decision:
        return self.hit_sync(key, limit, window_s)

    def hit_sync(self, key: str, limit: int, window_s: int = 60) -> Decision:
        now = self.clock()
        with self._lock:
            if len(self._hits) + len(self._fixed) > self.max_keys:
                self._evict(now, window_s)
            if self.strategy == "fixed":
                window = int(now // window_s)
                start, count = self._fixed.get(key, (window, 0))
                if start != window:
                    start, count = window, 0
                count += 1
                self._fixed[key] = (start, count)
                if count > limit:
                    return Decision(False, limit, 0, max(1, math.ceil((window + 1) * window_s - now)))
                return Decision(True, limit, limit - count)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            if len(hits) >= limit:
                return Decision(False, limit, 0, max(1, math.ceil(hits[0] + window_s - now)))
            hits.append(now)
            return Decision(True, limit, limit - len(hits))

    def _evict(self, now: float, window_s: int) -> None:
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - window_s}
        window = int(now // window_s)
        self._fixed = {k: v for k, v in self._fixed.items() if v[0] == window}


_SLIDING = """
local key, now, window, limit, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if n >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, n, tostring(oldest[2])}
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, math.ceil(window * 1000))
return {1, n + 1, ''}
"""


class RedisRateLimiter:
    """Counters in Redis, shared by all workers; per-process counters while Redis is unreachable."""

    def __init__(self, url: str, strategy: Strategy = "sliding", *, timeout_s: float = 0.25, retry_s: float = 5.0,
                 on_state_change=None):
        self.url = url
        self.strategy = strategy
        self.retry_s = retry_s
        self.fallback = MemoryRateLimiter(strategy)
        self.on_state_change = on_state_change
        self._client = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                               health_check_interval=30)
        self._script = self._client.register_script(_SLIDING)
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def backend(self) -> str:
        return "memory" if self._down_since is not None else "redis"

    async def hit(self, key: str, limit: int, window_s: int = 60) -> Decision:
        now = time.time()  # real-clock: rate windows are shared by worker processes, not service time
        if self._down_since is not None and now < self._next_try:
            return self.fallback.hit_sync(key, limit, window_s)
        try:
            decision = await self._hit_redis(f"{KEY_PREFIX}:{self.strategy}:{key}", limit, window_s, now)
        except Exception as exc:  # noqa: BLE001 - any Redis trouble degrades to per-process counting
            self._went_down(exc, now)
            return self.fallback.hit_sync(key, limit, window_s)
        if self._down_since is not None:
            log.warning("Redis at %s is back after %.0f s: rate limits are shared by all workers again",
                        self._safe_url(), now - self._down_since)
            self._down_since = None
            self._notify(True)
        return decision

    async def _hit_redis(self, key: str, limit: int, window_s: int, now: float) -> Decision:
        if self.strategy == "fixed":
            window = int(now // window_s)
            wkey = f"{key}:{window}"
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.incr(wkey)
                pipe.expire(wkey, window_s + 1)
                count, _ = await pipe.execute()
            if count > limit:
                return Decision(False, limit, 0, max(1, math.ceil((window + 1) * window_s - now)))
            return Decision(True, limit, limit - count)
        allowed, count, oldest = await self._script(keys=[key], args=[now, window_s, limit,
                                                                      f"{now:.6f}:{uuid.uuid4().hex[:8]}"])
        if int(allowed):
            return Decision(True, limit, max(0, limit - int(count)))
        oldest_s = float(oldest) if oldest else now
        return Decision(False, limit, 0, max(1, math.ceil(oldest_s + window_s - now)))

    def _went_down(self, exc: Exception, now: float) -> None:
        self._next_try = now + self.retry_s
        if self._down_since is None:
            self._down_since = now
            log.warning("Redis at %s is unavailable (%s): rate limits fall back to per-process counters "
                        "(each worker counts alone) until it is back", self._safe_url(),
                        exc.__class__.__name__)
            self._notify(False)

    def _notify(self, up: bool) -> None:
        if self.on_state_change is not None:
            self.on_state_change(up)

    def _safe_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 6379}"

    async def close(self) -> None:
        await self._client.aclose()


def build_rate_limiter(redis_url: str | None, strategy: Strategy = "sliding", **kwargs) -> RateLimiter:
    """Redis-backed when a URL is set, else per-process."""
    if redis_url:
        try:
            return RedisRateLimiter(redis_url, strategy, **kwargs)
        except ImportError:
            log.warning("NAVIYAM_REDIS_URL is set but the redis package is not installed: "
                        "rate limits are per-process")
    return MemoryRateLimiter(strategy)
