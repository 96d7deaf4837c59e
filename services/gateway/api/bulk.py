"""Bulk loads: upload a client base (CSV or JSON lines), follow its progress, fetch row errors
(usecases/bulk.py accepts the job; the bulk worker process does the work)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from services.gateway.api import check_body_size, no_query, ok
from services.gateway.convert import href
from services.gateway.store import BulkLoad
from services.gateway.usecases import bulk, gateway

bp = Blueprint("bulk", __name__)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def bulk_json(job: BulkLoad) -> dict[str, Any]:
    path = f"/bulk-loads/{job.id}"
    return {
        "id": str(job.id),
        "state": job.state,
        "format": job.format,
        "rowsTotal": job.rows_total,
        "rowsDone": job.rows_done,
        "rowsFailed": job.rows_failed,
        "rowsPending": max(0, job.rows_total - job.rows_done - job.rows_failed),
        "createdAt": _iso(job.created_at),
        "startedAt": _iso(job.started_at),
        "finishedAt": _iso(job.finished_at),
        "_links": {"self": href(path), "errors": href(path + "/errors")},
    }


@bp.post("/bulk-loads")
def create() -> Response:
    no_query()
    job, new = bulk.create(request.stream, request.mimetype, check_body_size)
    doc = bulk_json(job)
    # The same file again: the existing job, nothing new.
    return ok(doc, 202 if new else 200, {"Location": doc["_links"]["self"]["href"]})


@bp.get("/bulk-loads/<bulk_load_id>")
def get(bulk_load_id: str) -> Response:
    no_query()
    return ok(bulk_json(bulk.own_job(bulk_load_id)))


@bp.get("/bulk-loads/<bulk_load_id>/errors")
def errors(bulk_load_id: str) -> Response:
    """Row number, reason code and field of every refused row (never the row's content)."""
    no_query()
    job = bulk.own_job(bulk_load_id)
    store = gateway().store

    def lines() -> Iterator[str]:
        yield "row,reason,field\r\n"
        for number, reason, field in store.bulk_errors(job.id):
            yield f"{number},{reason},{field}\r\n"

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="bulk-load-{job.id}-errors.csv"'
    return response
