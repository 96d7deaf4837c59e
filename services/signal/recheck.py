"""The daily BRP re-check of everyone with an active signal (issue 18).

Walks the distinct pseudonyms of active signals in batches, asks identity for their derived
facts (identity holds the BSNs, see docs/adr/0003-brp-link.md), and applies the rules:
a death ends every signal with reason `deceased` (archived; match and notify learn of it),
a move updates the municipality on the active signals, and a move out of the region also
tells notify (MOVED_OUT per signal: the signalling professional, and the region admin);
other parents (BRP ouders) go onto the signals and to match (FAMILY_CHANGED). A signal
registered before the BRP link (no municipality yet; identity's vault back-fill) gets its
municipality and parents without any notification.

A move out of the region also reaches a peer region that has the person too, through the
federation link (issue 19, docs/adr/0005-federation.md): the MOVED_OUT event goes to match as
well (store.set_municipality), which sends the peer a PeerEvent MOVED with the new
municipality. `on_moved_out` below only logs.
Rate-limited so the BRP sees at most `rate` people per second.
"""

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from sluis.identity.v1 import identity_pb2 as ipb

from services.common.config import setting

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RecheckSettings:
    # The municipality codes of this region ("0599" or "0228,0202"); empty = every move is
    # a move within the region.
    region_municipalities: tuple[str, ...] = setting("SLUIS_REGION_MUNICIPALITIES", ())
    batch_size: int = setting("SLUIS_BRP_RECHECK_BATCH_SIZE", 500)
    rate: float = setting("SLUIS_BRP_RECHECK_RATE", 50.0)  # people per second; 0 = no limit
    # Seconds between runs (daily); 0 = not scheduled (RecheckPeople by hand or a CronJob).
    # Identity forgets people the re-check stops asking for (SLUIS_BRP_VAULT_TTL_HOURS).
    interval_seconds: float = setting("SLUIS_BRP_RECHECK_INTERVAL_SECONDS", 86400.0)


@dataclasses.dataclass
class RecheckCounts:
    checked: int = 0
    unknown: int = 0
    moved_within: int = 0
    moved_out: int = 0
    deceased: int = 0
    signals_ended: int = 0
    family_changed: int = 0  # signals whose parents changed (family matches)


FactsOf = Callable[[list[str]], Awaitable[Sequence[ipb.PersonFacts]]]


class Pacer:
    """At most `rate` items per second over the whole run (sleeps, never busy-waits)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.start = clock()
        self.done = 0

    async def account(self, n: int) -> None:
        self.done += n
        if self.rate > 0:
            ahead = self.done / self.rate - (self.clock() - self.start)
            if ahead > 0:
                await self.sleep(ahead)


def move_kind(old: str, new: str, region_municipalities: frozenset[str]) -> str:
    """`none`, `within` (update the municipality) or `out` (also notify: left the region)."""
    if not new or new == old:
        return "none"
    if not old:  # a signal registered before the BRP link (vault back-fill): fill it in
        return "within"
    if region_municipalities and new not in region_municipalities:
        return "out"
    return "within"


def on_moved_out(pseudonym: str, municipality_code: str) -> None:
    """A move out of the region (the MOVED_OUT event to notify and match is written by
    `set_municipality`: the professionals, the region admin and, through match's federation
    link, a peer region that has the person are told)."""
    log.info("moved out of the region", extra={"municipality_code": municipality_code})


class RecheckStore(Protocol):
    """What the re-check needs of the signal store (services/signal/store.py)."""

    async def active_people(self, after: str, limit: int) -> list[tuple[str, str]]: ...

    async def set_municipality(self, pseudonym: str, code: str, moved_out: bool, now: datetime) -> int: ...

    async def parents_of(self, pseudonyms: Sequence[str]) -> dict[str, tuple[str, ...]]: ...

    async def set_parents(self, pseudonym: str, parents: Sequence[str], now: datetime) -> int: ...


async def run(
    store: RecheckStore,
    facts_of: FactsOf,
    end_deceased: Callable[[str], Awaitable[int]],
    settings: RecheckSettings,
    now: Callable[[], datetime],
    forget: Callable[[list[str]], Awaitable[object]] | None = None,
) -> RecheckCounts:
    counts = RecheckCounts()
    region = frozenset(settings.region_municipalities)
    pacer = Pacer(settings.rate)
    after = ""
    while True:
        people = await store.active_people(after, settings.batch_size)
        if not people:
            break
        after = people[-1][0]
        current = dict(people)
        facts = await facts_of([p for p, _ in people])
        parents = await store.parents_of([f.pseudonym for f in facts if f.known and not f.deceased])
        gone: list[str] = []
        for f in facts:
            counts.checked += 1
            if not f.known:
                counts.unknown += 1
                continue
            if f.deceased:
                counts.deceased += 1
                counts.signals_ended += await end_deceased(f.pseudonym)
                gone.append(f.pseudonym)
                continue
            # Family matches: parents as the BRP knows them now (new, or a back-filled signal).
            if tuple(f.parent_pseudonyms) != parents.get(f.pseudonym, ()):
                counts.family_changed += await store.set_parents(f.pseudonym, f.parent_pseudonyms, now())
            kind = move_kind(current.get(f.pseudonym, ""), f.municipality_code, region)
            if kind == "none":
                continue
            await store.set_municipality(f.pseudonym, f.municipality_code, kind == "out", now())
            if kind == "out":
                counts.moved_out += 1
                on_moved_out(f.pseudonym, f.municipality_code)
            else:
                counts.moved_within += 1
        if gone and forget is not None:
            await forget(gone)  # no active signal left: identity drops the vault entry
        await pacer.account(len(people))
    log.info("brp re-check run", extra=dataclasses.asdict(counts))
    return counts
