"""The SQL of the rights-requests register (table rights_requests, migration 009).

Kept beside store.py rather than in it: one table with its own rules (rights.py), read and
written only by usecases/rights.py, through the same pool as GatewayStore.
"""

import dataclasses
import uuid
from datetime import date
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from services.common import processing_log
from services.common.processing_log import Sealed
from services.gateway import rights
from services.gateway.rights import RightsRequest

RESOURCE = "sluis-gateway"

# The table's columns are the fields of rights.RightsRequest, by the same names.
_FIELDS = tuple(f.name for f in dataclasses.fields(RightsRequest))
_COLUMNS = sql.SQL(", ").join(sql.Identifier(c) for c in _FIELDS)
# Overdue (rights.RightsRequest.overdue): not decided and today is past received_on plus
# (1 + extension) months; PostgreSQL adds months as the law counts them (31 Jan + 1 = 28/29 Feb).
_OVERDUE = sql.SQL(
    "status <> 'decided' AND %(today)s::date > (received_on + make_interval(months => 1 + extension_months))::date"
)


def _q(text: str, **parts: sql.Composable) -> sql.Composed:
    """A query with {cols} (and any other fixed parts) filled in as SQL, never as text."""
    return sql.SQL(text).format(cols=_COLUMNS, **parts)


def _request(row: dict[str, Any]) -> RightsRequest:
    return RightsRequest(
        **{
            **row,
            "id": str(row["id"]),
            "signal_ids": tuple(row["signal_ids"]),
            "objection_ids": tuple(row["objection_ids"]),
        }
    )


class RightsStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def create(self, region: str, req: RightsRequest, subject: Sealed, actor_id: str) -> RightsRequest:
        """Register the request, with the person sealed for the log and its first line."""
        with self.pool.connection() as conn, conn.transaction():
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    _q(
                        "INSERT INTO rights_requests (id, region, kind, requester, case_reference, received_on,"
                        " signal_ids, created_at, log_subject_id, log_subject_tag)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING {cols}"
                    ),
                    (
                        uuid.UUID(req.id),
                        region,
                        req.kind,
                        req.requester,
                        req.case_reference,
                        req.received_on,
                        list(req.signal_ids),
                        req.created_at,
                        subject.subject_id,
                        subject.tag,
                    ),
                )
                .fetchone()
            )
            assert row is not None
            created = _request(row)
            processing_log.write_sync(conn, RESOURCE, [rights.log_line(created, "create", subject, actor_id)])
        return created

    def get(self, region: str, request_id: str) -> RightsRequest | None:
        try:
            key = uuid.UUID(request_id)
        except ValueError:
            return None
        with self.pool.connection() as conn:
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    _q("SELECT {cols} FROM rights_requests WHERE id = %s AND region = %s"), (key, region)
                )
                .fetchone()
            )
        return None if row is None else _request(row)

    def list(
        self,
        region: str,
        *,
        today: date,
        status: str,
        overdue: bool | None,
        kind: str,
        limit: int,
        offset: int,
    ) -> list[RightsRequest]:
        """Oldest receipt first (the nearest deadlines on top), filtered."""
        where: list[sql.Composable] = [sql.SQL("region = %(region)s")]
        if status:
            where.append(sql.SQL("status = %(status)s"))
        if kind:
            where.append(sql.SQL("kind = %(kind)s"))
        if overdue is not None:
            where.append(_OVERDUE if overdue else sql.SQL("NOT ({})").format(_OVERDUE))
        query = _q(
            "SELECT {cols} FROM rights_requests WHERE {where}"
            " ORDER BY status = 'decided', received_on, created_at, id LIMIT %(limit)s OFFSET %(offset)s",
            where=sql.SQL(" AND ").join(where),
        )
        params = {
            "region": region,
            "status": status,
            "kind": kind,
            "today": today,
            "limit": limit,
            "offset": offset,
        }
        with self.pool.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(query, params).fetchall()
        return [_request(r) for r in rows]

    def save(self, req: RightsRequest, action: str = "", actor_id: str = "") -> RightsRequest:
        """Write the request's changeable fields (rights.py decided them); with an `action`,
        its processing-log line in the same transaction (requests registered before the log
        kept their person have none to write)."""
        with self.pool.connection() as conn, conn.transaction():
            row = (
                conn.cursor(row_factory=dict_row)
                .execute(
                    _q(
                        "UPDATE rights_requests SET status = %s, extension_months = %s, extension_reason = %s,"
                        " decision = %s, decision_reason = %s, decided_at = %s, restricted = %s,"
                        " restricted_at = %s, signal_ids = %s, objection_ids = %s WHERE id = %s"
                        " RETURNING {cols}, log_subject_id, log_subject_tag"
                    ),
                    (
                        req.status,
                        req.extension_months,
                        req.extension_reason,
                        req.decision,
                        req.decision_reason,
                        req.decided_at,
                        req.restricted,
                        req.restricted_at,
                        list(req.signal_ids),
                        list(req.objection_ids),
                        uuid.UUID(req.id),
                    ),
                )
                .fetchone()
            )
            assert row is not None
            subject_id, tag = row.pop("log_subject_id"), row.pop("log_subject_tag")
            saved = _request(row)
            if action and subject_id is not None:
                line = rights.log_line(saved, action, Sealed(bytes(subject_id), bytes(tag)), actor_id)
                processing_log.write_sync(conn, RESOURCE, [line])
        return saved
