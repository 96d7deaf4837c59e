"""Bulk loads: 100,000 mixed rows with exact counts and error report, idempotent re-upload,
resume after an interrupted worker."""

import csv
import hashlib
import hmac
import io
import uuid

import pytest

from services.common import processing_log
from services.gateway import domain, staging
from services.gateway.bulk import FINGERPRINT_LABEL, BulkWorker, StagedFile, UploadStream
from services.gateway.tests.test_api import assert_problem

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
HEADER = "bsn,birthDate,professionalId,informedParty,informedMethod,informedOn,postponeReason,multiProblemAttested,consentGiven"


def valid_bsn(i: int) -> str:
    """The i-th 11-proof BSN of a simple sequence (skipping bases without a check digit)."""
    base = 10_000_000 + i * 7
    while True:
        digits = f"{base:08d}"
        check = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11
        if check < 10:
            return digits + str(check)
        base += 1


def broken_bsn(bsn: str) -> str:
    return bsn[:-1] + str((int(bsn[-1]) + 1) % 10)


def make_file(n: int, professional_ids: list[str]) -> tuple[bytes, dict[int, str]]:
    """CSV with `n` data rows; returns it and the expected reason per failing row number."""
    lines = [HEADER]
    expected: dict[int, str] = {}
    for number in range(1, n + 1):
        bsn = valid_bsn(number)
        birth, party, pid = "1990-01-01", "person", professional_ids[number % len(professional_ids)]
        # Precedence follows the gateway: row fields, then the professional, then the BSN (identity).
        if number % 17 == 5:
            birth = "2999-01-01"
            expected[number] = "birth_date_in_future"
        elif number % 29 == 11:
            party = "neighbour"
            expected[number] = "invalid_field"
        elif number % 23 == 7:
            pid = str(uuid.UUID(int=number))
            expected[number] = "unknown_professional"
        elif number % 10 == 3:
            bsn = broken_bsn(bsn)
            expected[number] = "bsn_checksum"
        lines.append(f"{bsn},{birth},{pid},{party},letter,2026-01-02,,true,true")
    return ("\r\n".join(lines) + "\r\n").encode(), expected


@pytest.fixture
def system(client, demo):
    """An API key of Wijkteam Noord's case system, and that organisation's professionals."""
    admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
    resp = client.post(
        f"/v1/organisations/{admin['organisationId']}/api-credentials",
        json={"name": "zaaksysteem"},
        headers={"Authorization": f"Bearer {admin['apiKey']}"},
    )
    pros = [p["id"] for p in demo["professionals"] if p["organisation"] == "Wijkteam Noord"]
    return {"Authorization": f"Bearer {resp.get_json()['apiKey']}"}, pros


def upload(client, headers, content, mimetype="text/csv"):
    return client.post("/v1/bulk-loads", data=content, headers={**headers, "Content-Type": mimetype})


def worker_of(app, **kw) -> BulkWorker:
    return BulkWorker(app.extensions["sluis_gateway"], **kw)


def errors_of(client, headers, job_id) -> list[list[str]]:
    resp = client.get(f"/v1/bulk-loads/{job_id}/errors", headers=headers)
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True))))


def test_100k_rows_exact_counts_error_report_and_idempotent_reupload(app, client, system, fakes) -> None:
    headers, pros = system
    content, expected = make_file(100_000, pros)
    resp = upload(client, headers, content)
    assert resp.status_code == 202, resp.get_json()
    job = resp.get_json()
    assert job["state"] == "queued" and job["rowsTotal"] == 100_000
    assert resp.headers["Location"] == f"/v1/bulk-loads/{job['id']}"

    assert worker_of(app, chunk_rows=5000).run_once()
    done = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert done["state"] == "done"
    assert done["rowsFailed"] == len(expected)
    assert done["rowsDone"] == 100_000 - len(expected)
    assert done["rowsPending"] == 0
    # Pseudonymised and registered in batches (one call per chunk), marked as bulk.
    assert len(fakes.signal.bulk_calls) == 20 and all(fakes.signal.bulk_flags)
    assert fakes.identity.batch_calls == 20 and fakes.identity.calls == 0
    assert len(fakes.signal.signals) == done["rowsDone"]

    report = errors_of(client, headers, job["id"])
    assert report[0] == ["row", "reason", "field"]
    assert {int(r[0]): r[1] for r in report[1:]} == expected
    text = "\n".join(",".join(r) for r in report)
    assert valid_bsn(3) not in text and broken_bsn(valid_bsn(3)) not in text

    # Re-uploading the same file changes nothing.
    again = upload(client, headers, content)
    assert again.status_code == 200 and again.get_json()["id"] == job["id"]
    assert not worker_of(app).run_once()
    assert len(fakes.signal.signals) == done["rowsDone"]
    # The file (it holds BSNs) is gone once the job is done.
    assert _segments(app, job["id"]) == []


def test_interrupted_load_resumes_from_the_last_committed_chunk(app, client, system, fakes) -> None:
    headers, pros = system
    content, expected = make_file(10_000, pros)
    job = upload(client, headers, content).get_json()
    # The first worker commits two chunks, then "dies" (its heartbeat goes stale).
    first = worker_of(app, chunk_rows=1000)
    assert first.run_once(max_chunks=2)
    partial = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert partial["state"] == "running"
    assert partial["rowsDone"] + partial["rowsFailed"] == 2000
    calls_before = sum(fakes.signal.bulk_calls)
    # A live claim is not taken over ...
    assert not worker_of(app, chunk_rows=1000, stale_seconds=3600).run_once()
    # ... a stale one is, and the new worker goes on from row 2001.
    assert worker_of(app, chunk_rows=1000, stale_seconds=0).run_once()
    done = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert done["state"] == "done"
    assert done["rowsFailed"] == len(expected) and done["rowsDone"] == 10_000 - len(expected)
    resumed_rows = sum(fakes.signal.bulk_calls) - calls_before
    assert resumed_rows < 10_000 - 2000  # only rows after the committed chunks went out again
    # The dead worker cannot move progress any more.
    assert not app.extensions["sluis_gateway"].store.commit_bulk_chunk(
        uuid.UUID(job["id"]), first.id, 2001, 3001, 1, []
    )
    assert {int(r[0]): r[1] for r in errors_of(client, headers, job["id"])[1:]} == expected


def test_chunk_replayed_after_a_crash_counts_as_done(app, client, system, fakes, monkeypatch) -> None:
    headers, pros = system
    content, expected = make_file(3000, pros)
    job = upload(client, headers, content).get_json()
    store = app.extensions["sluis_gateway"].store
    real_commit = store.commit_bulk_chunk
    calls = {"n": 0}

    def crash_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed between registering and committing")
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(store, "commit_bulk_chunk", crash_once)
    with pytest.raises(RuntimeError):
        worker_of(app, chunk_rows=1000).run_once()
    monkeypatch.setattr(store, "commit_bulk_chunk", real_commit)
    assert worker_of(app, chunk_rows=1000, stale_seconds=0).run_once()
    done = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert done["rowsFailed"] == len(expected) and done["rowsDone"] == 3000 - len(expected)
    assert len(fakes.signal.signals) == done["rowsDone"]


def test_jsonl_by_a_professional_defaults_to_that_professional(app, client, auth, fakes) -> None:
    body = '{"bsn": "123456782", "birthDate": "1990-01-01", "informed": {"postponeReason": "safety"}, "consentGiven": true}'
    content = (body + "\n\n" + body.replace("123456782", "111222333") + "\n" + "[1]\n").encode()
    resp = upload(client, auth("anna"), content, "application/x-ndjson")
    assert resp.status_code == 202
    assert worker_of(app).run_once()
    job = client.get(f"/v1/bulk-loads/{resp.get_json()['id']}", headers=auth("anna")).get_json()
    assert (job["rowsTotal"], job["rowsDone"], job["rowsFailed"]) == (3, 2, 1)
    assert {s.professional.name for s in fakes.signal.signals.values()} == {"Anna de Vries"}
    # Another organisation cannot see the job.
    assert client.get(f"/v1/bulk-loads/{job['id']}", headers=auth("carla")).status_code == 404


@pytest.mark.parametrize(
    ("content", "mimetype", "status", "code"),
    [
        (b"", "text/csv", 400, "empty_file"),
        (b"bsn,birthDate\r\n", "text/csv", 400, "empty_file"),
        (b"bsn,shoeSize\r\n1,2\r\n", "text/csv", 400, "unknown_column"),
        (b"birthDate\r\n1990-01-01\r\n", "text/csv", 400, "missing_column"),
        (b"\xff\xfe", "text/csv", 400, "file_encoding"),
        # A blank first line is a blank header, also after more than one peek of blanks.
        ((b" \r\n" * 3000) + b"bsn,birthDate\r\n123456782,1990-01-01\r\n", "text/csv", 400, "missing_column"),
        (b"{}", "application/json", 415, "unsupported_media_type"),
    ],
)
def test_refused_uploads_store_nothing(app, client, system, content, mimetype, status, code) -> None:
    headers, _ = system
    assert_problem(upload(client, headers, content, mimetype), status, code)
    assert not worker_of(app).run_once()


def test_rows_beyond_the_limit_are_refused(client, system, monkeypatch) -> None:
    headers, pros = system
    monkeypatch.setattr(domain, "BULK_MAX_ROWS", 5)
    content, _ = make_file(6, pros)
    assert_problem(upload(client, headers, content), 413, "too_many_rows")


def test_worker_thread_processes_uploads(app, client, system) -> None:
    """The worker loop (the bulk-worker process runs it) picks up an upload on its own."""
    import time

    worker = BulkWorker(app.extensions["sluis_gateway"], poll_seconds=0.05).start()
    try:
        headers, pros = system
        content, expected = make_file(2000, pros)
        job = upload(client, headers, content).get_json()
        deadline = time.monotonic() + 30
        while True:
            state = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
            if state["state"] == "done":
                break
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["rowsFailed"] == len(expected)
    finally:
        worker.stop()


def test_several_chunks_in_flight_keep_exact_counts(app, client, system, fakes) -> None:
    headers, pros = system
    content, expected = make_file(5000, pros)
    job = upload(client, headers, content).get_json()
    assert worker_of(app, chunk_rows=400, inflight=3).run_once()
    done = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert (done["state"], done["rowsFailed"], done["rowsDone"]) == (
        "done",
        len(expected),
        5000 - len(expected),
    )
    assert {int(r[0]): r[1] for r in errors_of(client, headers, job["id"])[1:]} == expected


def test_no_unkeyed_hash_of_an_upload_is_stored(app, client, system) -> None:
    """Issue 14: a plain hash of a one-row file can be brute-forced back to its BSN, so the
    "same file" fingerprint is an HMAC under a key the database does not hold."""
    headers, pros = system
    content = (
        f"{HEADER}\r\n{valid_bsn(7)},1990-01-01,{pros[0]},person,letter,2026-01-02,,true,true\r\n".encode()
    )
    resp = upload(client, headers, content)
    assert resp.status_code == 202
    with app.extensions["sluis_gateway"].store.pool.connection() as conn:
        row = conn.execute("SELECT * FROM bulk_loads WHERE id = %s", (resp.get_json()["id"],)).fetchone()
    stored = [value for value in row if isinstance(value, bytes | memoryview)]
    assert stored, "the fingerprint is stored"
    framed = b"csv\n\n" + content
    unkeyed = {
        hashlib.new(name, message).digest()
        for name in ("sha256", "sha512", "sha1", "md5", "blake2b", "sha3_256")
        for message in (content, framed, content.strip())
    }
    for value in stored:
        assert bytes(value) not in unkeyed
        assert not any(digest in bytes(value) for digest in unkeyed)
    key = processing_log.derived_key(FINGERPRINT_LABEL)
    assert bytes(stored[0]) == hmac.new(key, framed, hashlib.sha256).digest()
    # Re-uploading the same file is still recognised: the HMAC is stable.
    again = upload(client, headers, content)
    assert again.status_code == 200 and again.get_json()["id"] == resp.get_json()["id"]


def _segments(app, job_id: str) -> list[tuple[int, bytes]]:
    with app.extensions["sluis_gateway"].store.pool.connection() as conn:
        rows = conn.execute(
            "SELECT seq, content FROM bulk_load_files WHERE bulk_load_id = %s ORDER BY seq", (job_id,)
        ).fetchall()
    return [(int(seq), bytes(content)) for seq, content in rows]


def test_a_large_upload_is_staged_in_sealed_segments_and_read_back_whole(app, client, system, fakes) -> None:
    """Issue 21: the upload is staged in segments of SEGMENT_BYTES as it is read, and the worker
    reads them back one by one; rows that straddle two segments come out whole."""
    headers, pros = system
    content, expected = make_file(60_000, pros)
    assert len(content) > 3 * staging.SEGMENT_BYTES
    job = upload(client, headers, content).get_json()
    segments = _segments(app, job["id"])
    assert [seq for seq, _ in segments] == list(range(len(segments)))
    assert len(segments) == -(-len(content) // staging.SEGMENT_BYTES)
    assert all(valid_bsn(1).encode() not in sealed for _, sealed in segments)
    assert worker_of(app).run_once()
    done = client.get(f"/v1/bulk-loads/{job['id']}", headers=headers).get_json()
    assert (done["state"], done["rowsTotal"], done["rowsFailed"], done["rowsDone"]) == (
        "done",
        60_000,
        len(expected),
        60_000 - len(expected),
    )
    assert not _segments(app, job["id"])  # gone with the job


def test_an_upload_refused_after_several_segments_leaves_no_job_and_no_segment(app, client, system) -> None:
    """Invalid UTF-8 deep in the file is found while staging: the whole transaction goes."""
    headers, pros = system
    content, _ = make_file(40_000, pros)
    assert len(content) > 2 * staging.SEGMENT_BYTES
    resp = upload(client, headers, content + b"\xff\xfe,1990-01-01\r\n")
    assert_problem(resp, 400, "file_encoding")
    with app.extensions["sluis_gateway"].store.pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM bulk_load_files").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM bulk_loads").fetchone() == (0,)
    assert not worker_of(app).run_once()


@pytest.mark.parametrize("damage", ["swap", "drop_last", "other_job"])
def test_reordered_cut_or_foreign_segments_fail_the_job(app, client, system, damage) -> None:
    """A segment's box seals its job, its place and whether it ends the file: swapped or
    missing segments, or one of another job, fail the job instead of loading other rows."""
    headers, pros = system
    content, _ = make_file(40_000, pros)
    first = upload(client, headers, content).get_json()
    second = upload(client, headers, content + b"\r\n\r\n").get_json()
    segments = _segments(app, first["id"])
    assert len(segments) >= 3
    with app.extensions["sluis_gateway"].store.pool.connection() as conn:
        if damage == "swap":
            conn.execute(
                "UPDATE bulk_load_files SET content = %s WHERE bulk_load_id = %s AND seq = 0",
                (segments[1][1], first["id"]),
            )
        elif damage == "drop_last":
            conn.execute(
                "DELETE FROM bulk_load_files WHERE bulk_load_id = %s AND seq = %s",
                (first["id"], segments[-1][0]),
            )
        else:
            (theirs,) = conn.execute(
                "SELECT content FROM bulk_load_files WHERE bulk_load_id = %s AND seq = 0", (second["id"],)
            ).fetchone()
            conn.execute(
                "UPDATE bulk_load_files SET content = %s WHERE bulk_load_id = %s AND seq = 0",
                (theirs, first["id"]),
            )
    assert worker_of(app).run_once()
    job = client.get(f"/v1/bulk-loads/{first['id']}", headers=headers).get_json()
    assert job["state"] == "failed"
    # Nothing of the file was taken for rows of its own: at most the segments read before the damage.
    assert job["rowsDone"] + job["rowsFailed"] < 40_000


def test_staged_file_reads_back_what_upload_stream_staged() -> None:
    """The two stream halves on their own (no database): any read size, any segment cut."""
    import hashlib as _h

    key, job_id = staging.new_key(), uuid.uuid4()
    data = _h.sha256(b"x").hexdigest().encode() * 100_000  # 6.4 MB
    sealed: list[bytes] = []
    up = UploadStream(
        io.BytesIO(data), key=key, job_id=job_id, file_format="csv", professional_id="", put=sealed.append
    )
    got = bytearray()
    while chunk := up.read(77_777):
        got += chunk
    assert bytes(got) == data and up.size == len(data)
    assert len(sealed) == -(-len(data) // staging.SEGMENT_BYTES)
    back = StagedFile(key, job_id, lambda seq: sealed[seq] if seq < len(sealed) else None)
    assert io.BufferedReader(back).read() == data
    key_of_fingerprint = processing_log.derived_key(FINGERPRINT_LABEL)
    assert up.fingerprint.digest() == hmac.new(key_of_fingerprint, b"csv\n\n" + data, hashlib.sha256).digest()


@pytest.mark.parametrize("chunked", [False, True])
def test_an_upload_over_the_size_limit_is_413_and_leaves_nothing(settings, demo, chunked) -> None:
    """The limit holds while the upload streams: with a Content-Length before anything is
    read, chunked when the limit is reached; the staged segments go with the transaction."""
    from services.gateway.app import create_app
    from services.gateway.backends import Backends
    from services.gateway.tests.conftest import close_app, replace

    small = replace(settings, max_bulk_bytes=3 * staging.SEGMENT_BYTES)
    app = create_app(small, Backends.from_settings(small))
    try:
        client = app.test_client()
        admin = next(a for a in demo["admins"] if a["organisation"] == "Wijkteam Noord")
        key = client.post(
            f"/v1/organisations/{admin['organisationId']}/api-credentials",
            json={"name": "zaaksysteem"},
            headers={"Authorization": f"Bearer {admin['apiKey']}"},
        ).get_json()["apiKey"]
        pros = [p["id"] for p in demo["professionals"] if p["organisation"] == "Wijkteam Noord"]
        content, _ = make_file(60_000, pros)
        assert len(content) > small.max_bulk_bytes
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
        if chunked:
            resp = client.post("/v1/bulk-loads", input_stream=io.BytesIO(content), headers=headers)
        else:
            resp = client.post("/v1/bulk-loads", data=content, headers=headers)
        assert_problem(resp, 413, "request_too_large")
        with app.extensions["sluis_gateway"].store.pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM bulk_load_files").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM bulk_loads").fetchone() == (0,)
    finally:
        close_app(app)


def test_uploads_beyond_the_concurrent_limit_are_503_with_retry_after(client, system) -> None:
    """Each upload holds a database connection while its body streams in: at most
    MAX_CONCURRENT_UPLOADS per process, the next one is asked to come back."""
    from services.gateway.usecases import bulk as bulk_usecase

    headers, pros = system
    content, _ = make_file(10, pros)
    held = [bulk_usecase._UPLOADS.acquire(blocking=False) for _ in range(bulk_usecase.MAX_CONCURRENT_UPLOADS)]
    assert all(held)
    try:
        resp = upload(client, headers, content)
        assert_problem(resp, 503, "bulk_uploads_busy")
        assert resp.headers["Retry-After"]
    finally:
        for _ in held:
            bulk_usecase._UPLOADS.release()
    assert upload(client, headers, content).status_code == 202
