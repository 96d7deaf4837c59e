"""Bulk loads: an organisation's whole client base as one job, processed in chunks.

Per chunk: rows validated (the same rules as a single registration), BSNs pseudonymised in
one identity.PseudonymiseBatch call, signals registered in one signal.RegisterSignals call
with bulk=true (match and notify coalesce bulk events instead of reacting row by row), then
progress and row errors committed in one transaction under the worker's claim. A restarted
gateway resumes from the last committed chunk; a chunk replayed after a crash finds its
signals already registered (signal_exists), which counts as done.
"""

import csv
import hashlib
import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import DomainError, InvalidArgument, from_rpc_error
from services.gateway import domain
from services.gateway.api import Gateway
from services.gateway.store import BulkLoad, Organisation, Professional

log = logging.getLogger("sluis.gateway.bulk")

# Reasons from RegisterSignals that mean "the signal the row asks for exists": done.
_ALREADY_THERE = {"signal_exists"}
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument("file_encoding", "Het bestand moet UTF-8 zijn.") from None


def raw_rows(content: bytes, file_format: str) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    """(CSV column names, or [] for JSON lines; iterator of (row number, raw row)).

    Row numbers count data rows from 1 (the CSV header is not a row); blank lines are skipped.
    """
    text = decode(content)
    if file_format == "csv":
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            raise InvalidArgument("empty_file", "Het bestand is leeg.")
        names = domain.check_csv_header(header)

        def csv_rows() -> Iterator[tuple[int, Any]]:
            number = 0
            for values in reader:
                if not values or values == [""]:
                    continue
                number += 1
                yield number, values

        return names, csv_rows()

    def jsonl_rows() -> Iterator[tuple[int, Any]]:
        number = 0
        for line in text.splitlines():
            if not line.strip():
                continue
            number += 1
            yield number, line

    return [], jsonl_rows()


def inspect_upload(content: bytes, file_format: str) -> int:
    """Check the header and count the rows of an upload (before anything is stored)."""
    if not content.strip():
        raise InvalidArgument("empty_file", "Het bestand is leeg.")
    _, rows = raw_rows(content, file_format)
    count = 0
    for count, _ in rows:  # noqa: B007 - counting
        if count > domain.BULK_MAX_ROWS:
            break
    if count == 0:
        raise InvalidArgument("empty_file", "Het bestand bevat geen regels.")
    return count


def content_hash(content: bytes, file_format: str, professional_id: str) -> bytes:
    """What makes two uploads "the same file" (the default professional changes the meaning)."""
    return hashlib.sha256(f"{file_format}\n{professional_id}\n".encode() + content).digest()


class BulkWorker:
    """Claims bulk jobs from the gateway database and processes them (one thread per process)."""

    def __init__(
        self,
        gw: Gateway,
        *,
        chunk_rows: int = 5000,
        stale_seconds: float = 60.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self.gw = gw
        self.id = uuid.uuid4()
        self.chunk_rows = max(1, min(chunk_rows, 10_000))
        self.stale_seconds = stale_seconds
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0

    # -- the thread -------------------------------------------------------------------------
    def start(self) -> "BulkWorker":
        self._thread = threading.Thread(target=self._loop, name="bulk-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                failures = 0
                self._purge()
            except Exception:
                failures += 1
                log.warning("bulk worker error; retrying", exc_info=True)
                worked = False
            if not worked:
                self._stop.wait(min(30.0, self.poll_seconds * (2 ** min(failures, 5))))

    def _purge(self) -> None:
        if time.monotonic() - self._last_purge > 3600:
            self._last_purge = time.monotonic()
            self.gw.store.purge_idempotency_keys()

    # -- one job --------------------------------------------------------------------------
    def run_once(self, max_chunks: int | None = None) -> bool:
        """Claim one job and work on it; False when there was nothing to do."""
        job = self.gw.store.claim_bulk_load(self.id, self.stale_seconds)
        if job is None:
            return False
        log.info("bulk load claimed", extra={"bulk_load": str(job.id), "next_row": job.next_row})
        self.process(job, max_chunks=max_chunks)
        return True

    def process(self, job: BulkLoad, max_chunks: int | None = None) -> None:
        store = self.gw.store
        content = store.bulk_file(job.id)
        org = store.organisation(job.organisation_id)
        if content is None or org is None:
            store.finish_bulk_load(job.id, self.id, "failed")
            return
        pros = {str(p.id): p for p in store.professionals(org.id) if p.active}
        names, rows = raw_rows(content, job.format)
        default_pid = str(job.professional_id or "")
        chunk: list[tuple[int, Any]] = []
        chunks = 0
        next_row = job.next_row
        for number, raw in rows:
            if number < next_row:
                continue
            chunk.append((number, raw))
            if len(chunk) >= self.chunk_rows:
                if not self._commit(job, next_row, chunk, names, default_pid, pros, org):
                    return
                next_row = chunk[-1][0] + 1
                chunk = []
                chunks += 1
                if max_chunks is not None and chunks >= max_chunks:
                    return  # tests: behave as if the process died here
                if self._stop.is_set():
                    return
        if chunk and not self._commit(job, next_row, chunk, names, default_pid, pros, org):
            return
        if store.finish_bulk_load(job.id, self.id):
            done = store.bulk_load(job.id)
            log.info(
                "bulk load done",
                extra={
                    "bulk_load": str(job.id),
                    "rows_done": done.rows_done if done else 0,
                    "rows_failed": done.rows_failed if done else 0,
                },
            )

    def _commit(
        self,
        job: BulkLoad,
        from_row: int,
        chunk: list[tuple[int, Any]],
        names: list[str],
        default_pid: str,
        pros: dict[str, Professional],
        org: Organisation,
    ) -> bool:
        while True:
            try:
                done, errors = self.process_chunk(chunk, names, default_pid, pros, org)
                break
            except DomainError as exc:
                if exc.code not in _TRANSIENT:
                    log.error("bulk load failed", extra={"bulk_load": str(job.id), "reason": exc.reason})
                    self.gw.store.finish_bulk_load(job.id, self.id, "failed")
                    return False
                # A back end is away: keep the claim alive and try the same chunk again.
                if self._stop.wait(2.0) or not self.gw.store.heartbeat_bulk_load(job.id, self.id):
                    return False
        next_row = chunk[-1][0] + 1
        if not self.gw.store.commit_bulk_chunk(job.id, self.id, from_row, next_row, done, errors):
            log.warning("bulk load claim lost", extra={"bulk_load": str(job.id)})
            return False
        return True

    def process_chunk(
        self,
        chunk: list[tuple[int, Any]],
        names: list[str],
        default_pid: str,
        pros: dict[str, Professional],
        org: Organisation,
    ) -> tuple[int, list[tuple[int, str, str]]]:
        """Validate, pseudonymise and register one chunk: (rows done, row errors)."""
        from services.gateway.api.signals import registration_request

        today = self.gw.today()
        valid: list[domain.BulkRow] = []
        errors: list[tuple[int, str, str]] = []
        for number, raw in chunk:
            try:
                body, pid = domain.csv_row_body(names, raw) if names else domain.jsonl_row_body(raw)
                row = domain.parse_bulk_row(number, body, pid, default_pid, today)
            except InvalidArgument as exc:
                errors.append((number, exc.reason, exc.metadata.get("field", "")))
                continue
            if row.professional_id not in pros:
                errors.append((number, "unknown_professional", "professionalId"))
                continue
            valid.append(row)
        done = 0
        if valid:
            b = self.gw.backends
            timeout = max(b.timeout, 120.0)
            try:
                pseudonyms = b.identity.PseudonymiseBatch(
                    ipb.PseudonymiseBatchRequest(bsns=[r.registration.bsn for r in valid]), timeout=timeout
                ).results
                requests: list[tuple[domain.BulkRow, spb.RegisterSignalRequest]] = []
                for row, result in zip(valid, pseudonyms, strict=True):
                    if result.error_reason:
                        errors.append((row.number, result.error_reason, "bsn"))
                    else:
                        requests.append(
                            (
                                row,
                                registration_request(
                                    row.registration, result.pseudonym, pros[row.professional_id], org
                                ),
                            )
                        )
                if requests:
                    results = b.signal.RegisterSignals(
                        spb.RegisterSignalsRequest(signals=[r for _, r in requests], bulk=True),
                        timeout=timeout,
                    ).results
                    for (row, _), outcome in zip(requests, results, strict=True):
                        if outcome.signal.signal_id or outcome.reason in _ALREADY_THERE:
                            done += 1
                        else:
                            errors.append((row.number, outcome.reason or "refused", ""))
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
        errors.sort()
        return done, errors
