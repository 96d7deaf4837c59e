"""Bulk loads, the request side: accept an upload as a job, and find a job of the caller.
The work itself is done by the bulk worker process (services/gateway/bulk.py)."""

import uuid

from services.gateway import auth, bulk, domain, staging
from services.gateway.errors import HttpProblem
from services.gateway.store import BulkLoad
from services.gateway.usecases import bulk_load_not_found, gateway, principal, require_active


def create(content: bytes, mimetype: str) -> tuple[BulkLoad, bool]:
    """A job for this file, or (the existing job, False) when the same file came before."""
    who = principal()
    file_format = domain.BULK_FORMATS.get(mimetype)
    if file_format is None:
        raise HttpProblem(
            415, "unsupported_media_type", "Stuur het bestand als text/csv of application/x-ndjson."
        )
    rows = bulk.inspect_upload(content, file_format)
    if rows > domain.BULK_MAX_ROWS:
        raise HttpProblem(413, "too_many_rows", f"Maximaal {domain.BULK_MAX_ROWS} regels per bestand.")
    assert who.organisation_id is not None
    org = gateway().store.organisation(who.organisation_id)
    if org is not None:
        require_active(org)  # a suspended organisation loads no new signals either
    default_pid = str(who.professional_id) if who.role == auth.PROFESSIONAL and who.professional_id else ""
    gw = gateway()
    # The key is in place before the job is visible to a worker; the file is stored sealed.
    job_id, key = uuid.uuid4(), staging.new_key()
    gw.staging.put(job_id, key)
    job, new = gw.store.create_bulk_load(
        job_id=job_id,
        organisation_id=who.organisation_id,
        professional_id=who.professional_id if default_pid else None,
        credential_id=who.credential_id,
        content_hash=bulk.content_hash(content, file_format, default_pid),
        file_format=file_format,
        rows_total=rows,
        file_bytes=len(content),
        sealed=staging.seal(key, content),
    )
    if not new:
        gw.staging.destroy(job_id)
    return job, new


def own_job(bulk_load_id: str) -> BulkLoad:
    """A job of the caller's organisation; anything else is unknown."""
    job = gateway().store.bulk_load(bulk_load_id) if domain.is_uuid(bulk_load_id) else None
    if job is None or job.organisation_id != principal().organisation_id:
        raise bulk_load_not_found()
    return job
