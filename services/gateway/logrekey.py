"""The gateway's own processing-log lines follow a pseudonym key rotation (ADR 0004).

The gateway stores no pseudonym but in its log (access requests, deaths). Lines are never
altered: like signal and match, the gateway records old tag -> new tag in its
`processing_log_links`, so a person's new pseudonym finds the lines written under the old
one. The bulk-worker process runs it (`BulkWorker`): the rotation protocol is the stores'
(services/common/rekey.py, `PseudonymRekeyer.run_once`), with this log as the store.
"""

import asyncio

from psycopg_pool import ConnectionPool

from services.common import processing_log
from services.common.rekey import PseudonymRekeyer


class LogStore:
    """`RekeyableStore` over the gateway's processing log (sync pool, called from one loop)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        with self.pool.connection() as conn:
            return processing_log.unlinked_pseudonyms_sync(conn, version, limit)

    async def replace(self, mapping: dict[str, str]) -> int:
        with self.pool.connection() as conn:
            processing_log.link_rekeyed_sync(conn, mapping)
        return len(mapping)

    async def count_version(self, version: int) -> int:
        with self.pool.connection() as conn:
            return len(processing_log.unlinked_pseudonyms_sync(conn, version))


def link_rotated(
    pool: ConnectionPool, identity_addr: str, *, margin: float = 2.0, timeout: float = 5.0, batch: int = 500
) -> int:
    """One look at identity; after a switch, link every log subject of the old key to its new
    pseudonym's tag. Returns how many were linked (0 when no rotation is in progress)."""

    async def once() -> int:
        rekeyer = PseudonymRekeyer(
            identity_addr, LogStore(pool), margin=margin, batch_size=batch, rpc_timeout=timeout
        )
        try:
            return await rekeyer.run_once()
        finally:
            await rekeyer.close()

    return asyncio.run(once())
