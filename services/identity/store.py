"""All SQL of the identity service: the wrapped pseudonymisation keys and the key rotations."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.common.errors import FailedPrecondition, NotFound
from services.identity import domain
from services.identity.vault import rewrap_vault

# Serialises StartRotation / FinishRotation across replicas.
_ROTATION_LOCK = 0x5E1D_0003

_ROTATION_COLUMNS = "rotation_id, from_version, to_version, state, started_at, switch_at, finished_at"


def _rotation(row: Any) -> domain.Rotation:
    return domain.Rotation(str(row[0]), row[1], row[2], row[3], row[4], row[5], row[6])


@dataclass(frozen=True)
class KeyRing:
    """What a replica holds in memory: the usable key scalars and the rotation in progress."""

    keys: dict[int, bytes]
    rotation: domain.Rotation | None


class NotInitialised(Exception):
    """The key table is empty: `python -m services.identity init` has not been run here."""


_INIT_SQL = (
    "INSERT INTO pseudonym_keys (version, wrapped, state) SELECT 1, %s, 'active'"
    " WHERE NOT EXISTS (SELECT 1 FROM pseudonym_keys) ON CONFLICT DO NOTHING"
)


def initialise_keys(url: str, kek: bytes) -> bool:
    """Create key version 1 on a new installation; False when keys already exist.

    Only ever run on purpose (`python -m services.identity init`): a service that found an
    empty table and made a key itself would hide a wrong database or a botched restore
    behind new, diverging pseudonyms.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(_INIT_SQL, (domain.wrap_key(kek, domain.new_scalar()),))
        return cur.rowcount == 1


def rewrap_keys(url: str, keks: dict[int, bytes]) -> tuple[dict[str, int], dict[str, int]]:
    """Wrap every stored key, and re-seal every BSN vault row, under the newest KEK version.

    Each key is unwrapped with whichever known KEK opens it (authenticated encryption, so
    only the right one does) and wrapped anew under the newest. One transaction: all or none.
    Returns the counts per KEK version found before: (pseudonym keys, vault rows).
    """
    current = max(keks)
    found: dict[str, int] = {}
    with psycopg.connect(url) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT version, wrapped FROM pseudonym_keys WHERE wrapped IS NOT NULL FOR UPDATE"
        ).fetchall()
        for version, wrapped in rows:
            kek_version, scalar = domain.unwrap_any(keks, bytes(wrapped))
            found[str(kek_version)] = found.get(str(kek_version), 0) + 1
            if kek_version != current:
                conn.execute(
                    "UPDATE pseudonym_keys SET wrapped = %s WHERE version = %s",
                    (domain.wrap_key(keks[current], scalar), version),
                )
        vault = rewrap_vault(conn, keks)
    return found, vault


class KeyStore:
    def __init__(self, pool: AsyncConnectionPool, kek: bytes, keks: dict[int, bytes] | None = None) -> None:
        self.pool = pool
        # `kek` (the newest version) wraps new keys; every version in `keks` still opens the
        # keys not yet re-wrapped (`python -m services.identity rewrap`).
        self.kek = kek
        self.keks = keks or {1: kek}

    async def require_initialised(self) -> None:
        """Refuse to serve on an empty key table (see `initialise_keys`)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM pseudonym_keys")).fetchone()
        if not row or row[0] == 0:
            raise NotInitialised(
                "the pseudonym key table is empty: on a new installation run"
                " `python -m services.identity init`; otherwise check SLUIS_DATABASE_URL"
                " (wrong database?) or the restore (docs/operations.md)"
            )

    async def load(self) -> KeyRing:
        """Every key that still exists, unwrapped in memory only, and the rotation in progress."""
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute("SELECT version, wrapped FROM pseudonym_keys WHERE wrapped IS NOT NULL")
            ).fetchall()
            rotation = await (
                await conn.execute(
                    f"SELECT {_ROTATION_COLUMNS} FROM key_rotations WHERE state = 'in_progress'"  # noqa: S608
                )
            ).fetchone()
        keys = {v: domain.unwrap_any(self.keks, bytes(w))[1] for v, w in rows}
        return KeyRing(keys, _rotation(rotation) if rotation else None)

    async def rotation(self, rotation_id: str | None) -> domain.Rotation:
        """A rotation by id, or (None) the one in progress; NotFound otherwise."""
        query = f"SELECT {_ROTATION_COLUMNS} FROM key_rotations WHERE "  # noqa: S608
        params: tuple[Any, ...]
        if rotation_id:
            try:
                uuid.UUID(rotation_id)
            except ValueError:
                raise NotFound("rotation_not_found", "Deze sleutelrotatie bestaat niet.") from None
            query, params = query + "rotation_id = %s", (rotation_id,)
        else:
            query, params = query + "state = 'in_progress'", ()
        async with self.pool.connection() as conn:
            row = await (await conn.execute(query.encode(), params)).fetchone()
        if row is None:
            if rotation_id:
                raise NotFound("rotation_not_found", "Deze sleutelrotatie bestaat niet.")
            raise NotFound("no_rotation", "Er loopt geen sleutelrotatie.")
        return _rotation(row)

    async def start_rotation(self, now: datetime, grace: timedelta) -> domain.Rotation:
        """Create key version n+1 (wrapped) and the rotation n -> n+1; one at a time."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROTATION_LOCK,))
            busy = await (
                await conn.execute("SELECT 1 FROM key_rotations WHERE state = 'in_progress'")
            ).fetchone()
            if busy:
                raise FailedPrecondition(
                    "rotation_in_progress", "Er loopt al een sleutelrotatie; rond die eerst af."
                )
            row = await (await conn.execute("SELECT max(version) FROM pseudonym_keys")).fetchone()
            from_version = int(row[0]) if row and row[0] is not None else 0
            if from_version == 0:
                raise FailedPrecondition("no_active_key", "Er is geen actieve pseudonimiseringssleutel.")
            to_version = from_version + 1
            await conn.execute(
                "INSERT INTO pseudonym_keys (version, wrapped, state) VALUES (%s, %s, 'next')",
                (to_version, domain.wrap_key(self.kek, domain.new_scalar())),
            )
            rotation = domain.Rotation(
                str(uuid.uuid4()), from_version, to_version, domain.IN_PROGRESS, now, now + grace
            )
            await conn.execute(
                "INSERT INTO key_rotations (rotation_id, from_version, to_version, state, started_at, switch_at)"
                " VALUES (%s, %s, %s, 'in_progress', %s, %s)",
                (rotation.rotation_id, from_version, to_version, rotation.started_at, rotation.switch_at),
            )
        return rotation

    async def finish_rotation(self, rotation_id: str, now: datetime) -> domain.Rotation:
        """Make the new key the active one and delete the old key's scalar for good."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_ROTATION_LOCK,))
            rotation = await self.rotation(rotation_id) if rotation_id else await self.rotation(None)
            domain.check_can_finish(rotation, now)
            await conn.execute(
                "UPDATE pseudonym_keys SET state = 'retired', wrapped = NULL WHERE version = %s",
                (rotation.from_version,),
            )
            await conn.execute(
                "UPDATE pseudonym_keys SET state = 'active' WHERE version = %s", (rotation.to_version,)
            )
            await conn.execute(
                "UPDATE key_rotations SET state = 'finished', finished_at = %s WHERE rotation_id = %s",
                (now, rotation.rotation_id),
            )
        return domain.Rotation(
            rotation.rotation_id,
            rotation.from_version,
            rotation.to_version,
            domain.FINISHED,
            rotation.started_at,
            rotation.switch_at,
            now,
        )
