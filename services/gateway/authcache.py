"""The gateway's authentication cache (issue 21): who is behind an API key, and a professional
with their organisation, without a database round trip on every request.

Safety bound, the one rule: a cached answer is at most `MAX_TTL_SECONDS` (5 s) old, counted
from before the database read. Any change that can withdraw access (revoke or rotate a key,
change or deactivate a professional, change an organisation) goes through GatewayStore,
which calls `invalidate()`: this process drops its cache at once, and every other gateway
process (gunicorn workers, replicas) drops its cache as soon as Redis delivers the message
on `CHANNEL` (pub/sub). When that message is lost (Redis down, a subscriber reconnecting),
the TTL still holds: a revoked key is refused within 5 s at the latest, and immediately in
the process that revoked it. A subscriber that (re)connects clears its cache, since it may
have missed messages. Misses (unknown keys) are never cached, so a new key works at once.
"""

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger("sluis.gateway.authcache")

MAX_TTL_SECONDS = 5.0
CHANNEL = "sluis:gateway:auth-invalidate"
# Plenty for every live key and professional of a region; beyond it, start again.
_MAX_ENTRIES = 50_000

_T = TypeVar("_T")


class AuthCache:
    """A TTL cache with whole-cache invalidation (changes are rare admin actions)."""

    def __init__(
        self, ttl_seconds: float = MAX_TTL_SECONDS, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = max(0.0, min(ttl_seconds, MAX_TTL_SECONDS))
        self.now = now
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        # Tells the other processes (set by `listen`); this process clears itself first.
        self.publish: Callable[[], None] = lambda: None

    def get(self, key: Hashable, load: Callable[[], _T | None]) -> _T | None:
        """The cached value, or `load()` (cached unless None or invalidated meanwhile)."""
        started = self.now()
        with self._lock:
            hit = self._entries.get(key)
            generation = self._generation
        if hit is not None and started - hit[0] < self.ttl:
            value: _T = hit[1]
            return value
        loaded = load()
        if loaded is not None and self.ttl > 0:
            with self._lock:
                # An invalidation during the load wins: do not store what may be stale.
                if generation == self._generation:
                    if len(self._entries) >= _MAX_ENTRIES:
                        self._entries.clear()
                    self._entries[key] = (started, loaded)
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1

    def invalidate(self) -> None:
        """Something that grants access changed: drop it here and tell every other process."""
        self.clear()
        try:
            self.publish()
        except Exception:
            # The TTL bound still holds in the other processes.
            log.warning("could not publish an auth-cache invalidation", exc_info=True)

    def __len__(self) -> int:
        return len(self._entries)


class Invalidations:
    """Redis pub/sub for one process: publishes invalidations, and a daemon thread clears the
    cache on every message (and on every (re)connect)."""

    def __init__(self, redis_url: str, cache: AuthCache) -> None:
        import redis

        self.cache = cache
        self.client: Any = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._listener: Any = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
        self._stop = threading.Event()
        self.connected = threading.Event()
        cache.publish = self.publish
        self._thread = threading.Thread(target=self._run, name="auth-invalidations", daemon=True)

    def start(self) -> "Invalidations":
        self._thread.start()
        return self

    def publish(self) -> None:
        self.client.publish(CHANNEL, b"all")

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        quiet = False  # one warning per outage, not one a second
        while not self._stop.is_set():
            try:
                pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self.cache.clear()  # messages may have been missed while not subscribed
                self.connected.set()
                quiet = False
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        self.cache.clear()
            except Exception:
                self.connected.clear()
                self.cache.clear()
                if not quiet:
                    log.warning("auth-cache invalidations unavailable (the 5 s bound holds); retrying")
                    quiet = True
                self._stop.wait(1.0)


class UsageRecorder:
    """`lastUsedAt` without a write per request: each process records a credential's use at most
    once per `interval` seconds, in a background thread (`write` gets the ids to stamp; the
    SQL itself also skips a stamp younger than a minute, across processes)."""

    def __init__(
        self,
        write: Callable[[list[Any]], None],
        interval: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.interval = interval
        self.now = now
        self._last: dict[Any, float] = {}
        self._pending: set[Any] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def used(self, credential_id: Any) -> None:
        now = self.now()
        with self._lock:
            last = self._last.get(credential_id)
            if last is not None and now - last < self.interval:
                return
            if len(self._last) >= _MAX_ENTRIES:
                self._last.clear()
            self._last[credential_id] = now
            self._pending.add(credential_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="credential-usage", daemon=True)
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Write what is pending now (also called before lastUsedAt is read in this process)."""
        with self._lock:
            ids, self._pending = list(self._pending), set()
        if ids:
            self.write(ids)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.warning("could not record credential use", exc_info=True)
