"""Bulk loads, the request side: accept an upload as a job, and find a job of the caller.
The work itself is done by the bulk worker process (services/gateway/bulk.py)."""

import threading
import uuid
from collections.abc import Callable
from typing import IO

from services.gateway import auth, bulk, domain, staging
from services.gateway.errors import HttpProblem
from services.gateway.store import BulkLoad
from services.gateway.usecases import bulk_load_not_found, gateway, principal, require_active

# Uploads received at the same time per gateway process. Each holds one database connection
# for its transaction while the body streams in (issue 21): a few slow senders must not take
# the pool every other request needs. Over the limit: 503 with Retry-After.
MAX_CONCURRENT_UPLOADS = 2
_UPLOADS = threading.BoundedSemaphore(MAX_CONCURRENT_UPLOADS)


def create(body: IO[bytes], mimetype: str, check_size: Callable[[int], None]) -> tuple[BulkLoad, bool]:
    """A job for this upload, or (the existing job, False) when the same file came before.
    The body is read once, as it arrives: checked, fingerprinted and staged sealed in segments
    in one transaction (issue 21: no request holds a whole file)."""
    file_format = domain.BULK_FORMATS.get(mimetype)
    if file_format is None:
        raise HttpProblem(
            415, "unsupported_media_type", "Stuur het bestand als text/csv of application/x-ndjson."
        )
    if not _UPLOADS.acquire(blocking=False):
        raise HttpProblem(
            503,
            "bulk_uploads_busy",
            f"Er worden al {MAX_CONCURRENT_UPLOADS} bestanden tegelijk ontvangen. Probeer het zo opnieuw.",
        )
    try:
        return _create(body, file_format, check_size)
    finally:
        _UPLOADS.release()


def _create(body: IO[bytes], file_format: str, check_size: Callable[[int], None]) -> tuple[BulkLoad, bool]:
    who = principal()
    assert who.organisation_id is not None
    gw = gateway()
    org = gw.store.organisation(who.organisation_id)
    if org is not None:
        require_active(org)  # a suspended organisation loads no new signals either
    default_pid = str(who.professional_id) if who.role == auth.PROFESSIONAL and who.professional_id else ""
    # The key is in place before the job is visible to a worker; the file is stored sealed.
    job_id, key = uuid.uuid4(), staging.new_key()

    def stage(put: Callable[[bytes], None]) -> tuple[bytes, int, int]:
        upload = bulk.UploadStream(
            body, key=key, job_id=job_id, file_format=file_format, professional_id=default_pid, put=put
        )
        rows = bulk.inspect_upload(upload, file_format)
        if rows > domain.BULK_MAX_ROWS:
            raise HttpProblem(413, "too_many_rows", f"Maximaal {domain.BULK_MAX_ROWS} regels per bestand.")
        upload.drain()
        check_size(upload.size)  # a chunked body cut at the limit
        return upload.fingerprint.digest(), rows, upload.size

    gw.staging.put(job_id, key)
    try:
        job, new = gw.store.create_bulk_load(
            job_id=job_id,
            organisation_id=who.organisation_id,
            professional_id=who.professional_id if default_pid else None,
            credential_id=who.credential_id,
            file_format=file_format,
            stage=stage,
        )
    except BaseException:
        gw.staging.destroy(job_id)
        raise
    if not new:
        gw.staging.destroy(job_id)
    return job, new


def own_job(bulk_load_id: str) -> BulkLoad:
    """A job of the caller's organisation; anything else is unknown."""
    job = gateway().store.bulk_load(bulk_load_id) if domain.is_uuid(bulk_load_id) else None
    if job is None or job.organisation_id != principal().organisation_id:
        raise bulk_load_not_found()
    return job
