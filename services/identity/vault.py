"""The BSN vault of the BRP link: who may be re-checked, sealed, keyed by pseudonym (issue 18).

A pseudonym k_v * H(bsn) is turned back into H(bsn) with the key it was made with, so the
vault key survives key rotations; H(bsn) is then hashed with a vault secret derived from the
KEK. The BSN itself is sealed (XSalsa20-Poly1305) under another KEK-derived key.
"""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import timedelta

import rbcl
from nacl.secret import SecretBox
from psycopg_pool import AsyncConnectionPool

from services.identity import domain


def derive(kek: bytes, purpose: bytes) -> bytes:
    return hashlib.blake2b(purpose, key=kek, digest_size=32).digest()


def base_point(pseudonym: str, keys: Mapping[int, bytes]) -> bytes | None:
    """H(bsn) of a pseudonym whose key version is still held; None otherwise."""
    p = domain.Pseudonym.decode(pseudonym)
    scalar = keys.get(p.key_version)
    if scalar is None:
        return None
    return domain.multiply(bytes(rbcl.crypto_core_ristretto255_scalar_invert(scalar)), p.point)


class BsnVault:
    def __init__(self, pool: AsyncConnectionPool, kek: bytes) -> None:
        self.pool = pool
        self.index_key = derive(kek, b"sluis/brp-vault/index")
        self.box = SecretBox(derive(kek, b"sluis/brp-vault/seal"))

    def person_key(self, point: bytes) -> bytes:
        return hashlib.blake2b(point, key=self.index_key, digest_size=32).digest()

    async def keep(self, bsn: str, point: bytes) -> None:
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO brp_vault (person_key, sealed_bsn) VALUES (%s, %s)"
                " ON CONFLICT (person_key) DO UPDATE SET last_seen_at = now()",
                (self.person_key(point), bytes(self.box.encrypt(bsn.encode()))),
            )

    async def bsns(self, points: Sequence[bytes]) -> dict[bytes, str]:
        """point -> BSN for the points that have a vault entry (marked as still wanted)."""
        keys = {self.person_key(p): p for p in points}
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "UPDATE brp_vault SET last_seen_at = now() WHERE person_key = ANY(%s)"
                    " RETURNING person_key, sealed_bsn",
                    (list(keys),),
                )
            ).fetchall()
        return {keys[bytes(k)]: self.box.decrypt(bytes(s)).decode() for k, s in rows}

    async def forget(self, points: Sequence[bytes]) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM brp_vault WHERE person_key = ANY(%s)", ([self.person_key(p) for p in points],)
            )
            return cur.rowcount

    async def prune(self, older_than: timedelta) -> int:
        """Forget people the re-check no longer asks for: their last signal has ended."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM brp_vault WHERE last_seen_at < now() - %s::interval", (older_than,)
            )
            return cur.rowcount
