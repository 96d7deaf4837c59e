"""Bulk loads: upload a client base (CSV or JSON lines), follow its progress, fetch row errors."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request, stream_with_context

from services.common.errors import NotFound
from services.gateway import auth, bulk, domain
from services.gateway.api import HttpProblem, gateway, href, no_query, ok, principal
from services.gateway.store import BulkLoad

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


def own_job(bulk_load_id: str) -> BulkLoad:
    """A job of the caller's organisation; anything else is unknown."""
    not_found = NotFound("bulk_load_not_found", "Bulklading niet gevonden.")
    if not domain.is_uuid(bulk_load_id):
        raise not_found
    job = gateway().store.bulk_load(bulk_load_id)
    if job is None or job.organisation_id != principal().organisation_id:
        raise not_found
    return job


@bp.post("/bulk-loads")
def create() -> Response:
    no_query()
    who = principal()
    file_format = domain.BULK_FORMATS.get(request.mimetype)
    if file_format is None:
        raise HttpProblem(
            415, "unsupported_media_type", "Stuur het bestand als text/csv of application/x-ndjson."
        )
    content = request.get_data()
    rows = bulk.inspect_upload(content, file_format)
    if rows > domain.BULK_MAX_ROWS:
        raise HttpProblem(413, "too_many_rows", f"Maximaal {domain.BULK_MAX_ROWS} regels per bestand.")
    assert who.organisation_id is not None
    default_pid = str(who.professional_id) if who.role == auth.PROFESSIONAL and who.professional_id else ""
    job, created = gateway().store.create_bulk_load(
        organisation_id=who.organisation_id,
        professional_id=who.professional_id if default_pid else None,
        credential_id=who.credential_id,
        content_hash=bulk.content_hash(content, file_format, default_pid),
        file_format=file_format,
        rows_total=rows,
        content=content,
    )
    doc = bulk_json(job)
    # The same file again: the existing job, nothing new.
    return ok(doc, 202 if created else 200, {"Location": doc["_links"]["self"]["href"]})


@bp.get("/bulk-loads/<bulk_load_id>")
def get(bulk_load_id: str) -> Response:
    no_query()
    return ok(bulk_json(own_job(bulk_load_id)))


@bp.get("/bulk-loads/<bulk_load_id>/errors")
def errors(bulk_load_id: str) -> Response:
    """Row number, reason code and field of every refused row (never the row's content)."""
    no_query()
    job = own_job(bulk_load_id)
    store = gateway().store

    def lines() -> Iterator[str]:
        yield "row,reason,field\r\n"
        for number, reason, field in store.bulk_errors(job.id):
            yield f"{number},{reason},{field}\r\n"

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="bulk-load-{job.id}-errors.csv"'
    return response
