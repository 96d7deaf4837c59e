"""The BSN vault back-fill (issue 18): people signalled before the region enabled its BRP link.

Signals registered without the link have no vault entry, so the daily re-check cannot ask
the BRP about them (no municipality, no parents for family matches, no death). The region
obtains the BSNs of its clients from the participating organisations' own records and runs

    python -m services.identity backfill FILE     # one BSN a line; "-" reads stdin

with identity's database and KEK settings and SLUIS_SIGNAL_ADDR. Each BSN is pseudonymised
here, signal says which of those people have an active signal (FilterActivePeople), and
only for them a vault entry is written; every other BSN is dropped unstored. The next
re-check (daily, or RecheckPeople) then fills in municipality and parents without any
notification. Idempotent: a second run only refreshes the entries.
"""

from collections.abc import Iterable
from datetime import datetime

from psycopg_pool import AsyncConnectionPool
from sluis.signal.v1 import signal_pb2 as spb
from sluis.signal.v1 import signal_pb2_grpc as spb_grpc

from services.common.clients import aio_channel
from services.identity import domain
from services.identity.store import KeyStore
from services.identity.vault import BsnVault

BATCH = 1000  # signal's FilterActivePeople limit


def read_bsns(lines: Iterable[str]) -> tuple[list[str], int]:
    """(valid, normalised BSNs without duplicates; how many lines were not a valid BSN)."""
    valid: dict[str, None] = {}
    invalid = 0
    for line in lines:
        raw = line.strip()
        if not raw or raw.startswith("#"):
            continue
        if domain.bsn_error_reason(raw) is not None:
            invalid += 1
            continue
        valid[domain.normalise_bsn(raw)] = None
    return list(valid), invalid


async def backfill(
    database_url: str, keks: dict[int, bytes], signal_addr: str, lines: Iterable[str], now: datetime
) -> dict[str, int]:
    bsns, invalid = read_bsns(lines)
    counts = {"bsns": len(bsns), "invalid": invalid, "kept": 0}
    async with AsyncConnectionPool(database_url, open=False, min_size=1, max_size=2) as pool:
        ring = await KeyStore(pool, keks[max(keks)], keks).load()
        version = domain.active_version(ring.keys, ring.rotation, now)
        scalar = ring.keys[version]
        vault = BsnVault(pool, keks)
        channel = aio_channel(signal_addr)
        try:
            stub = spb_grpc.SignalServiceStub(channel)
            for start in range(0, len(bsns), BATCH):
                chunk = bsns[start : start + BATCH]
                by_pseudonym = {domain.pseudonymise(b, version, scalar).encode(): b for b in chunk}
                reply = await stub.FilterActivePeople(
                    spb.FilterActivePeopleRequest(pseudonyms=list(by_pseudonym)), timeout=60
                )
                for pseudonym in reply.pseudonyms:
                    bsn = by_pseudonym[pseudonym]
                    await vault.keep(bsn, domain.hash_to_group(bsn))
                    counts["kept"] += 1
        finally:
            await channel.close()
    return counts
