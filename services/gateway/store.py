"""All SQL of the gateway's own database: organisations, professionals, admins, API
credentials (hashed), idempotency keys, bulk loads and the audit log.

psycopg 3 sync with a thread-safe pool: Flask serves with threads (gunicorn gthread).

Over 500 lines on purpose: like every service, the gateway keeps all its SQL in one store
module (style guide), so a reviewer reads every query against the schema in one place.
"""

import functools
import secrets
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from services.common import processing_log
from services.common.db import POOL_TIMEOUT_SECONDS, check_sync_connection, connection_kwargs
from services.common.errors import AlreadyExists, FailedPrecondition
from services.gateway.authcache import AuthCache, UsageRecorder


def open_pool(url: str, *, max_size: int = 10, timeout: float = POOL_TIMEOUT_SECONDS) -> ConnectionPool:
    """A thread-safe pool to the gateway database, opened here (one per process, after fork).

    Same guard rails as the back ends (services.common.db): a short wait for a connection, so
    a request fails fast with 503 while PostgreSQL is down."""
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        open=False,
        check=check_sync_connection,  # no span per checkout
        kwargs=connection_kwargs("gateway"),
        name="gateway",
        timeout=timeout,
    )
    pool.open(wait=True, timeout=30)
    return pool


@dataclass(frozen=True)
class Organisation:
    id: uuid.UUID
    region: str
    name: str
    legal_basis: str
    legal_ground: str
    domains: list[str]
    may_coordinate: bool
    created_at: datetime
    # Lifecycle (issue 16): onboarded under a covenant; active, suspended or offboarded.
    covenant_date: date | None = None
    status: str = "active"
    status_changed_at: datetime | None = None


@dataclass(frozen=True)
class Invitation:
    """A one-time link (invitation, admin reset, e-mail confirmation); the token is not here."""

    id: uuid.UUID
    purpose: str
    kind: str
    subject_id: uuid.UUID
    email: str
    invited_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now

    def state(self, now: datetime) -> str:
        """Dutch, for the portal."""
        if self.used_at is not None:
            return "geaccepteerd"
        if self.revoked_at is not None:
            return "vervangen"
        return "open" if self.expires_at > now else "verlopen"


@dataclass(frozen=True)
class Professional:
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    role: str
    phone: str
    email: str
    active: bool
    created_at: datetime


@dataclass(frozen=True)
class Admin:
    id: uuid.UUID
    role: str
    region: str
    organisation_id: uuid.UUID | None
    name: str
    email: str
    created_at: datetime


@dataclass(frozen=True)
class Credential:
    id: uuid.UUID
    kind: str
    region: str
    organisation_id: uuid.UUID | None
    professional_id: uuid.UUID | None
    admin_id: uuid.UUID | None
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    # Filled in by the lookup: the admin's role for kind 'admin'.
    admin_role: str | None = None


@dataclass(frozen=True)
class BulkLoad:
    id: uuid.UUID
    organisation_id: uuid.UUID
    professional_id: uuid.UUID | None
    credential_id: uuid.UUID
    format: str
    state: str
    rows_total: int
    rows_done: int
    rows_failed: int
    next_row: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    claimed_by: uuid.UUID | None


_ORG_COLS = (
    "id, region, name, legal_basis, legal_ground, domains, may_coordinate, created_at,"
    " covenant_date, status, status_changed_at"
)
_INVITATION_COLS = (
    "id, purpose, kind, subject_id, email, invited_by, created_at, expires_at, used_at, revoked_at"
)
_PRO_COLS = "id, organisation_id, name, role, phone, email, active, created_at"
_ADMIN_COLS = "id, role, region, organisation_id, name, email, created_at"
_CRED_COLS = (
    "c.id, c.kind, c.region, c.organisation_id, c.professional_id, c.admin_id, c.name, c.scopes,"
    " c.created_at, c.last_used_at, c.revoked_at, c.expires_at"
)


_BULK_COLS = (
    "id, organisation_id, professional_id, credential_id, format, state, rows_total, rows_done,"
    " rows_failed, next_row, created_at, started_at, finished_at, claimed_by"
)

_COLUMNS = {
    "bulk": sql.SQL(_BULK_COLS),
    "org": sql.SQL(_ORG_COLS),
    # The same columns from an `organisations o` in a join (the auth context's one query).
    "org_o": sql.SQL(", ".join("o." + c.strip() for c in _ORG_COLS.split(","))),
    "pro": sql.SQL(_PRO_COLS),
    "admin": sql.SQL(_ADMIN_COLS),
    "inv": sql.SQL(_INVITATION_COLS),
    "cred": sql.SQL(_CRED_COLS),
    "cred_bare": sql.SQL(_CRED_COLS.replace("c.", "")),
}


def q(text: str) -> sql.Composed:
    """A query with the column lists above filled in ({org}, {pro}, {admin}, {cred})."""
    return sql.SQL(text).format(**_COLUMNS)


def _allowed(fields: dict[str, Any], allowed: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in fields.items() if k in allowed]


def _update_query(table: str, sets: list[tuple[str, Any]], returning: sql.Composable) -> sql.Composed:
    """UPDATE <table> SET <col> = %s, ... WHERE id = %s RETURNING <returning>: columns from a
    fixed allow-list, values always as parameters."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k, _ in sets
    )
    return sql.SQL("UPDATE {} SET {} WHERE id = %s RETURNING {}").format(
        sql.Identifier(table), assignments, returning
    )


@dataclass(frozen=True)
class CredentialContext:
    """A live credential with, in the same query, its professional and organisation."""

    credential: Credential
    professional: Professional | None
    organisation: Organisation | None


class _SameUpload(Exception):
    """Rolls back a staged upload that turned out to be a file this organisation sent before."""

    def __init__(self, job: "BulkLoad") -> None:
        super().__init__()
        self.job = job


_F = TypeVar("_F", bound=Callable[..., Any])


def _invalidates(method: _F) -> _F:
    """A change that may withdraw access: the auth cache of every gateway process drops it."""

    @functools.wraps(method)
    def wrapper(self: "GatewayStore", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            self.cache.invalidate()

    return cast(_F, wrapper)


class GatewayStore:
    """The gateway database. Every method takes a connection from the pool and returns it.

    Who is behind a key, and a professional with their organisation, are cached for at most
    5 s (services/gateway/authcache.py); every method here that changes them invalidates."""

    def __init__(self, pool: ConnectionPool, cache: AuthCache | None = None) -> None:
        self.pool = pool
        self.cache = cache if cache is not None else AuthCache()
        self.usage = UsageRecorder(self.touch_credentials)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn, conn.transaction():
            yield conn

    def ping(self) -> bool:
        try:
            with self.pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:
            return False

    # -- organisations ----------------------------------------------------------------------
    def organisation(self, organisation_id: uuid.UUID | str) -> Organisation | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Organisation)) as cur:
            return cur.execute(
                q("SELECT {org} FROM organisations WHERE id = %s"), (organisation_id,)
            ).fetchone()

    def organisations(self, region: str) -> list[Organisation]:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Organisation)) as cur:
            return cur.execute(
                q("SELECT {org} FROM organisations WHERE region = %s ORDER BY name"),
                (region,),
            ).fetchall()

    @_invalidates
    def upsert_organisation(
        self,
        *,
        region: str,
        name: str,
        legal_basis: str,
        legal_ground: str,
        domains: Sequence[str],
        may_coordinate: bool,
        organisation_id: uuid.UUID | None = None,
    ) -> Organisation:
        """Create an organisation, or update the profile of the one with this name in the region."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Organisation)) as cur:
            row = cur.execute(
                q(
                    "INSERT INTO organisations (id, region, name, legal_basis, legal_ground, domains, may_coordinate)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (region, name) DO UPDATE SET legal_basis = EXCLUDED.legal_basis,"
                    " legal_ground = EXCLUDED.legal_ground, domains = EXCLUDED.domains,"
                    " may_coordinate = EXCLUDED.may_coordinate RETURNING {org}"
                ),
                (
                    organisation_id or uuid.uuid4(),
                    region,
                    name,
                    legal_basis,
                    legal_ground,
                    list(domains),
                    may_coordinate,
                ),
            ).fetchone()
        assert row is not None
        return row

    @_invalidates
    def create_organisation(
        self,
        *,
        region: str,
        name: str,
        legal_basis: str,
        legal_ground: str,
        domains: Sequence[str],
        may_coordinate: bool,
        covenant_date: date | None = None,
    ) -> Organisation | None:
        """A new organisation; None when the region already has one with this name."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Organisation)) as cur:
            return cur.execute(
                q(
                    "INSERT INTO organisations (id, region, name, legal_basis, legal_ground, domains, may_coordinate,"
                    " covenant_date) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (region, name) DO NOTHING RETURNING {org}"
                ),
                (
                    uuid.uuid4(),
                    region,
                    name,
                    legal_basis,
                    legal_ground,
                    list(domains),
                    may_coordinate,
                    covenant_date,
                ),
            ).fetchone()

    @_invalidates
    def update_organisation(self, organisation_id: uuid.UUID | str, **fields: Any) -> Organisation | None:
        """Change the profile fields given (name, legal_basis, legal_ground, domains, may_coordinate,
        covenant_date, status, status_changed_at)."""
        sets = _allowed(
            fields,
            (
                "name",
                "legal_basis",
                "legal_ground",
                "domains",
                "may_coordinate",
                "covenant_date",
                "status",
                "status_changed_at",
            ),
        )
        if not sets:
            return self.organisation(organisation_id)
        query = _update_query("organisations", sets, _COLUMNS["org"])
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Organisation)) as cur:
            return cur.execute(query, [*(v for _, v in sets), organisation_id]).fetchone()

    # -- professionals ----------------------------------------------------------------------
    def professional(self, professional_id: uuid.UUID | str) -> Professional | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Professional)) as cur:
            return cur.execute(
                q("SELECT {pro} FROM professionals WHERE id = %s"), (professional_id,)
            ).fetchone()

    def professional_context(
        self, professional_id: uuid.UUID | str
    ) -> tuple[Professional, Organisation] | None:
        """A professional with their organisation: one query, cached (see the class)."""
        return self.cache.get(
            ("pro", str(professional_id)), lambda: self._professional_context(professional_id)
        )

    def _professional_context(
        self, professional_id: uuid.UUID | str
    ) -> tuple[Professional, Organisation] | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                q(
                    "SELECT p.id, p.organisation_id, p.name, p.role, p.phone, p.email, p.active, p.created_at,"
                    " {org_o} FROM professionals p JOIN organisations o ON o.id = p.organisation_id"
                    " WHERE p.id = %s"
                ),
                (professional_id,),
            ).fetchone()
        return None if row is None else (Professional(*row[:8]), Organisation(*row[8:]))

    def professional_by_email(self, email: str) -> Professional | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Professional)) as cur:
            return cur.execute(q("SELECT {pro} FROM professionals WHERE email = %s"), (email,)).fetchone()

    def professionals(self, organisation_id: uuid.UUID | str) -> list[Professional]:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Professional)) as cur:
            return cur.execute(
                q("SELECT {pro} FROM professionals WHERE organisation_id = %s ORDER BY name, id"),
                (organisation_id,),
            ).fetchall()

    @_invalidates
    def upsert_professional(
        self,
        *,
        organisation_id: uuid.UUID,
        name: str,
        role: str,
        phone: str,
        email: str,
        professional_id: uuid.UUID | None = None,
    ) -> Professional:
        """Create a professional, or update the one with this e-mail address (same organisation)."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Professional)) as cur:
            row = cur.execute(
                q(
                    "INSERT INTO professionals (id, organisation_id, name, role, phone, email)"
                    " VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,"
                    " phone = EXCLUDED.phone, active = true"
                    " WHERE professionals.organisation_id = EXCLUDED.organisation_id"
                    " RETURNING {pro}"
                ),
                (professional_id or uuid.uuid4(), organisation_id, name, role, phone, email),
            ).fetchone()
        if row is None:
            raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik bij een andere organisatie.")
        return row

    @_invalidates
    def update_professional(self, professional_id: uuid.UUID | str, **fields: Any) -> Professional | None:
        sets = _allowed(fields, ("name", "role", "phone", "email", "active"))
        if not sets:
            return self.professional(professional_id)
        query = _update_query("professionals", sets, _COLUMNS["pro"])
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Professional)) as cur:
            try:
                return cur.execute(query, [*(v for _, v in sets), professional_id]).fetchone()
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists("email_taken", "Dit e-mailadres is al in gebruik.") from None

    # -- admins -----------------------------------------------------------------------------
    def upsert_admin(
        self, *, role: str, region: str, organisation_id: uuid.UUID | None, name: str, email: str
    ) -> Admin:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            row = cur.execute(
                q(
                    "INSERT INTO admins (id, role, region, organisation_id, name, email)"
                    " VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name"
                    " RETURNING {admin}"
                ),
                (uuid.uuid4(), role, region, organisation_id, name, email),
            ).fetchone()
        assert row is not None
        return row

    def create_admin(
        self, *, role: str, region: str, organisation_id: uuid.UUID | None, name: str, email: str
    ) -> Admin | None:
        """A new admin; None when the e-mail address is taken (by an admin or a professional)."""
        with self.transaction() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            taken = conn.execute(
                "SELECT 1 FROM professionals WHERE email = %s UNION ALL SELECT 1 FROM web_accounts WHERE email = %s",
                (email, email),
            ).fetchone()
            if taken:
                return None
            return cur.execute(
                q(
                    "INSERT INTO admins (id, role, region, organisation_id, name, email)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (email) DO NOTHING RETURNING {admin}"
                ),
                (uuid.uuid4(), role, region, organisation_id, name, email),
            ).fetchone()

    def admin_by_email(self, email: str) -> Admin | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            return cur.execute(q("SELECT {admin} FROM admins WHERE email = %s"), (email,)).fetchone()

    def admins(self, region: str, organisation_id: uuid.UUID | None = None) -> list[Admin]:
        """The region's admins, or one organisation's admins (its SluiS-wachters)."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            if organisation_id is None:
                return cur.execute(
                    q("SELECT {admin} FROM admins WHERE region = %s ORDER BY role, name"), (region,)
                ).fetchall()
            return cur.execute(
                q("SELECT {admin} FROM admins WHERE region = %s AND organisation_id = %s ORDER BY name"),
                (region, organisation_id),
            ).fetchall()

    def change_email(self, kind: str, subject_id: uuid.UUID | str, email: str) -> bool:
        """A confirmed new address for a person and their login; False when it is taken."""
        table = "professionals" if kind == "professional" else "admins"
        try:
            with self.transaction() as conn:
                conn.execute(
                    sql.SQL("UPDATE {} SET email = %s WHERE id = %s").format(sql.Identifier(table)),
                    (email, subject_id),
                )
                conn.execute(
                    "UPDATE web_accounts SET email = %s WHERE kind = %s AND subject_id = %s",
                    (email, kind, subject_id),
                )
        except psycopg.errors.UniqueViolation:
            return False
        return True

    # -- invitations and recovery codes ------------------------------------------------------
    def create_invitation(
        self,
        *,
        token_hash: bytes,
        purpose: str,
        kind: str,
        subject_id: uuid.UUID,
        email: str,
        invited_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> Invitation:
        """A new link; earlier open links of the same person and purpose stop working."""
        with self.transaction() as conn, conn.cursor(row_factory=class_row(Invitation)) as cur:
            conn.execute(
                "UPDATE invitations SET revoked_at = %s WHERE kind = %s AND subject_id = %s AND purpose = %s"
                " AND used_at IS NULL AND revoked_at IS NULL",
                (now, kind, subject_id, purpose),
            )
            row = cur.execute(
                q(
                    "INSERT INTO invitations (id, token_hash, purpose, kind, subject_id, email, invited_by,"
                    " created_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {inv}"
                ),
                (uuid.uuid4(), token_hash, purpose, kind, subject_id, email, invited_by, now, expires_at),
            ).fetchone()
        assert row is not None
        return row

    def invitation_by_hash(self, token_hash: bytes) -> Invitation | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Invitation)) as cur:
            return cur.execute(
                q("SELECT {inv} FROM invitations WHERE token_hash = %s"), (token_hash,)
            ).fetchone()

    def invitations_of(self, kind: str, subject_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Invitation]:
        """The newest invitation or reset link per person."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Invitation)) as cur:
            rows = cur.execute(
                q(
                    "SELECT DISTINCT ON (subject_id) {inv} FROM invitations WHERE kind = %s"
                    " AND subject_id = ANY(%s) AND purpose IN ('invitation', 'reset')"
                    " ORDER BY subject_id, created_at DESC"
                ),
                (kind, list(subject_ids)),
            ).fetchall()
        return {r.subject_id: r for r in rows}

    def accept_invitation(
        self,
        invitation_id: uuid.UUID,
        now: datetime,
        *,
        password_hash: str,
        totp_secret: str,
        totp_step: int,
        recovery_hashes: Sequence[str],
    ) -> bool:
        """Spend the link and set the login (password, TOTP, recovery codes) in one transaction;
        False when the link was used, replaced or expired meanwhile."""
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE invitations SET used_at = %s WHERE id = %s AND used_at IS NULL AND revoked_at IS NULL"
                " AND expires_at > %s RETURNING kind, subject_id, email",
                (now, invitation_id, now),
            ).fetchone()
            if row is None:
                return False
            kind, subject_id, email = row
            conn.execute(
                "UPDATE web_sessions SET revoked_at = now() WHERE kind = %s AND subject_id = %s AND revoked_at IS NULL",
                (kind, subject_id),
            )
            conn.execute("DELETE FROM web_accounts WHERE kind = %s AND subject_id = %s", (kind, subject_id))
            conn.execute(
                "INSERT INTO web_accounts (email, kind, subject_id, password_hash, totp_secret, totp_last_step)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (email, kind, subject_id, password_hash, totp_secret, totp_step),
            )
            conn.execute("DELETE FROM recovery_codes WHERE kind = %s AND subject_id = %s", (kind, subject_id))
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO recovery_codes (kind, subject_id, code_hash) VALUES (%s, %s, %s)",
                    [(kind, subject_id, h) for h in recovery_hashes],
                )
        return True

    def use_email_link(self, invitation_id: uuid.UUID, now: datetime) -> bool:
        with self.pool.connection() as conn:
            return bool(
                conn.execute(
                    "UPDATE invitations SET used_at = %s WHERE id = %s AND used_at IS NULL AND revoked_at IS NULL"
                    " AND expires_at > %s",
                    (now, invitation_id, now),
                ).rowcount
            )

    def remove_login(self, kind: str, subject_id: uuid.UUID | str) -> None:
        """An admin reset: the old password, TOTP, recovery codes and every session end at once."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE web_sessions SET revoked_at = now() WHERE kind = %s AND subject_id = %s AND revoked_at IS NULL",
                (kind, subject_id),
            )
            conn.execute("DELETE FROM web_accounts WHERE kind = %s AND subject_id = %s", (kind, subject_id))
            conn.execute("DELETE FROM recovery_codes WHERE kind = %s AND subject_id = %s", (kind, subject_id))

    def recovery_codes(self, kind: str, subject_id: uuid.UUID | str) -> list[tuple[int, str]]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT id, code_hash FROM recovery_codes WHERE kind = %s AND subject_id = %s AND used_at IS NULL",
                (kind, subject_id),
            ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def use_recovery_code(self, code_id: int, email: str) -> bool:
        """Spend a recovery code (once) and count it as a successful login."""
        with self.transaction() as conn:
            used = conn.execute(
                "UPDATE recovery_codes SET used_at = now() WHERE id = %s AND used_at IS NULL", (code_id,)
            ).rowcount
            if used:
                conn.execute(
                    "UPDATE web_accounts SET failed_logins = 0, locked_until = NULL WHERE email = %s",
                    (email,),
                )
        return bool(used)

    def set_password(
        self, kind: str, subject_id: uuid.UUID | str, password_hash: str, keep_session: str
    ) -> None:
        """A self-service password change: every other session of the person ends."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE web_sessions SET revoked_at = now() WHERE kind = %s AND subject_id = %s"
                " AND revoked_at IS NULL AND id <> %s",
                (kind, subject_id, keep_session),
            )
            conn.execute(
                "UPDATE web_accounts SET password_hash = %s WHERE kind = %s AND subject_id = %s",
                (password_hash, kind, subject_id),
            )

    # -- credentials ------------------------------------------------------------------------
    def credential_context(self, key_hash: bytes) -> CredentialContext | None:
        """The live credential with this key hash, its professional and organisation: one
        query, cached (see the class; an expiry passed meanwhile is checked on every hit)."""
        found = self.cache.get(("key", key_hash), lambda: self._credential_context(key_hash))
        if found is None:
            return None
        expires = found.credential.expires_at
        if expires is not None and expires <= datetime.now(UTC):
            return None
        return found

    def _credential_context(self, key_hash: bytes) -> CredentialContext | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                q(
                    "SELECT {cred}, a.role,"
                    " p.id, p.organisation_id, p.name, p.role, p.phone, p.email, p.active, p.created_at,"
                    " {org_o} FROM api_credentials c"
                    " LEFT JOIN admins a ON a.id = c.admin_id"
                    " LEFT JOIN professionals p ON p.id = c.professional_id"
                    " LEFT JOIN organisations o ON o.id = coalesce(p.organisation_id, c.organisation_id)"
                    " WHERE c.key_hash = %s AND c.revoked_at IS NULL"
                    " AND (c.expires_at IS NULL OR c.expires_at > now())"
                ),
                (key_hash,),
            ).fetchone()
        if row is None:
            return None
        cred = Credential(*row[:13])
        pro = Professional(*row[13:21]) if row[13] is not None else None
        org = Organisation(*row[21:]) if row[21] is not None else None
        return CredentialContext(cred, pro, org)

    def touch_credential(self, credential_id: uuid.UUID) -> None:
        """Record use: at most once a minute per credential, written in the background."""
        self.usage.used(credential_id)

    def touch_credentials(self, credential_ids: Sequence[uuid.UUID]) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE api_credentials SET last_used_at = now() WHERE id = ANY(%s)"
                " AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
                (list(credential_ids),),
            )

    def add_credential(
        self,
        *,
        key_hash: bytes,
        kind: str,
        region: str,
        organisation_id: uuid.UUID | None = None,
        professional_id: uuid.UUID | None = None,
        admin_id: uuid.UUID | None = None,
        name: str = "",
        scopes: Sequence[str] = (),
    ) -> Credential:
        """Store a credential (its key's hash only); an existing identical hash is kept as is."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Credential)) as cur:
            cur.execute(
                "INSERT INTO api_credentials (id, key_hash, kind, region, organisation_id, professional_id,"
                " admin_id, name, scopes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (key_hash) DO NOTHING",
                (
                    uuid.uuid4(),
                    key_hash,
                    kind,
                    region,
                    organisation_id,
                    professional_id,
                    admin_id,
                    name,
                    list(scopes),
                ),
            )
            row = cur.execute(
                q("SELECT {cred} FROM api_credentials c WHERE c.key_hash = %s"),
                (key_hash,),
            ).fetchone()
        assert row is not None
        return row

    def credentials(self, organisation_id: uuid.UUID | str) -> list[Credential]:
        self.usage.flush()  # lastUsedAt as this process knows it
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Credential)) as cur:
            return cur.execute(
                q(
                    "SELECT {cred} FROM api_credentials c WHERE c.organisation_id = %s"
                    " AND c.kind = 'system' ORDER BY c.created_at, c.id"
                ),
                (organisation_id,),
            ).fetchall()

    def credential(self, credential_id: uuid.UUID | str) -> Credential | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Credential)) as cur:
            return cur.execute(
                q("SELECT {cred} FROM api_credentials c WHERE c.id = %s"),
                (credential_id,),
            ).fetchone()

    @_invalidates
    def revoke_credential(self, credential_id: uuid.UUID | str) -> Credential | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Credential)) as cur:
            return cur.execute(
                q(
                    "UPDATE api_credentials c SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s"
                    " RETURNING {cred}"
                ),
                (credential_id,),
            ).fetchone()

    @_invalidates
    def rotate_credential(
        self, credential_id: uuid.UUID | str, new_key_hash: bytes, grace_seconds: int
    ) -> Credential | None:
        """A new key with the same scope; the old one keeps working for `grace_seconds`."""
        with self.transaction() as conn, conn.cursor(row_factory=class_row(Credential)) as cur:
            old = cur.execute(
                q("SELECT {cred} FROM api_credentials c WHERE c.id = %s AND c.revoked_at IS NULL FOR UPDATE"),
                (credential_id,),
            ).fetchone()
            if old is None:
                return None
            # Issue 14 row 12: a key in its grace period already has its one live successor.
            replaced = conn.execute("SELECT replaced_by FROM api_credentials WHERE id = %s", (credential_id,))
            if replaced.fetchone() != (None,):
                raise FailedPrecondition(
                    "credential_already_rotated",
                    "Deze sleutel is al vervangen; vervang zo nodig de nieuwe sleutel.",
                )
            new_id = uuid.uuid4()
            new = cur.execute(
                q(
                    "INSERT INTO api_credentials (id, key_hash, kind, region, organisation_id, professional_id,"
                    " admin_id, name, scopes) SELECT %s, %s, kind, region, organisation_id, professional_id,"
                    " admin_id, name, scopes FROM api_credentials WHERE id = %s"
                    " RETURNING {cred_bare}"
                ),
                (new_id, new_key_hash, credential_id),
            ).fetchone()
            cur.execute(
                "UPDATE api_credentials SET replaced_by = %s,"
                " expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => %s))"
                " WHERE id = %s",
                (new_id, grace_seconds, credential_id),
            )
        return new

    # -- idempotency ------------------------------------------------------------------------
    def claim_idempotency_key(
        self, credential_id: uuid.UUID, key: str, req_hash: bytes
    ) -> tuple[str, tuple[int, dict[str, str], bytes] | None]:
        """('new', None) when this request may run; ('replay', response) for a finished one;
        ('mismatch', None) when the key was used for another request; ('busy', None) while the
        first request is still running."""
        with self.transaction() as conn:
            inserted = conn.execute(
                "INSERT INTO idempotency_keys (credential_id, key, request_hash) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (credential_id, key, req_hash),
            ).rowcount
            if inserted:
                return "new", None
            # A claim whose request never finished (the process died) is taken over after a minute.
            taken = conn.execute(
                "UPDATE idempotency_keys SET created_at = now() WHERE credential_id = %s AND key = %s"
                " AND request_hash = %s AND status IS NULL AND created_at < now() - interval '60 seconds'",
                (credential_id, key, req_hash),
            ).rowcount
            if taken:
                return "new", None
            row = conn.execute(
                "SELECT request_hash, status, headers, body FROM idempotency_keys"
                " WHERE credential_id = %s AND key = %s",
                (credential_id, key),
            ).fetchone()
        if row is None:
            return "busy", None
        stored_hash, status, headers, body = row
        # NULL: a key stored before the fingerprint was keyed (migration 015); it expires
        # within a day, until then a retry is replayed without the comparison.
        if stored_hash is not None and bytes(stored_hash) != req_hash:
            return "mismatch", None
        if status is None:
            return "busy", None
        return "replay", (int(status), dict(headers or {}), bytes(body or b""))

    def complete_idempotency_key(
        self, credential_id: uuid.UUID, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE idempotency_keys SET status = %s, headers = %s, body = %s"
                " WHERE credential_id = %s AND key = %s",
                (status, Jsonb(headers), body, credential_id, key),
            )

    def erase_idempotency_replies(self, signal_id: str) -> int:
        """Erasure (issue 12): forget stored replies that name an erased signal (its
        registration's 201 and Location). The table holds at most 24 h of keys."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                "DELETE FROM idempotency_keys WHERE position(%s::bytea in coalesce(body, ''::bytea)) > 0"
                " OR coalesce(headers::text, '') LIKE %s",
                (signal_id.encode(), f"%{signal_id}%"),
            )
            return cur.rowcount

    def release_idempotency_key(self, credential_id: uuid.UUID, key: str) -> None:
        """The request failed in a way worth retrying (5xx): forget the key."""
        with self.pool.connection() as conn:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE credential_id = %s AND key = %s AND status IS NULL",
                (credential_id, key),
            )

    def purge_idempotency_keys(self, older_than_hours: int = 24) -> int:
        with self.pool.connection() as conn:
            return conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => %s)",
                (older_than_hours,),
            ).rowcount

    # -- audit ------------------------------------------------------------------------------
    def audit(
        self,
        *,
        credential_id: uuid.UUID | None,
        role: str,
        action: str,
        target: str,
        outcome: str,
        trace_id: str,
    ) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO audit_log (credential_id, role, action, target, outcome, trace_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (credential_id, role, action, target, outcome, trace_id),
            )

    # -- processing log (services/common/processing_log.py) ------------------------------
    def log_processing(self, lines: Sequence[processing_log.Line]) -> None:
        """The gateway's own processings (access requests, deaths): written before the answer."""
        with self.pool.connection() as conn:
            processing_log.write_sync(conn, "sluis-gateway", lines)

    def processing_log(
        self, pseudonym: str, tags: Sequence[bytes] = ()
    ) -> list[processing_log.pb.ProcessingLogLine]:
        """The person's lines: by the pseudonym's tag and the earlier `tags` (key rotations)."""
        with self.pool.connection() as conn:
            return processing_log.read_sync(conn, pseudonym, tags)

    def subject_tags(self, pseudonym: str, others: Sequence[bytes] = ()) -> list[bytes]:
        """The person's tags: current, `others` (signal's and match's), and where the
        gateway's own links lead from them."""
        with self.pool.connection() as conn:
            return processing_log.known_tags_sync(conn, pseudonym, others)

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            cur = conn.execute(
                "SELECT at, credential_id, role, action, target, outcome, trace_id FROM audit_log"
                " ORDER BY id DESC LIMIT %s",
                (limit,),
            )
            names = [d.name for d in cur.description or ()]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # -- bulk loads -------------------------------------------------------------------------
    def create_bulk_load(
        self,
        *,
        job_id: uuid.UUID,
        organisation_id: uuid.UUID,
        professional_id: uuid.UUID | None,
        credential_id: uuid.UUID,
        file_format: str,
        stage: Callable[[Callable[[bytes], None]], tuple[bytes, int, int]],
    ) -> tuple[BulkLoad, bool]:
        """A new job with its file, or (existing job, False) when this organisation already
        uploaded exactly this file: re-uploading changes nothing.

        `stage(put)` reads the upload, hands each sealed segment to `put` as it goes
        (services/gateway/staging.py) and answers (content hash, rows, bytes). It all happens
        in one transaction: a refused or broken upload leaves no job and no segment, and no
        worker sees a job before its whole file is there.
        """
        try:
            with self.transaction() as conn, conn.cursor(row_factory=class_row(BulkLoad)) as cur:
                # The real fingerprint is known only at the end; the job's id stands in.
                cur.execute(
                    "INSERT INTO bulk_loads (id, organisation_id, professional_id, credential_id, content_hash,"
                    " format, state) VALUES (%s, %s, %s, %s, %s, %s, 'queued')",
                    (job_id, organisation_id, professional_id, credential_id, job_id.bytes, file_format),
                )
                seq = 0

                def put(sealed: bytes) -> None:
                    nonlocal seq
                    conn.execute(
                        "INSERT INTO bulk_load_files (bulk_load_id, seq, content) VALUES (%s, %s, %s)",
                        (job_id, seq, sealed),
                    )
                    seq += 1

                content_hash, rows_total, file_bytes = stage(put)
                existing = self._bulk_load_by_hash(cur, organisation_id, content_hash)
                if existing is not None:
                    raise _SameUpload(existing)
                job = cur.execute(
                    q(
                        "UPDATE bulk_loads SET content_hash = %s, rows_total = %s, file_bytes = %s"
                        " WHERE id = %s RETURNING {bulk}"
                    ),
                    (content_hash, rows_total, file_bytes, job_id),
                ).fetchone()
                assert job is not None
                return job, True
        except _SameUpload as same:
            return same.job, False
        except psycopg.errors.UniqueViolation:
            # The same file, uploaded at the same moment, committed first.
            with self.pool.connection() as conn, conn.cursor(row_factory=class_row(BulkLoad)) as cur:
                found = self._bulk_load_by_hash(cur, organisation_id, content_hash)
            assert found is not None
            return found, False

    @staticmethod
    def _bulk_load_by_hash(cur: Any, organisation_id: uuid.UUID, content_hash: bytes) -> BulkLoad | None:
        return cast(
            BulkLoad | None,
            cur.execute(
                q("SELECT {bulk} FROM bulk_loads WHERE organisation_id = %s AND content_hash = %s"),
                (organisation_id, content_hash),
            ).fetchone(),
        )

    def bulk_load(self, bulk_load_id: uuid.UUID | str) -> BulkLoad | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(BulkLoad)) as cur:
            return cur.execute(q("SELECT {bulk} FROM bulk_loads WHERE id = %s"), (bulk_load_id,)).fetchone()

    def claim_bulk_load(self, worker: uuid.UUID, stale_seconds: float) -> BulkLoad | None:
        """Take the oldest queued job, or a running one whose worker stopped beating."""
        with self.transaction() as conn, conn.cursor(row_factory=class_row(BulkLoad)) as cur:
            return cur.execute(
                q(
                    "UPDATE bulk_loads SET state = 'running', claimed_by = %s, heartbeat_at = now(),"
                    " started_at = coalesce(started_at, now())"
                    " WHERE id = (SELECT id FROM bulk_loads WHERE state = 'queued'"
                    "   OR (state = 'running' AND heartbeat_at < now() - make_interval(secs => %s))"
                    "   ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
                    " RETURNING {bulk}"
                ),
                (worker, stale_seconds),
            ).fetchone()

    def bulk_file_segment(self, bulk_load_id: uuid.UUID, seq: int) -> bytes | None:
        """One sealed segment of a staged upload (None: gone)."""
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT content FROM bulk_load_files WHERE bulk_load_id = %s AND seq = %s",
                (bulk_load_id, seq),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def commit_bulk_chunk(
        self,
        bulk_load_id: uuid.UUID,
        worker: uuid.UUID,
        from_row: int,
        next_row: int,
        done: int,
        errors: Sequence[tuple[int, str, str]],
    ) -> bool:
        """Record one processed chunk under the worker's claim; False if the claim was lost."""
        with self.transaction() as conn:
            moved = conn.execute(
                "UPDATE bulk_loads SET next_row = %s, rows_done = rows_done + %s, rows_failed = rows_failed + %s,"
                " heartbeat_at = now() WHERE id = %s AND claimed_by = %s AND next_row = %s AND state = 'running'",
                (next_row, done, len(errors), bulk_load_id, worker, from_row),
            ).rowcount
            if not moved:
                return False
            if errors:
                with conn.cursor().copy(
                    "COPY bulk_load_errors (bulk_load_id, row_number, reason, field) FROM STDIN"
                ) as copy:
                    for number, reason, field in errors:
                        copy.write_row((bulk_load_id, number, reason, field))
        return True

    def heartbeat_bulk_load(self, bulk_load_id: uuid.UUID, worker: uuid.UUID) -> bool:
        with self.pool.connection() as conn:
            return bool(
                conn.execute(
                    "UPDATE bulk_loads SET heartbeat_at = now() WHERE id = %s AND claimed_by = %s",
                    (bulk_load_id, worker),
                ).rowcount
            )

    def finish_bulk_load(self, bulk_load_id: uuid.UUID, worker: uuid.UUID, state: str = "done") -> bool:
        """Mark the job finished and drop its (sealed) file; the caller destroys its key."""
        with self.transaction() as conn:
            moved = conn.execute(
                "UPDATE bulk_loads SET state = %s, finished_at = now(), heartbeat_at = now()"
                " WHERE id = %s AND claimed_by = %s AND state = 'running'",
                (state, bulk_load_id, worker),
            ).rowcount
            if moved:
                conn.execute("DELETE FROM bulk_load_files WHERE bulk_load_id = %s", (bulk_load_id,))
        return bool(moved)

    def bulk_errors(self, bulk_load_id: uuid.UUID) -> Iterator[tuple[int, str, str]]:
        """The row errors, in row order (streamed)."""
        with self.pool.connection() as conn, conn.cursor(name="bulk_errors") as cur:
            cur.itersize = 10_000
            cur.execute(
                "SELECT row_number, reason, field FROM bulk_load_errors WHERE bulk_load_id = %s ORDER BY row_number",
                (bulk_load_id,),
            )
            for number, reason, field in cur:
                yield int(number), str(reason), str(field)

    # -- web portal accounts ----------------------------------------------------------------
    def organisation_admins(self, organisation_id: uuid.UUID | str) -> list[Admin]:
        """The admins of one organisation (told about an upheld objection, issue 12)."""
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            return cur.execute(
                q(
                    "SELECT {admin} FROM admins WHERE organisation_id = %s AND role = 'organisationAdmin' ORDER BY id"
                ),
                (organisation_id,),
            ).fetchall()

    def admin(self, admin_id: uuid.UUID | str) -> Admin | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(Admin)) as cur:
            return cur.execute(q("SELECT {admin} FROM admins WHERE id = %s"), (admin_id,)).fetchone()

    def web_account(self, email: str) -> "WebAccount | None":
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(WebAccount)) as cur:
            return cur.execute(
                "SELECT email, kind, subject_id, password_hash, totp_secret, totp_last_step, failed_logins, locked_until"
                " FROM web_accounts WHERE email = %s",
                (email.strip().lower(),),
            ).fetchone()

    def web_account_of(self, kind: str, subject_id: uuid.UUID | str) -> "WebAccount | None":
        with self.pool.connection() as conn, conn.cursor(row_factory=class_row(WebAccount)) as cur:
            return cur.execute(
                "SELECT email, kind, subject_id, password_hash, totp_secret, totp_last_step, failed_logins, locked_until"
                " FROM web_accounts WHERE kind = %s AND subject_id = %s",
                (kind, subject_id),
            ).fetchone()

    def set_web_account(
        self, *, email: str, kind: str, subject_id: uuid.UUID, password_hash: str, totp_secret: str
    ) -> None:
        """Create or replace the portal login of a person (clears failures and lock-out)."""
        with self.transaction() as conn:
            # A new password and TOTP secret end every session the person had.
            conn.execute(
                "UPDATE web_sessions SET revoked_at = now()"
                " WHERE kind = %s AND subject_id = %s AND revoked_at IS NULL",
                (kind, subject_id),
            )
            conn.execute("DELETE FROM web_accounts WHERE kind = %s AND subject_id = %s", (kind, subject_id))
            conn.execute(
                "INSERT INTO web_accounts (email, kind, subject_id, password_hash, totp_secret)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (email) DO UPDATE SET kind = EXCLUDED.kind,"
                " subject_id = EXCLUDED.subject_id, password_hash = EXCLUDED.password_hash,"
                " totp_secret = EXCLUDED.totp_secret, totp_last_step = 0, failed_logins = 0,"
                " locked_until = NULL",
                (email.strip().lower(), kind, subject_id, password_hash, totp_secret),
            )

    def set_totp_secret(self, email: str, totp_secret: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE web_sessions s SET revoked_at = now() FROM web_accounts a"
                " WHERE a.email = %s AND s.kind = a.kind AND s.subject_id = a.subject_id"
                " AND s.revoked_at IS NULL",
                (email,),
            )
            conn.execute(
                "UPDATE web_accounts SET totp_secret = %s, totp_last_step = 0 WHERE email = %s",
                (totp_secret, email),
            )

    def web_login_failed(self, email: str, max_failures: int, lock_seconds: int) -> None:
        """Count a failed attempt; the `max_failures`-th locks the account for `lock_seconds`."""
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE web_accounts SET failed_logins = failed_logins + 1,"
                " locked_until = CASE WHEN failed_logins + 1 >= %s"
                "   THEN now() + make_interval(secs => %s) ELSE locked_until END"
                " WHERE email = %s",
                (max_failures, lock_seconds, email),
            )

    def web_login_succeeded(self, email: str, totp_step: int) -> bool:
        """Reset the failure count and spend the TOTP step; False if the step was used already."""
        with self.pool.connection() as conn:
            return bool(
                conn.execute(
                    "UPDATE web_accounts SET failed_logins = 0, locked_until = NULL, totp_last_step = %s"
                    " WHERE email = %s AND totp_last_step < %s",
                    (totp_step, email, totp_step),
                ).rowcount
            )

    # -- portal sessions and login throttling --------------------------------------------------
    def start_web_session(self, session_id: str, kind: str, subject_id: uuid.UUID) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO web_sessions (id, kind, subject_id) VALUES (%s, %s, %s)",
                (session_id, kind, subject_id),
            )

    def web_session_live(self, session_id: str) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM web_sessions WHERE id = %s AND revoked_at IS NULL", (session_id,)
            ).fetchone()
            return row is not None

    def revoke_web_session(self, session_id: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE web_sessions SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL",
                (session_id,),
            )

    def revoke_web_sessions(self, kind: str, subject_id: uuid.UUID | str) -> int:
        """Every live session of one person (log out everywhere, password or TOTP reset)."""
        with self.pool.connection() as conn:
            return conn.execute(
                "UPDATE web_sessions SET revoked_at = now()"
                " WHERE kind = %s AND subject_id = %s AND revoked_at IS NULL",
                (kind, subject_id),
            ).rowcount

    def login_throttled(self, key: bytes) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM web_login_throttle WHERE key = %s AND locked_until > now()", (key,)
            ).fetchone()
            return row is not None

    def login_throttle_failed(self, key: bytes, max_failures: int, lock_seconds: int) -> None:
        """Count a failure for this key; at max_failures it is locked for lock_seconds. Failures
        older than the lock time no longer count."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO web_login_throttle AS t (key, failures) VALUES (%s, 1)"
                " ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN t.updated_at < now() - make_interval(secs => %s) THEN 1"
                " ELSE t.failures + 1 END, updated_at = now()",
                (key, lock_seconds),
            )
            conn.execute(
                "UPDATE web_login_throttle SET failures = 0,"
                " locked_until = now() + make_interval(secs => %s) WHERE key = %s AND failures >= %s",
                (lock_seconds, key, max_failures),
            )

    def web_secret(self) -> str:
        """The shared session-signing key of this deployment (created once)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO web_secret (id, secret_key) VALUES (1, %s) ON CONFLICT DO NOTHING",
                (secrets.token_hex(32),),
            )
            row = conn.execute("SELECT secret_key FROM web_secret WHERE id = 1").fetchone()
        assert row is not None
        return str(row[0])


@dataclass(frozen=True)
class WebAccount:
    email: str
    kind: str
    subject_id: uuid.UUID
    password_hash: str
    totp_secret: str
    totp_last_step: int
    failed_logins: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now
