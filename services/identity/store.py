"""All SQL of the identity service: the wrapped pseudonymisation keys."""

from psycopg_pool import AsyncConnectionPool

from services.identity import domain


class KeyStore:
    def __init__(self, pool: AsyncConnectionPool, kek: bytes) -> None:
        self.pool = pool
        self.kek = kek

    async def ensure_active_key(self) -> None:
        """Create key version 1 on a new installation (safe when replicas race)."""
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO pseudonym_keys (version, wrapped, state) SELECT 1, %s, 'active'"
                " WHERE NOT EXISTS (SELECT 1 FROM pseudonym_keys) ON CONFLICT DO NOTHING",
                (domain.wrap_key(self.kek, domain.new_scalar()),),
            )

    async def load(self) -> dict[int, tuple[str, bytes]]:
        """Every key version: (state, scalar), unwrapped in memory only."""
        async with self.pool.connection() as conn:
            rows = await (await conn.execute("SELECT version, state, wrapped FROM pseudonym_keys")).fetchall()
        return {v: (state, domain.unwrap_key(self.kek, bytes(w))) for v, state, w in rows}
