"""The BSN vault of the BRP link: who may be re-checked, sealed, keyed by pseudonym (issue 18).

A pseudonym k_v * H(bsn) is turned back into H(bsn) with the key it was made with, so the
vault key survives pseudonym-key rotations; H(bsn) is then hashed with an index secret
derived from a KEK version. The BSN itself is sealed (XSalsa20-Poly1305) under another key
derived from the same KEK version. Each row records that version (versioned KEK): a row
stays readable while its KEK version is held, a look-up finds it under any held version,
and `python -m services.identity rewrap` (or the next `keep`) moves it to the newest.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import psycopg
import rbcl
from nacl.exceptions import CryptoError
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


@dataclass(frozen=True)
class VaultKeys:
    """The index and seal keys of one KEK version."""

    index_key: bytes
    box: SecretBox

    @staticmethod
    def of(kek: bytes) -> "VaultKeys":
        return VaultKeys(
            derive(kek, b"sluis/brp-vault/index"), SecretBox(derive(kek, b"sluis/brp-vault/seal"))
        )

    def person_key(self, point: bytes) -> bytes:
        return hashlib.blake2b(point, key=self.index_key, digest_size=32).digest()


class VaultKeyring:
    """Every held KEK version's vault keys; the newest seals new rows."""

    def __init__(self, keks: Mapping[int, bytes]) -> None:
        if not keks:
            raise ValueError("the BSN vault needs at least one KEK version")
        self.versions = {v: VaultKeys.of(k) for v, k in keks.items()}
        self.current = max(keks)

    def candidates(self, points: Sequence[bytes]) -> dict[bytes, tuple[bytes, int]]:
        """person_key -> (point, KEK version), under every held version."""
        return {keys.person_key(p): (p, v) for v, keys in self.versions.items() for p in points}

    def open(self, sealed: bytes, version: int | None) -> tuple[int, str]:
        """(KEK version, BSN) of a sealed BSN: its recorded version, else every held one."""
        order = [version] if version in self.versions else sorted(self.versions, reverse=True)
        for v in order:
            try:
                return v, self.versions[v].box.decrypt(sealed).decode()
            except CryptoError:
                continue
        raise RuntimeError("a BSN vault entry cannot be opened by any known KEK version: wrong KEK Secret?")


class BsnVault:
    def __init__(self, pool: AsyncConnectionPool, keks: Mapping[int, bytes]) -> None:
        self.pool = pool
        self.keyring = VaultKeyring(keks)

    async def keep(self, bsn: str, point: bytes) -> None:
        """Mark the person as wanted; a row under an older KEK version is re-sealed."""
        ring = self.keyring
        current = ring.versions[ring.current]
        older = [k for k, (_, v) in ring.candidates([point]).items() if v != ring.current]
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM brp_vault WHERE person_key = ANY(%s)", (older,))
            await conn.execute(
                "INSERT INTO brp_vault (person_key, sealed_bsn, kek_version) VALUES (%s, %s, %s)"
                " ON CONFLICT (person_key) DO UPDATE SET last_seen_at = now()",
                (current.person_key(point), bytes(current.box.encrypt(bsn.encode())), ring.current),
            )

    async def bsns(self, points: Sequence[bytes]) -> dict[bytes, str]:
        """point -> BSN for the points that have a vault entry (marked as still wanted)."""
        candidates = self.keyring.candidates(points)
        async with self.pool.connection() as conn:
            rows = await (
                await conn.execute(
                    "UPDATE brp_vault SET last_seen_at = now() WHERE person_key = ANY(%s)"
                    " RETURNING person_key, sealed_bsn",
                    (list(candidates),),
                )
            ).fetchall()
        out: dict[bytes, str] = {}
        for key, sealed in rows:
            point, version = candidates[bytes(key)]
            out[point] = self.keyring.open(bytes(sealed), version)[1]
        return out

    async def forget(self, points: Sequence[bytes]) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM brp_vault WHERE person_key = ANY(%s)", (list(self.keyring.candidates(points)),)
            )
            return cur.rowcount

    async def prune(self, older_than: timedelta) -> int:
        """Forget people the re-check no longer asks for: their last signal has ended."""
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM brp_vault WHERE last_seen_at < now() - %s::interval", (older_than,)
            )
            return cur.rowcount


def rewrap_vault(conn: psycopg.Connection, keks: Mapping[int, bytes]) -> dict[str, int]:
    """Re-seal and re-index every vault row under the newest KEK version (in conn's transaction).

    Counts rows per KEK version found before ("unknown" never appears: NULL rows are opened
    by trying the held versions). A row no held version opens stops the command.
    """
    ring = VaultKeyring(keks)
    current = ring.versions[ring.current]
    found: dict[str, int] = {}
    rows = conn.execute("SELECT person_key, sealed_bsn, kek_version FROM brp_vault FOR UPDATE").fetchall()
    for key, sealed, recorded in rows:
        version, bsn = ring.open(bytes(sealed), recorded)
        found[str(version)] = found.get(str(version), 0) + 1
        if version == ring.current and recorded == ring.current:
            continue
        new_key = current.person_key(domain.hash_to_group(bsn))
        # A duplicate already under the newest version (written before this column) yields.
        conn.execute(
            "DELETE FROM brp_vault WHERE person_key = %s AND person_key <> %s", (new_key, bytes(key))
        )
        conn.execute(
            "UPDATE brp_vault SET person_key = %s, sealed_bsn = %s, kek_version = %s WHERE person_key = %s",
            (
                new_key,
                bytes(current.box.encrypt(bsn.encode())),
                ring.current,
                bytes(key),
            ),
        )
    return found
