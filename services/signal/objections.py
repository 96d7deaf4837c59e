"""Objections that stick: after an upheld objection the organisation may not signal the person
again until a region admin lifts the block (DELETE /v1/objections/{id}/block).

The block is keyed on (organisation, person pseudonym); it holds no signal id, so erasing the
signal leaves nothing of it here. Kept until lifted (docs/retention.md).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from services.common.errors import FailedPrecondition, NotFound

# How register_many reports a signal refused because of an upheld objection.
BLOCKED_PREFIX = "objection:"
BLOCKED_DETAIL = (
    "Na een gegrond bezwaar mag uw organisatie deze persoon niet opnieuw signaleren,"
    " tot de regiobeheerder de blokkade opheft."
)


def blocked(objection_id: str) -> FailedPrecondition:
    return FailedPrecondition("objection_upheld", BLOCKED_DETAIL, objection_id=objection_id)


def block_not_found() -> NotFound:
    return NotFound("objection_not_found", "Deze blokkade bestaat niet (meer).")


async def check_not_blocked(
    conn: psycopg.AsyncConnection[Any], pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The blocks on these (organisation id, pseudonym) pairs: pair -> objection id."""
    if not pairs:
        return {}
    rows = await (
        await conn.execute(
            "SELECT organisation_id, pseudonym, objection_id FROM objection_blocks"
            " WHERE (organisation_id, pseudonym) IN (SELECT * FROM unnest(%b::text[], %b::text[]))",
            ([p[0] for p in pairs], [p[1] for p in pairs]),
        )
    ).fetchall()
    return {(r[0], r[1]): str(r[2]) for r in rows}


async def add_block(
    conn: psycopg.AsyncConnection[Any], objection_id: str, organisation_id: str, pseudonym: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO objection_blocks (objection_id, organisation_id, pseudonym, upheld_at)"
        " VALUES (%s, %s, %s, %s)",
        (objection_id, organisation_id, pseudonym, now),
    )


async def lift_block(conn: psycopg.AsyncConnection[Any], objection_id: str) -> bool:
    cur = await conn.execute("DELETE FROM objection_blocks WHERE objection_id = %s", (objection_id,))
    return cur.rowcount > 0
