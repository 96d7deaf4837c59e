"""The processing log (Logboek Dataverwerkingen, docs/adr/0004-processing-log.md).

Every processing of a person's data writes one line per person into the service's own
`processing_log` table, in the SAME transaction as the processing: a processing cannot
commit without its line. Who acted goes into `processing_audit`, linked by operation id.

The person (`dpl.core.data_subject_id`) is the pseudonym encrypted with AES-GCM under the
log key (`SLUIS_PROCESSING_LOG_KEY`); a keyed lookup tag (HMAC-SHA256 of the pseudonym)
finds one person's lines. Neither reveals the pseudonym, so the log alone identifies
nobody. A pseudonym key rotation gives the person a new pseudonym and so a new tag: the
store's re-key step records old tag -> new tag in `processing_log_links` (lines are never
altered), and a look-up follows those links back to every earlier tag.
"""

import base64
import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from sluis.types.v1 import processing_log_pb2 as pb

from services.common.protos import to_timestamp

log = logging.getLogger(__name__)

# The tables, the same in every service that keeps a log (like the outbox's): one migration.
MIGRATIONS = Path(__file__).parent / "migrations" / "processing_log"

# The standard's attribute names (Logboek Dataverwerkingen, dpl.core namespace).
ACTIVITY_ATTRIBUTE = "dpl.core.processing_activity_id"
SUBJECT_ATTRIBUTE = "dpl.core.data_subject_id"
SUBJECT_TYPE_ATTRIBUTE = "dpl.core.data_subject_id_type"
# SluiS names the person by the region's pseudonym, never by BSN.
SUBJECT_TYPE = "https://sluis.nl/id/pseudonym"
ACTIVITY_URI = "https://sluis.nl/verwerkingsregister/"

STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_UNKNOWN = "unknown"

# Only for `make run` and tests: a production service sets SLUIS_PROCESSING_LOG_KEY
# (the Helm chart demands it).
_DEVELOPMENT_SECRET = b"sluis-development-processing-log-key-not-for-production"


@dataclasses.dataclass(frozen=True)
class LogKeys:
    """An encryption key for the subject id and a separate key for the lookup tag."""

    encryption: bytes
    tag: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> "LogKeys":
        return cls(
            _derive(secret, b"sluis processing log encryption"),
            _derive(secret, b"sluis processing log lookup tag"),
        )

    def lookup_tag(self, pseudonym: str) -> bytes:
        return hmac.digest(self.tag, pseudonym.encode(), "sha256")  # one-shot: no HMAC object

    def encrypt(self, pseudonym: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + _aead(self.encryption).encrypt(nonce, pseudonym.encode(), b"dpl.core.data_subject_id")

    def decrypt(self, blob: bytes) -> str:
        return _aead(self.encryption).decrypt(blob[:12], blob[12:], b"dpl.core.data_subject_id").decode()


@functools.lru_cache(maxsize=4)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def _derive(secret: bytes, label: bytes) -> bytes:
    """Independent keys from one secret: HMAC as a KDF with a fixed label per purpose."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def derived_key(label: bytes) -> bytes:
    """A key for another keyed digest of this process (e.g. the gateway's bulk upload
    fingerprint), derived from the log key: never stored next to what it protects, and
    knowing one derived key reveals neither the secret nor the log's keys."""
    return _derive(_secret, label)


_secret = _DEVELOPMENT_SECRET
_keys = LogKeys.from_secret(_secret)


def configure(secret_b64: str) -> None:
    """Set the process's log key from settings (base64, at least 32 bytes); empty keeps the
    development key (make run, tests)."""
    global _keys, _secret
    if not secret_b64:
        log.warning("SLUIS_PROCESSING_LOG_KEY not set: development key in use")
        return
    secret = base64.b64decode(secret_b64)
    if len(secret) < 32:
        raise ValueError("SLUIS_PROCESSING_LOG_KEY: expected at least 32 bytes (base64)")
    _secret = secret
    _keys = LogKeys.from_secret(secret)


def keys() -> LogKeys:
    return _keys


@dataclasses.dataclass(frozen=True)
class Sealed:
    """A person as the log stores them: the encrypted pseudonym and its lookup tag."""

    subject_id: bytes
    tag: bytes


def seal(pseudonym: str) -> Sealed:
    k = keys()
    return Sealed(k.encrypt(pseudonym), k.lookup_tag(pseudonym))


@dataclasses.dataclass(frozen=True)
class Line:
    """One processing of one person. `attributes` hold non-identifying facts only
    (organisation, channel, signal or match id, reason); the actor goes to the audit log."""

    name: str
    activity: str
    subject: str  # the pseudonym; encrypted before it is stored
    status: str = STATUS_OK
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    actor_id: str = ""
    actor_organisation_id: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    # A subject sealed elsewhere (`seal`), for a service that never sees the pseudonym
    # (notify: match hands it the sealed subject with each event); `subject` is then "".
    sealed: Sealed | None = None


def _span_ids() -> tuple[str, str, str]:
    """(trace id, operation id, parent operation id) of the current span; fresh ids outside one."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        parent = getattr(trace.get_current_span(), "parent", None)
        parent_id = format(parent.span_id, "016x") if parent is not None else ""
        return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), parent_id
    return os.urandom(16).hex(), os.urandom(8).hex(), ""


@dataclasses.dataclass(frozen=True)
class Foreign:
    """The standard's `foreign_operation`: another organisation's system that called us, by
    the W3C trace context of its request (trace id, operation id) and a URI naming it."""

    trace_id: str = ""
    operation_id: str = ""
    entity: str = ""


def foreign_from_traceparent(traceparent: str, entity: str = "") -> Foreign:
    parts = traceparent.strip().split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        try:
            trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
        except ValueError:
            return Foreign()
        if trace_id and span_id:  # all zeroes is invalid (W3C Trace Context)
            return Foreign(parts[1].lower(), parts[2].lower(), entity)
    return Foreign()


# The caller's operation travels with the request as W3C baggage (the gateway sets it, the
# gRPC instrumentation carries it to every service it calls), so the lines of signal and
# match name the same foreign operation as the gateway's own line.
_FOREIGN_BAGGAGE = ("sluis.foreign.trace_id", "sluis.foreign.operation_id", "sluis.foreign.entity")


def with_foreign(foreign: Foreign, ctx: otel_context.Context | None = None) -> otel_context.Context:
    """`ctx` (default: the current one) carrying `foreign`, or none at all when it is empty:
    whatever baggage an outside caller sent under these names is dropped."""
    for key, value in zip(
        _FOREIGN_BAGGAGE, (foreign.trace_id, foreign.operation_id, foreign.entity), strict=True
    ):
        ctx = baggage.set_baggage(key, value, ctx) if foreign.trace_id else baggage.remove_baggage(key, ctx)
    return ctx if ctx is not None else otel_context.get_current()


def current_foreign() -> Foreign:
    """The foreign operation of the request being served (empty when none)."""
    values = [str(baggage.get_baggage(k) or "") for k in _FOREIGN_BAGGAGE]
    found = foreign_from_traceparent(f"00-{values[0]}-{values[1]}-01", values[2][:300])
    return found if values[0] else Foreign()


# Lines and audit rows in ONE statement (one round trip, however many lines: a notice to 50
# members is 50 lines inside the business transaction). The arrays go in binary (%b): in
# text form every element is escaped in Python, the bytea ones byte by byte, which cost
# about 0.3 ms per line (issue 21); binary is about 50 times cheaper.
_INSERT = (
    "WITH audit AS (INSERT INTO processing_audit (operation_id, trace_id, actor_id, actor_organisation_id, at)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[])"
    " ON CONFLICT DO NOTHING)"
    " INSERT INTO processing_log (trace_id, operation_id, parent_operation_id, name, status_code,"
    " start_time, end_time, resource, processing_activity_id, subject_id, subject_tag,"
    " foreign_trace_id, foreign_operation_id, attributes, foreign_entity)"
    " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::timestamptz[],"
    " %b::timestamptz[], %b::text[], %b::text[], %b::bytea[], %b::bytea[], %b::text[], %b::text[], %b::jsonb[],"
    " %b::text[])"
)
_LINE_COLUMNS = 15
_AUDIT_COLUMNS = 5


def _params(rows: list[tuple[Any, ...]], audits: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows to one array per column (audits first, as in the statement)."""
    audit_columns = [list(c) for c in zip(*audits, strict=True)] if audits else [[]] * _AUDIT_COLUMNS
    line_columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[]] * _LINE_COLUMNS
    return audit_columns + line_columns


def _rows(
    resource: str, lines: Sequence[Line], now: datetime, foreign: Foreign
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Insert rows for lines and audit rows. The span is the operation; lines of a second
    actor in the same span (e.g. mails to several professionals) get their own operation
    id under it, so each audit row names exactly the lines its actor caused."""
    trace_id, span_id, parent = _span_ids()
    operations: dict[tuple[str, str], tuple[str, str]] = {}
    rows, audits = [], []
    for line in lines:
        actor = (line.actor_id, line.actor_organisation_id)
        if actor not in operations:
            operations[actor] = (span_id, parent) if not operations else (os.urandom(8).hex(), span_id)
        operation_id, parent_id = operations[actor]
        start = line.start_time or now
        sealed = line.sealed or seal(line.subject)
        rows.append(
            (
                trace_id,
                operation_id,
                parent_id,
                line.name,
                line.status,
                start,
                line.end_time or now,
                resource,
                line.activity,
                sealed.subject_id,
                sealed.tag,
                foreign.trace_id,
                foreign.operation_id,
                json.dumps(dict(line.attributes)),
                foreign.entity,
            )
        )
        if any(actor):
            audits.append((operation_id, trace_id, actor[0], actor[1], start))
    return rows, list({a[0]: a for a in audits}.values())


async def write(
    conn: psycopg.AsyncConnection,
    resource: str,
    lines: Sequence[Line],
    now: datetime | None = None,
    foreign: Foreign | None = None,
) -> None:
    """Write the lines (and their audit rows) on `conn`: call inside the processing's own
    transaction, so that neither commits without the other. The foreign operation is the
    calling organisation's (`current_foreign`) unless given."""
    if not lines:
        return
    rows, audits = _rows(resource, lines, now or datetime.now(UTC), foreign or current_foreign())
    await conn.execute(_INSERT, _params(rows, audits))


def write_sync(
    conn: psycopg.Connection,
    resource: str,
    lines: Sequence[Line],
    now: datetime | None = None,
    foreign: Foreign | None = None,
) -> None:
    """`write` for the gateway's synchronous connections."""
    if not lines:
        return
    rows, audits = _rows(resource, lines, now or datetime.now(UTC), foreign or current_foreign())
    conn.execute(_INSERT, _params(rows, audits))


# --- key rotation ------------------------------------------------------------------------

_INSERT_LINK = "INSERT INTO processing_log_links (old_tag, new_tag) VALUES (%s, %s) ON CONFLICT DO NOTHING"


def _links(mapping: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    k = keys()
    return [(k.lookup_tag(old), k.lookup_tag(new)) for old, new in mapping.items() if old != new]


async def link_rekeyed(conn: psycopg.AsyncConnection, mapping: Mapping[str, str]) -> None:
    """Old pseudonym -> new after a key rotation: the new tag leads to the old lines. Call in
    the store's re-key transaction (services/common/rekey.py)."""
    links = _links(mapping)
    if links:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_LINK, links)


def link_rekeyed_sync(conn: psycopg.Connection, mapping: Mapping[str, str]) -> None:
    links = _links(mapping)
    if links:
        with conn.cursor() as cur:
            cur.executemany(_INSERT_LINK, links)


# A service whose only pseudonyms are the log's own (the gateway) finds the people of an old
# key version by decrypting one subject per tag not linked yet: its log is small (access
# requests, deaths), and this runs only while a rotation is in progress.
_UNLINKED = (
    "SELECT DISTINCT ON (subject_tag) subject_id FROM processing_log l WHERE NOT EXISTS"
    " (SELECT 1 FROM processing_log_links k WHERE k.old_tag = l.subject_tag) ORDER BY subject_tag"
)


def unlinked_pseudonyms_sync(conn: psycopg.Connection, version: int, limit: int | None = None) -> list[str]:
    """Pseudonyms of key `version` in the log that have no link to a newer tag yet."""
    k, prefix, out = keys(), f"{version}.", []
    for (blob,) in conn.execute(_UNLINKED):
        try:
            pseudonym = k.decrypt(bytes(blob))
        except InvalidTag:  # written under another log key: not ours to link
            continue
        if pseudonym.startswith(prefix):
            out.append(pseudonym)
            if limit is not None and len(out) >= limit:
                break
    return out


# --- reading (access documents) ------------------------------------------------------------

# Every tag the person had: the given ones and, following the links back, the earlier ones.
_SELECT = (
    "WITH RECURSIVE tags(tag) AS (SELECT unnest(%(tags)s::bytea[]) UNION"
    " SELECT l.old_tag FROM processing_log_links l JOIN tags t ON l.new_tag = t.tag)"
    " SELECT l.trace_id, l.operation_id, l.parent_operation_id, l.name, l.status_code, l.start_time,"
    " l.end_time, l.resource, l.processing_activity_id, l.foreign_trace_id, l.foreign_operation_id,"
    " l.attributes, COALESCE(a.actor_id, ''), COALESCE(a.actor_organisation_id, ''), l.foreign_entity"
    " FROM processing_log l LEFT JOIN processing_audit a ON a.operation_id = l.operation_id"
    " WHERE l.subject_tag IN (SELECT tag FROM tags) ORDER BY l.start_time, l.id"
)
_SELECT_TAGS = (
    "WITH RECURSIVE tags(tag) AS (SELECT unnest(%(tags)s::bytea[]) UNION"
    " SELECT l.old_tag FROM processing_log_links l JOIN tags t ON l.new_tag = t.tag)"
    " SELECT tag FROM tags"
)


def _to_pb(row: Sequence[Any]) -> pb.ProcessingLogLine:
    attributes = row[11] if isinstance(row[11], dict) else json.loads(row[11] or "{}")
    return pb.ProcessingLogLine(
        trace_id=row[0],
        operation_id=row[1],
        parent_operation_id=row[2],
        name=row[3],
        status_code=row[4],
        start_time=to_timestamp(row[5]),
        end_time=to_timestamp(row[6]),
        resource=row[7],
        processing_activity_id=row[8],
        foreign_trace_id=row[9],
        foreign_operation_id=row[10],
        attributes={str(k): str(v) for k, v in attributes.items()},
        actor_id=row[12],
        actor_organisation_id=row[13],
        foreign_entity=row[14],
    )


def _tags(pseudonym: str, tags: Iterable[bytes]) -> dict[str, list[bytes]]:
    own = [keys().lookup_tag(pseudonym)] if pseudonym else []
    return {"tags": list(dict.fromkeys([*own, *tags]))}


async def read(
    conn: psycopg.AsyncConnection, pseudonym: str, tags: Iterable[bytes] = ()
) -> list[pb.ProcessingLogLine]:
    """Every line about one person, oldest first, with who acted: by the pseudonym's tag and
    any earlier `tags` another service knows of (its key-rotation links)."""
    cur = await conn.execute(_SELECT, _tags(pseudonym, tags))
    return [_to_pb(r) for r in await cur.fetchall()]


def read_sync(
    conn: psycopg.Connection, pseudonym: str, tags: Iterable[bytes] = ()
) -> list[pb.ProcessingLogLine]:
    cur = conn.execute(_SELECT, _tags(pseudonym, tags))
    return [_to_pb(r) for r in cur.fetchall()]


async def known_tags(
    conn: psycopg.AsyncConnection, pseudonym: str, tags: Iterable[bytes] = ()
) -> list[bytes]:
    """The person's current tag and every earlier one this service's links lead to: another
    service that keeps no pseudonyms (notify, the gateway) finds its older lines by them."""
    cur = await conn.execute(_SELECT_TAGS, _tags(pseudonym, tags))
    return [bytes(r[0]) for r in await cur.fetchall()]


def known_tags_sync(conn: psycopg.Connection, pseudonym: str, tags: Iterable[bytes] = ()) -> list[bytes]:
    cur = conn.execute(_SELECT_TAGS, _tags(pseudonym, tags))
    return [bytes(r[0]) for r in cur.fetchall()]


def standard_attributes(line: pb.ProcessingLogLine) -> dict[str, str]:
    """A line's attributes under the standard's names (the subject id stays in the store)."""
    return {
        ACTIVITY_ATTRIBUTE: ACTIVITY_URI + line.processing_activity_id,
        SUBJECT_TYPE_ATTRIBUTE: SUBJECT_TYPE,
        **dict(line.attributes),
    }


def lines_for(name: str, activity: str, subjects: Iterable[str], **fields: Any) -> list[Line]:
    """The same processing on several people: one line each, as the standard asks."""
    return [Line(name=name, activity=activity, subject=s, **fields) for s in dict.fromkeys(subjects)]


# --- the anomaly report (counts only, never a person) ---------------------------------------

# (kind, SQL) over a service's own log; each returns organisation, professional, count,
# total, day. %(since)s bounds the window.
ANOMALY_QUERIES = {
    "signal": (
        (
            "quick_end",
            "SELECT r.attributes->>'sluis.organisation_id', COALESCE(a.actor_id, ''), count(*), 0, ''"
            " FROM processing_log r JOIN processing_log e"
            " ON e.attributes->>'sluis.signal_id' = r.attributes->>'sluis.signal_id'"
            " AND e.name IN ('signal.end', 'signal.delete') AND e.processing_activity_id = 'signalering'"
            " AND e.start_time < r.start_time + interval '24 hours'"
            " LEFT JOIN processing_audit a ON a.operation_id = r.operation_id"
            " WHERE r.name = 'signal.register' AND r.start_time >= %(since)s GROUP BY 1, 2",
        ),
        (
            "registrations",
            "SELECT r.attributes->>'sluis.organisation_id', COALESCE(a.actor_id, ''), count(*), 0, ''"
            " FROM processing_log r LEFT JOIN processing_audit a ON a.operation_id = r.operation_id"
            " WHERE r.name = 'signal.register' AND r.start_time >= %(since)s GROUP BY 1, 2",
        ),
        (
            "bulk_unjustified",
            "SELECT r.attributes->>'sluis.organisation_id', '', count(e.id), count(*),"
            " to_char(r.start_time AT TIME ZONE 'Europe/Amsterdam', 'YYYY-MM-DD')"
            " FROM processing_log r LEFT JOIN processing_log e"
            " ON e.attributes->>'sluis.signal_id' = r.attributes->>'sluis.signal_id'"
            " AND e.name = 'signal.delete' AND e.attributes->>'reason' = 'unjustified'"
            " WHERE r.name = 'signal.register' AND r.attributes->>'sluis.channel' = 'bulk'"
            " AND r.start_time >= %(since)s GROUP BY 1, 5",
        ),
    ),
    "match": (
        (
            "refused_lookups",
            "SELECT l.attributes->>'sluis.organisation_id', COALESCE(a.actor_id, ''), count(*), 0, ''"
            " FROM processing_log l LEFT JOIN processing_audit a ON a.operation_id = l.operation_id"
            " WHERE l.processing_activity_id = 'betrokkenheid-geweigerd' AND l.start_time >= %(since)s"
            " GROUP BY 1, 2",
        ),
    ),
}


async def anomalies(conn: psycopg.AsyncConnection, service: str, since: datetime) -> list[pb.Anomaly]:
    out = []
    for kind, query in ANOMALY_QUERIES[service]:
        cur = await conn.execute(query, {"since": since})
        out += [
            pb.Anomaly(
                kind=kind, organisation_id=r[0] or "", professional_id=r[1], count=r[2], total=r[3], day=r[4]
            )
            for r in await cur.fetchall()
        ]
    return out
