"""Bulk loads: an organisation's whole client base as one job, processed in chunks.

Per chunk: rows validated (the same rules as a single registration), BSNs pseudonymised in
one identity.PseudonymiseBatch call, signals registered in one signal.RegisterSignals call
with bulk=true (match and notify coalesce bulk events instead of reacting row by row), then
progress and row errors committed in one transaction under the worker's claim. A restarted
gateway resumes from the last committed chunk; a chunk replayed after a crash finds its
signals already registered (signal_exists), which counts as done.

The file is staged sealed in segments (UploadStream) and read back one segment at a time
(StagedFile): neither the upload request nor the worker holds a whole file (issue 21).
"""

import csv
import hashlib
import hmac
import io
import logging
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any, TypeVar

import grpc
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.signal.v1 import signal_pb2 as spb

from services.common import processing_log, retention, telemetry
from services.common.clock import SystemClock
from services.common.errors import DomainError, InvalidArgument, from_rpc_error
from services.gateway import domain, logrekey, staging
from services.gateway.backends import Backends
from services.gateway.retention import RULES as RETENTION_RULES
from services.gateway.settings import GatewaySettings
from services.gateway.staging import staging_keys
from services.gateway.store import BulkLoad, GatewayStore, Organisation, Professional, open_pool
from services.gateway.usecases import Gateway
from services.gateway.usecases.signals import registration_request

log = logging.getLogger("sluis.gateway.bulk")

# Reasons from RegisterSignals that mean "the signal the row asks for exists": done.
_T = TypeVar("_T")
_ALREADY_THERE = {"signal_exists"}
# Chunks of one job registered at the same time (issue 21: more only queues in signal).
MAX_INFLIGHT = 2
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


_BAD_ENCODING = ("file_encoding", "Het bestand moet UTF-8 zijn.")


def raw_rows(stream: IO[bytes], file_format: str) -> tuple[list[str], Iterator[tuple[int, Any]]]:
    """(CSV column names, or [] for JSON lines; iterator of (row number, raw row)).

    The file is decoded while it is read from `stream`, so it is never whole in memory (issue
    21). Row numbers count data rows from 1 (the CSV header is not a row); blank lines are
    skipped. Invalid UTF-8 raises InvalidArgument(file_encoding), in the header at once,
    further on while iterating (`inspect_upload` reads every row before anything is kept).
    """
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    if file_format == "csv":
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except UnicodeDecodeError:
            raise InvalidArgument(*_BAD_ENCODING) from None
        if header is None:
            raise InvalidArgument("empty_file", "Het bestand is leeg.")
        names = domain.check_csv_header(header)

        def csv_rows() -> Iterator[tuple[int, Any]]:
            number = 0
            for values in _decoded(reader):
                if not values or values == [""]:
                    continue
                number += 1
                yield number, values

        return names, csv_rows()

    def jsonl_rows() -> Iterator[tuple[int, Any]]:
        number = 0
        for line in _decoded(text):
            if not line.strip():
                continue
            number += 1
            yield number, line.rstrip("\r\n")

    return [], jsonl_rows()


def _decoded(rows: Iterator[_T]) -> Iterator[_T]:
    try:
        yield from rows
    except UnicodeDecodeError:
        raise InvalidArgument(*_BAD_ENCODING) from None


def inspect_upload(stream: io.RawIOBase, file_format: str) -> int:
    """Check the header and the encoding and count the rows of an upload, reading it once from
    `stream` (UploadStream stages it meanwhile). Over BULK_MAX_ROWS it stops and answers
    BULK_MAX_ROWS + 1."""
    buffered = io.BufferedReader(stream)
    if not buffered.peek(_BLANK_PEEK)[:_BLANK_PEEK].strip():
        # Looking further consumes the blank start, which the worker reads again: a CSV whose
        # header line is blank is refused here as it would be there (JSON lines skip blanks).
        if _only_blank(buffered):
            raise InvalidArgument("empty_file", "Het bestand is leeg.")
        if file_format == "csv":
            domain.check_csv_header([])
    _, rows = raw_rows(buffered, file_format)
    count = 0
    for count, _ in rows:  # counting
        if count > domain.BULK_MAX_ROWS:
            break
    if count == 0:
        raise InvalidArgument("empty_file", "Het bestand bevat geen regels.")
    return count


_BLANK_PEEK = 4096


def _only_blank(stream: "io.BufferedReader[Any]") -> bool:
    """Whether the rest of the stream is white space (read up to the first other byte)."""
    while True:
        block = stream.peek(_BLANK_PEEK)
        if not block:
            return True
        if block.strip():
            return False
        stream.read(len(block))


class UploadStream(io.RawIOBase):
    """The request body as it is read: every byte goes into the fingerprint (an HMAC) and into
    segments of SEGMENT_BYTES, each sealed with the job's key and handed to `put` at once, so
    the request holds one segment, never the file."""

    def __init__(
        self,
        source: IO[bytes],
        *,
        key: bytes,
        job_id: uuid.UUID,
        file_format: str,
        professional_id: str,
        put: Callable[[bytes], None],
    ) -> None:
        self.source = source
        self.key = key
        self.job_id = job_id
        self.put = put
        self.fingerprint = _fingerprint(file_format, professional_id)
        self.size = 0
        self._pending = bytearray()
        self._segments = 0
        self._ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.source.read(len(buffer))
        if not data:
            self._flush(last=True)
            return 0
        buffer[: len(data)] = data
        self.size += len(data)
        self.fingerprint.update(data)
        self._pending += data
        while len(self._pending) > staging.SEGMENT_BYTES:  # the last segment is never empty
            self._seal(staging.SEGMENT_BYTES, last=False)
        return len(data)

    def drain(self) -> None:
        """Read what the inspection left unread (nothing after a complete check)."""
        while self.read(staging.SEGMENT_BYTES):
            pass

    def _flush(self, last: bool) -> None:
        if not self._ended:
            self._seal(len(self._pending), last)
            self._ended = last

    def _seal(self, size: int, last: bool) -> None:
        segment = bytes(self._pending[:size])
        del self._pending[:size]
        self.put(staging.seal_segment(self.key, self.job_id, self._segments, last, segment))
        self._segments += 1


class StagedFile(io.RawIOBase):
    """A staged upload read back segment by segment (one in memory at a time). A segment that
    is missing, cannot be opened or is out of place raises StagedFileLost."""

    def __init__(self, key: bytes, job_id: uuid.UUID, fetch: Callable[[int], bytes | None]) -> None:
        self.key = key
        self.job_id = job_id
        self.fetch = fetch
        self._seq = 0
        self._current = b""
        self._at = 0
        self._last = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._at >= len(self._current):
            if self._last:
                return 0
            sealed = self.fetch(self._seq)
            opened = (
                None if sealed is None else staging.unseal_segment(self.key, self.job_id, self._seq, sealed)
            )
            if opened is None:
                raise StagedFileLost(self._seq)
            self._current, self._last = opened
            self._at = 0
            self._seq += 1
        n = min(len(buffer), len(self._current) - self._at)
        buffer[:n] = self._current[self._at : self._at + n]
        self._at += n
        return n


class StagedFileLost(Exception):
    """A staged segment is gone or cannot be opened (the job's key was lost)."""


# The key of the upload fingerprint, derived from the processing log key (issue 14): an
# unkeyed hash of a one-row file could be brute-forced back to its BSN.
FINGERPRINT_LABEL = b"sluis gateway bulk upload fingerprint"


def _fingerprint(file_format: str, professional_id: str) -> "hmac.HMAC":
    mac = hmac.new(processing_log.derived_key(FINGERPRINT_LABEL), digestmod=hashlib.sha256)
    mac.update(f"{file_format}\n{professional_id}\n".encode())
    return mac


_FIELD = re.compile(r"[^A-Za-z0-9_.\[\]]")


def _field(name: str) -> str:
    """A field name safe for the error report (it may come from a submitted JSON key)."""
    return _FIELD.sub("", name)[:100]


class _Stopped(Exception):
    """The job cannot go on in this worker (stopped, claim lost, or failed)."""


@dataclass
class _JobContext:
    job: BulkLoad
    org: Organisation
    professionals: dict[str, Professional]
    names: list[str] = field(default_factory=list)
    next_row: int = 0

    def __post_init__(self) -> None:
        self.next_row = self.job.next_row


@dataclass
class _Prepared:
    """A validated, pseudonymised chunk: its first and last row, the row number of each signal
    in `batch` and the rows refused so far. The raw rows are not kept (memory, issue 21)."""

    first: int
    last: int
    numbers: list[int]
    batch: spb.RegisterSignalsRequest
    errors: list[tuple[int, str, str]]


class BulkWorker:
    """Claims bulk jobs from the gateway database and processes them (the bulk-worker process;
    tests run it in a thread with `start()`)."""

    def __init__(
        self,
        gw: Gateway,
        *,
        chunk_rows: int = 2_500,
        stale_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        inflight: int = 2,
    ) -> None:
        self.gw = gw
        self.id = uuid.uuid4()
        self.chunk_rows = max(1, min(chunk_rows, 10_000))
        self.stale_seconds = stale_seconds
        self.poll_seconds = poll_seconds
        self.inflight = max(1, min(inflight, MAX_INFLIGHT))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self._last_rekey = 0.0
        # Seconds spent per stage (validate, identity, signal, commit): logged per job.
        self.timings: dict[str, float] = {}

    # -- the thread -------------------------------------------------------------------------
    def start(self) -> "BulkWorker":
        self._thread = threading.Thread(target=self.loop, name="bulk-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def stop_soon(self) -> None:
        """Ask the loop to stop after the current chunk (safe from a signal handler)."""
        self._stop.set()

    def loop(self) -> None:
        """Work until stopped: claim jobs, back off while there is nothing or a failure."""
        failures = 0
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                failures = 0
                self._purge()
                self._link_rotated()
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
            retention.purge_sync(self.gw.store.pool, "gateway", RETENTION_RULES, self.gw.clock.now())

    def _link_rotated(self) -> None:
        """During a pseudonym key rotation, the gateway's log lines follow (logrekey.py)."""
        settings = self.gw.settings
        if not settings.identity_addr or time.monotonic() - self._last_rekey < settings.rekey_poll_seconds:
            return
        self._last_rekey = time.monotonic()
        linked = logrekey.link_rotated(
            self.gw.store.pool,
            settings.identity_addr,
            margin=settings.rekey_margin_seconds,
            timeout=settings.rpc_timeout_seconds,
        )
        if linked:
            log.info("processing log linked to the new pseudonym key", extra={"subjects": linked})

    # -- one job --------------------------------------------------------------------------
    def run_once(self, max_chunks: int | None = None) -> bool:
        """Claim one job and work on it; False when there was nothing to do."""
        job = self.gw.store.claim_bulk_load(self.id, self.stale_seconds)
        if job is None:
            return False
        log.info("bulk load claimed", extra={"bulk_load": str(job.id), "next_row": job.next_row})
        self.process(job, max_chunks=max_chunks)
        return True

    def _timed(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - started
        return now

    def process(self, job: BulkLoad, max_chunks: int | None = None) -> None:
        """Work through the job from its next uncommitted row.

        Pipelined: while chunk k is registered (signal, up to `inflight` chunks at once), the
        next chunk is validated and pseudonymised (identity) in a helper thread. Commits stay
        strictly in row order, so a restart resumes after the last committed chunk; chunks
        registered but not yet committed are replayed and find their signals (done).
        """
        self.timings = {}
        store = self.gw.store
        staged = self._staged_file(job)
        org = store.organisation(job.organisation_id)
        if staged is None or org is None:
            self._finish(job, "failed")
            return
        context = _JobContext(job, org, {str(p.id): p for p in store.professionals(org.id) if p.active})
        committed_chunks = 0
        try:
            names, rows = raw_rows(io.BufferedReader(staged, staging.SEGMENT_BYTES), job.format)
            context.names = names
            chunks = self._chunks(rows, job.next_row)
            with (
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-prepare") as preparer,
                ThreadPoolExecutor(
                    max_workers=self.inflight, thread_name_prefix="bulk-register"
                ) as registrar,
            ):
                chunk = next(chunks, None)
                preparing: Future[_Prepared] | None = (
                    preparer.submit(self.prepare, chunk, context) if chunk else None
                )
                in_flight: deque[tuple[_Prepared, Future[tuple[int, list[tuple[int, str, str]]]]]] = deque()
                while True:
                    while preparing is not None and chunk is not None and len(in_flight) < self.inflight:
                        prepared = self._retrying(
                            job, preparing.result, partial(self.prepare, chunk, context)
                        )
                        chunk = next(chunks, None)
                        preparing = preparer.submit(self.prepare, chunk, context) if chunk else None
                        in_flight.append((prepared, registrar.submit(self.register, prepared)))
                    if not in_flight:
                        break
                    prepared, registering = in_flight.popleft()
                    done, errors = self._retrying(job, registering.result, partial(self.register, prepared))
                    started = time.perf_counter()
                    first, last = prepared.first, prepared.last
                    committed = store.commit_bulk_chunk(
                        job.id, self.id, max(first, context.next_row), last + 1, done, errors
                    )
                    self._timed("commit", started)
                    if not committed:
                        log.warning("bulk load claim lost", extra={"bulk_load": str(job.id)})
                        return
                    context.next_row = last + 1
                    committed_chunks += 1
                    if (max_chunks is not None and committed_chunks >= max_chunks) or self._stop.is_set():
                        return  # (tests: as if the process died here)
        except _Stopped:
            return
        except (StagedFileLost, InvalidArgument):
            # The upload checked the whole file; a file the worker cannot read as it was
            # checked fails its job instead of being retried for ever.
            log.error(
                "bulk load failed", extra={"bulk_load": str(job.id), "reason": "staged_file_unreadable"}
            )
            self._finish(job, "failed")
            return
        if self._finish(job):
            finished = store.bulk_load(job.id)
            log.info(
                "bulk load done",
                extra={
                    "bulk_load": str(job.id),
                    "rows_done": finished.rows_done if finished else 0,
                    "rows_failed": finished.rows_failed if finished else 0,
                    "seconds": {k: round(v, 2) for k, v in self.timings.items()},
                },
            )

    def _staged_file(self, job: BulkLoad) -> StagedFile | None:
        """The uploaded file, read segment by segment with its job's key (None: the key is
        lost; a segment that cannot be opened raises StagedFileLost while reading)."""
        key = self.gw.staging.get(job.id)
        if key is None:
            log.error("bulk load failed", extra={"bulk_load": str(job.id), "reason": "staging_key_lost"})
            return None
        return StagedFile(key, job.id, partial(self.gw.store.bulk_file_segment, job.id))

    def _finish(self, job: BulkLoad, state: str = "done") -> bool:
        """End the job: its sealed file is deleted and its key destroyed (crypto-shredding:
        dead rows and WAL keep only ciphertext nobody can open)."""
        finished = self.gw.store.finish_bulk_load(job.id, self.id, state)
        if finished:
            self.gw.staging.destroy(job.id)
        return finished

    def _chunks(self, rows: Iterator[tuple[int, Any]], next_row: int) -> Iterator[list[tuple[int, Any]]]:
        chunk: list[tuple[int, Any]] = []
        for number, raw in rows:
            if number < next_row:
                continue
            chunk.append((number, raw))
            if len(chunk) >= self.chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _retrying(self, job: BulkLoad, first: Callable[[], _T], again: Callable[[], _T] | None = None) -> _T:
        """Run a stage; while a back end is away keep the claim alive and try again.
        A permanent refusal of a whole batch fails the job."""
        attempt: Callable[[], _T] = first
        while True:
            try:
                return attempt()
            except DomainError as exc:
                if exc.code not in _TRANSIENT:
                    log.error("bulk load failed", extra={"bulk_load": str(job.id), "reason": exc.reason})
                    self._finish(job, "failed")
                    raise _Stopped from None
                log.warning(
                    "bulk load waiting for a back end", extra={"bulk_load": str(job.id), "reason": exc.reason}
                )
                if self._stop.wait(2.0) or not self.gw.store.heartbeat_bulk_load(job.id, self.id):
                    raise _Stopped from None
                attempt = again or first

    def prepare(self, chunk: list[tuple[int, Any]], context: _JobContext) -> _Prepared:
        """Validate a chunk and pseudonymise its BSNs in one call (no side effects)."""
        started = time.perf_counter()
        today = self.gw.today()
        valid: list[domain.BulkRow] = []
        errors: list[tuple[int, str, str]] = []
        default_pid = str(context.job.professional_id or "")
        for number, raw in chunk:
            try:
                body, pid = (
                    domain.csv_row_body(context.names, raw) if context.names else domain.jsonl_row_body(raw)
                )
                row = domain.parse_bulk_row(number, body, pid, default_pid, today)
            except InvalidArgument as exc:
                errors.append((number, exc.reason, _field(exc.metadata.get("field", ""))))
                continue
            if row.professional_id not in context.professionals:
                errors.append((number, "unknown_professional", "professionalId"))
                continue
            valid.append(row)
        started = self._timed("validate", started)
        numbers: list[int] = []
        # Built straight into the one message that goes to signal: no list of requests beside it.
        batch = spb.RegisterSignalsRequest(bulk=True)
        if valid:
            b = self.gw.backends
            try:
                results = b.identity.PseudonymiseBatch(
                    ipb.PseudonymiseBatchRequest(  # birth dates: checked with a BRP link (issue 18)
                        bsns=[r.registration.bsn for r in valid],
                        birth_dates=[r.registration.birth_date.isoformat() for r in valid],
                    ),
                    timeout=max(b.timeout, 120.0),
                ).results
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
            self._timed("identity", started)
            for row, result in zip(valid, results, strict=True):
                if result.error_reason:
                    field = "birthDate" if result.error_reason == "birth_date_mismatch" else "bsn"
                    errors.append((row.number, result.error_reason, field))
                    continue
                pro = context.professionals[row.professional_id]
                batch.signals.append(
                    registration_request(
                        row.registration,
                        result.pseudonym,
                        pro,
                        context.org,
                        result.municipality_code,
                        result.parent_pseudonyms,
                    )
                )
                numbers.append(row.number)
        return _Prepared(chunk[0][0], chunk[-1][0], numbers, batch, errors)

    def register(self, prepared: _Prepared) -> tuple[int, list[tuple[int, str, str]]]:
        """Register a prepared chunk in one call: (rows done, all row errors in row order)."""
        errors = list(prepared.errors)
        done = 0
        if prepared.numbers:
            started = time.perf_counter()
            b = self.gw.backends
            try:
                results = b.signal.RegisterSignals(
                    prepared.batch,
                    timeout=max(b.timeout, 120.0),
                ).results
            except grpc.RpcError as exc:
                raise from_rpc_error(exc) from None
            self._timed("signal", started)
            for number, outcome in zip(prepared.numbers, results, strict=True):
                if outcome.signal.signal_id or outcome.reason in _ALREADY_THERE:
                    done += 1
                else:
                    errors.append((number, outcome.reason or "refused", ""))
        errors.sort()
        return done, errors


def run_worker(settings: GatewaySettings) -> None:
    """`python -m services.gateway bulk-worker`: its own process (its own Deployment), never
    a thread of a gunicorn worker. Runs until SIGTERM or SIGINT, then stops between chunks."""
    telemetry.setup_telemetry("gateway-bulk", settings.region, settings.otel_endpoint)
    processing_log.configure(settings.processing_log_key)
    gw = Gateway(
        settings=settings,
        store=GatewayStore(open_pool(settings.database_url, max_size=4)),
        backends=Backends.from_settings(settings),
        clock=SystemClock(),
        staging=staging_keys(settings.redis_url),
    )
    worker = BulkWorker(
        gw,
        chunk_rows=settings.bulk_chunk_rows,
        stale_seconds=settings.bulk_stale_seconds,
        inflight=settings.bulk_inflight,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop_soon())
    log.info("bulk worker started", extra={"worker": str(worker.id)})
    try:
        worker.loop()
    finally:
        gw.backends.close()
        gw.store.pool.close()
        log.info("bulk worker stopped", extra={"worker": str(worker.id)})
