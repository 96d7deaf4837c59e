"""Profile changes of an organisation that reach its signals (issue 22).

Signals flagged for review after their organisation's legal basis changed:
The organisation admin confirms each one (it stays active) or ends it (as a professional
would: archived, match and notify told). Only active signals are flagged; ending or removing
a signal takes its flag with it.
"""

from dataclasses import dataclass
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

# An admin's review page lists at most this many at a time.
MAX_LISTED = 500


@dataclass(frozen=True)
class Flag:
    signal_id: str
    flagged_at: datetime
    reason: str


async def flag(pool: AsyncConnectionPool, organisation_id: str, reason: str, now: datetime) -> int:
    """Flag every active signal of the organisation; return how many (flagged again: new reason)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO signal_reviews (signal_id, organisation_id, reason, flagged_at)"
            " SELECT signal_id, organisation_id, %s, %s FROM signals"
            " WHERE organisation_id = %s AND status = 'active'"
            " ON CONFLICT (signal_id) DO UPDATE SET reason = EXCLUDED.reason, flagged_at = EXCLUDED.flagged_at",
            (reason, now, organisation_id),
        )
        return cur.rowcount


async def flagged(pool: AsyncConnectionPool, organisation_id: str) -> list[Flag]:
    """The organisation's flagged signals that are still active, oldest flag first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT r.signal_id, r.flagged_at, r.reason FROM signal_reviews r"
            " JOIN signals s ON s.signal_id = r.signal_id"
            " WHERE r.organisation_id = %s AND s.status = 'active'"
            " ORDER BY r.flagged_at, r.signal_id LIMIT %s",
            (organisation_id, MAX_LISTED),
        )
        return [Flag(str(r[0]), r[1], r[2]) for r in await cur.fetchall()]


async def is_flagged(pool: AsyncConnectionPool, organisation_id: str, signal_id: str) -> bool:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT 1 FROM signal_reviews WHERE signal_id = %s AND organisation_id = %s",
            (signal_id, organisation_id),
        )
        return await cur.fetchone() is not None


async def clear(pool: AsyncConnectionPool, signal_id: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM signal_reviews WHERE signal_id = %s", (signal_id,))


async def set_may_coordinate(pool: AsyncConnectionPool, organisation_id: str, may_coordinate: bool) -> int:
    """The organisation's signals carry the new mayCoordinate (later events tell match so)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "UPDATE signals SET may_coordinate = %s WHERE organisation_id = %s AND may_coordinate <> %s",
            (may_coordinate, organisation_id, may_coordinate),
        )
        return cur.rowcount
