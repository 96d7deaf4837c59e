"""Token-bucket rate limits, shared by every replica through Redis: the gateway's limit per API
credential and notify's limit per recipient domain.

Why a Lua script and not the `limits` package: `limits` offers fixed and sliding windows, not
a token bucket with a "seconds until the next token" answer, and both users need that answer
(the gateway sends it as Retry-After, notify defers a delivery by exactly that long). The
script is twelve lines, runs atomically on the Redis server's clock (replicas' clocks do not
matter), and the same rule is kept in `TokenBucket` for a single process.

One outage policy, for every user: when Redis cannot be reached (or answers too slowly),
each replica paces on its own in-process bucket until Redis is back. Redis holds nothing
that must survive, so an outage never stops the API or the mail; the limit then holds per
replica instead of per region (at most `replicas` times the configured rate), which is a
bounded overshoot rather than none at all. Every such fallback is logged.
"""

import logging
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Atomic token bucket. KEYS[1]: the bucket; ARGV: rate (tokens per second), burst.
# Returns the seconds until a token is available ("0" when one was taken).
_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""

# A limiter that waits for Redis would make every request as slow as the outage.
_REDIS_TIMEOUT_SECONDS = 0.5


class TokenBucket:
    """In-process token buckets, one per key: the same rule as the Lua script."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float) -> float:
        """0 when a token was taken, else seconds until one is available."""
        with self._lock:
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + max(0.0, now - last) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate


class RateLimiter(Protocol):
    def wait_seconds(self, key: str) -> float:
        """0.0 when the call may go ahead (a token was taken), else seconds to wait."""
        ...


class AsyncRateLimiter(Protocol):
    async def take(self, key: str) -> float:
        """0.0 when the call may go ahead (a token was taken), else seconds to wait."""
        ...

    async def close(self) -> None: ...


class LocalRateLimiter:
    """One process only (local development, a single replica)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.bucket = TokenBucket(rate, burst)

    def wait_seconds(self, key: str) -> float:
        return self.bucket.take(key, time.monotonic())

    async def take(self, key: str) -> float:
        return self.wait_seconds(key)

    async def close(self) -> None:
        return None


class _Shared:
    """What the sync and async Redis limiters share: key naming and the outage policy."""

    def __init__(self, rate: float, burst: float, prefix: str) -> None:
        self.rate = rate
        self.burst = burst
        self.prefix = prefix
        self.fallback = LocalRateLimiter(rate, burst)

    def key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def outage(self, key: str, exc: Exception) -> float:
        log.warning("rate limiter unavailable, pacing locally", extra={"error": type(exc).__name__})
        return self.fallback.wait_seconds(key)


class RedisRateLimiter(_Shared):
    """For threaded callers (the gateway)."""

    def __init__(self, url: str, rate: float, burst: float, *, prefix: str) -> None:
        import redis

        super().__init__(rate, burst, prefix)
        self.client = redis.Redis.from_url(
            url, socket_timeout=_REDIS_TIMEOUT_SECONDS, socket_connect_timeout=_REDIS_TIMEOUT_SECONDS
        )
        self.script = self.client.register_script(_BUCKET_LUA)

    def wait_seconds(self, key: str) -> float:
        try:
            return float(self.script(keys=[self.key(key)], args=[self.rate, self.burst]))
        except Exception as exc:
            return self.outage(key, exc)


class AsyncRedisRateLimiter(_Shared):
    """For asyncio callers (notify)."""

    def __init__(self, url: str, rate: float, burst: float, *, prefix: str) -> None:
        import redis.asyncio as redis_async

        super().__init__(rate, burst, prefix)
        self.client: Any = redis_async.from_url(
            url, socket_timeout=_REDIS_TIMEOUT_SECONDS, socket_connect_timeout=_REDIS_TIMEOUT_SECONDS
        )
        self.script = self.client.register_script(_BUCKET_LUA)

    async def take(self, key: str) -> float:
        try:
            return float(await self.script(keys=[self.key(key)], args=[self.rate, self.burst]))
        except Exception as exc:
            return self.outage(key, exc)

    async def close(self) -> None:
        await self.client.aclose()


def rate_limiter(redis_url: str, rate: float, burst: float, *, prefix: str) -> RateLimiter:
    """Shared through Redis when `redis_url` is set, else in this process only."""
    if redis_url:
        return RedisRateLimiter(redis_url, rate, burst, prefix=prefix)
    return LocalRateLimiter(rate, burst)


def async_rate_limiter(redis_url: str, rate: float, burst: float, *, prefix: str) -> AsyncRateLimiter:
    """Shared through Redis when `redis_url` is set, else in this process only."""
    if redis_url:
        return AsyncRedisRateLimiter(redis_url, rate, burst, prefix=prefix)
    return LocalRateLimiter(rate, burst)
