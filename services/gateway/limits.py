"""Per-credential rate limits: a token bucket in Redis (shared by every gateway pod) or, when
SLUIS_REDIS_URL is empty, in this process (local development)."""

import logging
import threading
import time
from typing import Protocol

from services.gateway import domain

log = logging.getLogger(__name__)

# Atomic token bucket on the Redis server's clock: KEYS[1] bucket; ARGV rate, burst.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return tostring(wait)
"""


class RateLimiter(Protocol):
    def wait_seconds(self, credential: str) -> float:
        """0.0 when the request may go ahead (a token was taken), else seconds to wait."""
        ...


class LocalRateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, domain.Bucket] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, credential: str) -> float:
        with self._lock:
            bucket, wait = domain.take_token(
                self._buckets.get(credential), time.monotonic(), self.rate, self.burst
            )
            self._buckets[credential] = bucket
            return wait


class RedisRateLimiter:
    def __init__(self, url: str, rate: float, burst: int) -> None:
        import redis

        self.rate = rate
        self.burst = burst
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.script = self.client.register_script(_BUCKET_LUA)

    def wait_seconds(self, credential: str) -> float:
        try:
            return float(self.script(keys=[f"sluis:ratelimit:{credential}"], args=[self.rate, self.burst]))
        except Exception:  # a limiter outage must not take the API down
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            return 0.0


def rate_limiter(redis_url: str, rate: float, burst: int) -> RateLimiter:
    return RedisRateLimiter(redis_url, rate, burst) if redis_url else LocalRateLimiter(rate, burst)
