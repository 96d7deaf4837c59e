"""Key rotation on the stores' side: keep every stored pseudonym under the region's current key.

A store (signal, match) that keeps pseudonyms runs one `PseudonymRekeyer` per process:

- `await rekeyer.resolve(pseudonyms)` on every INCOMING pseudonym before it is compared with
  stored ones. Each `Resolved` has `current` (the form to store and compare) and, during a
  rotation, `previous` (the same person under the old key version). In the business
  transaction, after taking the per-person lock keyed on `current`, the store converts that
  person's not yet re-keyed rows: `UPDATE t SET pseudonym = current WHERE pseudonym = previous`.
  Then it works with `current` only. `normalise` is the same without `previous`.
- `rekeyer.run()` as a background task (`GrpcService.add_background`): while a rotation is
  in progress it asks the store adapter for batches of old-version pseudonyms, has the
  identity service re-key them (RekeyPseudonyms; the factor never leaves identity) and hands
  the old -> new mapping back to the adapter, until none remain.
- `rekeyer.progress` (rotation id, remaining rows, rows re-keyed) for the operator.

Why this is safe while signals keep coming in. A rotation is announced at `started_at` and
takes effect at `switch_at` (started_at + the identity service's grace period). Until the
switch, identity issues the old version and nothing is converted: every store keeps comparing
old with old. The rekeyer's view of the rotation is never older than `ttl` seconds (a call
that finds it older refreshes it first, and fails rather than guess when identity cannot be
reached), so by `switch_at` every replica of every store knows the rotation. From
`switch_at` everything incoming is mapped to the new version and each person is converted as
a whole, either by the batch loop or by the first business transaction that touches them.
Answers in the old form are only given until `switch_at - margin`; a business transaction
that takes longer than `margin` between `resolve` and its commit is the residual risk.

The store adapter (`RekeyableStore`) is the store's own code, in its store.py:

    async def old_version_batch(self, version: int, limit: int) -> list[str]
        SELECT DISTINCT pseudonym FROM t WHERE pseudonym LIKE %s LIMIT %s   -- (f"{version}.%", limit)
    async def replace(self, mapping: dict[str, str]) -> int
        one short transaction: for each person (sorted by new pseudonym, to avoid deadlocks)
        take the same per-person lock as the business path, then
        UPDATE t SET pseudonym = m.new FROM unnest(%s::text[], %s::text[]) AS m(old, new)
        WHERE t.pseudonym = m.old; return the number of rows changed.
    async def count_version(self, version: int) -> int
        SELECT count(*) FROM t WHERE pseudonym LIKE %s                     -- (f"{version}.%",)
"""

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

import grpc
from sluis.identity.v1 import identity_pb2 as pb
from sluis.identity.v1 import identity_pb2_grpc as pb_grpc

from services.common import metrics
from services.common.clients import aio_channel
from services.common.clock import Clock, SystemClock
from services.common.config import ServiceSettings, setting
from services.common.errors import FailedPrecondition, InvalidArgument, from_rpc_error
from services.common.protos import from_timestamp

log = logging.getLogger(__name__)


class RekeyableStore(Protocol):
    """What a store offers the rekeyer: its pseudonyms, by key version, and an update."""

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        """Up to `limit` distinct stored pseudonyms of key `version` (any order)."""
        ...

    async def replace(self, mapping: dict[str, str]) -> int:
        """Replace old by new pseudonyms in one short transaction; return rows changed."""
        ...

    async def count_version(self, version: int) -> int:
        """How many stored rows still carry key `version` (progress for the operator)."""
        ...


@dataclasses.dataclass(frozen=True)
class RotationView:
    """The rotation in progress, as the identity service reported it."""

    rotation_id: str
    from_version: int
    to_version: int
    switch_at: datetime


@dataclasses.dataclass(frozen=True)
class Resolved:
    """An incoming pseudonym: the form to use now, and during a rotation its old form."""

    current: str
    previous: str | None = None


@dataclasses.dataclass
class RekeyProgress:
    rotation_id: str = ""
    remaining: int | None = None  # None: not counted yet
    rekeyed: int = 0
    done: bool = False


def key_version(pseudonym: str) -> int | None:
    """The key version a pseudonym carries ("<version>.<base64url>"), None if malformed."""
    head, sep, _ = pseudonym.partition(".")
    return int(head) if sep and head.isdigit() else None


class PseudonymRekeyer:
    """Keeps one store's pseudonyms under the current key across rotations."""

    def __init__(
        self,
        identity_addr: str,
        store: RekeyableStore,
        *,
        ttl: float = 5.0,
        margin: float = 2.0,
        batch_size: int = 500,
        poll_interval: float = 5.0,
        rpc_timeout: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.identity_addr = identity_addr
        # Wall time by default: switch_at is a moment on identity's clock, not a business date.
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.store = store
        self.ttl = ttl
        self.margin = margin
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.rpc_timeout = rpc_timeout
        self.progress = RekeyProgress()
        self._channel: grpc.aio.Channel | None = None
        self._stub: pb_grpc.IdentityServiceAsyncStub | None = None
        self._view: RotationView | None = None
        self._fetched_at = float("-inf")
        self._active: int | None = None
        self._lock = asyncio.Lock()

    # -- identity ------------------------------------------------------------------------
    def _identity(self) -> "pb_grpc.IdentityServiceAsyncStub":
        if self._stub is None:
            self._channel = aio_channel(self.identity_addr)
            self._stub = pb_grpc.IdentityServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel, self._stub = None, None

    async def _fetch(self) -> None:
        try:
            response = await self._identity().GetRotation(pb.GetRotationRequest(), timeout=self.rpc_timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise from_rpc_error(exc) from None
            self._view = None
            active = from_rpc_error(exc).metadata.get("active_key_version", "")
            self._active = int(active) if active.isdigit() else None
        else:
            r = response.rotation
            switch_at = from_timestamp(r.switch_at) or self.clock.now()
            self._view = RotationView(r.rotation_id, r.from_key_version, r.to_key_version, switch_at)
            self._active = None
        self._fetched_at = time.monotonic()

    async def rotation(self, *, versions: Sequence[int] = (), force: bool = False) -> RotationView | None:
        """The rotation in progress; refreshed when older than `ttl`, when forced, or when an
        incoming pseudonym carries a key version this process has not heard of (at most
        once per `ttl / 10`, so made-up versions cannot flood identity)."""
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if self._view is not None:
                known = {self._view.from_version, self._view.to_version}
            else:
                known = {self._active} if self._active is not None else set()
            news = bool(known) and any(v not in known for v in versions)
            if force or age > self.ttl or (news and age > self.ttl / 10):
                await self._fetch()
            return self._view

    def _check_without_rotation(self, versions: Sequence[int]) -> None:
        """No rotation in progress: refuse pseudonyms of a retired or unknown key version."""
        active = self._active
        if active is None:
            return  # identity did not say; nothing to check against
        if any(v < active for v in versions):
            raise FailedPrecondition(
                "pseudonym_key_retired", "Dit pseudoniem hoort bij een sleutel die niet meer geldig is."
            )
        if any(v > active for v in versions):
            raise InvalidArgument("pseudonym_key_version", "Dit pseudoniem hoort bij een onbekende sleutel.")

    async def _view_for(self, pseudonyms: Sequence[str]) -> tuple[RotationView | None, list[int]]:
        """The rotation to apply to these incoming pseudonyms (None: use them as they are)."""
        versions = [key_version(p) for p in pseudonyms]
        if any(v is None for v in versions):
            raise InvalidArgument("pseudonym_format", "Ongeldig pseudoniem.")
        known = [v for v in versions if v is not None]
        view = await self.rotation(versions=known)
        if view is None:
            self._check_without_rotation(known)
            return None, known
        wait = (view.switch_at - self.clock.now()).total_seconds()
        if wait > self.margin and view.to_version not in known:
            return None, known  # announced, not switched: old stays old everywhere
        if wait > 0:
            await asyncio.sleep(wait)  # close to the switch: answer in the new form only
        return view, known

    # -- incoming pseudonyms ---------------------------------------------------------------
    async def resolve(self, pseudonyms: Sequence[str]) -> list[Resolved]:
        """The form to store and compare for each incoming pseudonym (see the module doc)."""
        if not pseudonyms:
            return []
        for attempt in (1, 2):
            view, _ = await self._view_for(pseudonyms)
            if view is None:
                return [Resolved(p) for p in pseudonyms]
            try:
                response = await self._rekey(view, pseudonyms, include_previous=True)
            except FailedPrecondition:
                if attempt == 2:
                    raise
                await self.rotation(force=True)  # finished meanwhile: look again
                continue
            return [
                Resolved(c, p) for c, p in zip(response.pseudonyms, response.previous_pseudonyms, strict=True)
            ]
        raise AssertionError("unreachable")

    async def normalise(self, pseudonyms: Sequence[str]) -> list[str]:
        """Each incoming pseudonym under the key the store currently compares with.

        No call to identity when no rotation is in progress or all are already current.
        """
        if not pseudonyms:
            return []
        for attempt in (1, 2):
            view, versions = await self._view_for(pseudonyms)
            if view is None or all(v == view.to_version for v in versions):
                return list(pseudonyms)
            try:
                response = await self._rekey(view, pseudonyms, include_previous=False)
            except FailedPrecondition:
                if attempt == 2:
                    raise
                await self.rotation(force=True)
                continue
            return list(response.pseudonyms)
        raise AssertionError("unreachable")

    async def _rekey(
        self, view: RotationView, pseudonyms: Sequence[str], *, include_previous: bool
    ) -> pb.RekeyPseudonymsResponse:
        try:
            return await self._identity().RekeyPseudonyms(
                pb.RekeyPseudonymsRequest(
                    rotation_id=view.rotation_id,
                    pseudonyms=list(pseudonyms),
                    include_previous=include_previous,
                ),
                timeout=self.rpc_timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc) from None

    # -- the batch loop --------------------------------------------------------------------
    async def rekey_stored(self, view: RotationView) -> int:
        """Convert every stored pseudonym of the rotation's old version; return rows changed."""
        if self.progress.rotation_id != view.rotation_id:
            self.progress = RekeyProgress(rotation_id=view.rotation_id)
        changed = 0
        idle = 0
        while idle < 3:
            batch = await self.store.old_version_batch(view.from_version, self.batch_size)
            if not batch:
                break
            response = await self._rekey(view, batch, include_previous=False)
            n = await self.store.replace(dict(zip(batch, response.pseudonyms, strict=True)))
            changed += n
            self.progress.rekeyed += n
            # Zero rows: business transactions or another replica converted the batch first;
            # a store that keeps returning rows it cannot replace must not spin forever.
            idle = idle + 1 if n == 0 else 0
        self.progress.remaining = await self.store.count_version(view.from_version)
        self.progress.done = self.progress.remaining == 0
        metrics.set_rekey_remaining(self.progress.remaining)
        return changed

    async def remaining(self) -> int:
        """Rows still under the old key of the rotation in progress (0 when none)."""
        view = await self.rotation()
        if view is None:
            return 0
        count = await self.store.count_version(view.from_version)
        self.progress.remaining = count
        metrics.set_rekey_remaining(count)
        return count

    async def run_once(self) -> int:
        """One look at identity; if a rotation has switched, re-key what is stored."""
        view = await self.rotation()
        if view is None:
            return 0
        if (self.clock.now() - view.switch_at).total_seconds() < self.margin:
            return 0  # every replica must be answering in the new form before we convert
        return await self.rekey_stored(view)

    async def run_when_identity_ready(self) -> None:
        """`run()`, started once identity accepts connections.

        At start-up identity may not listen yet; a gRPC channel that failed to connect backs
        off for a second or more, which the first requests would then pay for. So wait for the
        port first (plain TCP), then learn the rotation state, then run the loop.
        """
        host, _, port = self.identity_addr.rpartition(":")
        for _ in range(300):
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), 1.0)
            except (OSError, TimeoutError, ValueError):
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
        with contextlib.suppress(Exception):  # identity away after all: run() retries
            await self.rotation(force=True)
        await self.run()

    async def run(self) -> None:
        """Background task: re-key stored pseudonyms whenever a rotation is in progress."""
        while True:
            try:
                changed = await self.run_once()
                if changed:
                    log.info(
                        "pseudonyms re-keyed",
                        extra={"rotation_id": self.progress.rotation_id, "rows": changed},
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._fetched_at = float("-inf")  # e.g. finished meanwhile: ask identity again
                log.warning("re-keying failed, will retry", extra={"error": type(exc).__name__})
            await asyncio.sleep(self.poll_interval)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RekeySettings(ServiceSettings):
    """Settings of a service that stores pseudonyms (signal, match): key rotation support."""

    # Empty = rotation support off (unit tests without an identity service).
    identity_addr: str = setting("SLUIS_IDENTITY_ADDR", "")
    # How often re-key progress is logged while a rotation is in progress.
    rekey_report_seconds: float = setting("SLUIS_REKEY_REPORT_SECONDS", 10.0)
    # The rekeyer's rotation cache and safety margin: the identity service's grace period
    # (SLUIS_IDENTITY_ROTATION_GRACE_SECONDS) must exceed their sum plus its key refresh.
    rekey_ttl_seconds: float = setting("SLUIS_REKEY_TTL_SECONDS", 5.0)
    rekey_margin_seconds: float = setting("SLUIS_REKEY_MARGIN_SECONDS", 2.0)
    rekey_poll_seconds: float = setting("SLUIS_REKEY_POLL_SECONDS", 5.0)
    rekey_batch_size: int = setting("SLUIS_REKEY_BATCH_SIZE", 500)


def rekeyer_from_settings(settings: RekeySettings, store: RekeyableStore) -> PseudonymRekeyer | None:
    """The service's rekeyer, or None when rotation support is off."""
    if not settings.identity_addr:
        return None
    return PseudonymRekeyer(
        settings.identity_addr,
        store,
        ttl=settings.rekey_ttl_seconds,
        margin=settings.rekey_margin_seconds,
        batch_size=settings.rekey_batch_size,
        poll_interval=settings.rekey_poll_seconds,
        rpc_timeout=settings.rpc_timeout_seconds,
    )


async def resolve_incoming(rekeyer: PseudonymRekeyer | None, pseudonyms: Sequence[str]) -> list[Resolved]:
    """Incoming pseudonyms in the form stored now (key rotation), in order; as they are when off.

    One call to identity for the distinct well-formed ones, and only while a rotation is in
    progress (the rekeyer caches the rotation state). Malformed pseudonyms pass unchanged:
    they belong to nobody identity knows, and reads of them are refused like those of an
    unknown person.
    """
    wellformed = sorted({p for p in pseudonyms if key_version(p) is not None})
    if rekeyer is None or not wellformed:
        return [Resolved(p) for p in pseudonyms]
    resolved = dict(zip(wellformed, await rekeyer.resolve(wellformed), strict=True))
    return [resolved.get(p, Resolved(p)) for p in pseudonyms]


async def report_rekey_progress(
    rekeyer: PseudonymRekeyer,
    store_name: str,
    interval: float,
    outbox_pending: Callable[[], Awaitable[int]] | None = None,
) -> None:
    """Log the rows still under the old key while a rotation is in progress (the operator
    finishes the rotation when every store logs remaining 0 and, where the store has an
    outbox, outbox_pending 0)."""
    while True:
        await asyncio.sleep(interval)
        try:
            view = await rekeyer.rotation()
            if view is None:
                continue
            extra: dict[str, object] = {
                "store": store_name,
                "rotation_id": view.rotation_id,
                "from_key_version": view.from_version,
                "remaining": await rekeyer.remaining(),
                "rekeyed": rekeyer.progress.rekeyed,
            }
            if outbox_pending is not None:
                extra["outbox_pending"] = await outbox_pending()
            log.info("re-key progress", extra=extra)
        except Exception as exc:  # identity or the database away for a moment: next round
            log.warning("re-key progress unavailable", extra={"error": type(exc).__name__})
