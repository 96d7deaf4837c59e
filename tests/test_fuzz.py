"""Issue 14, continuous proof: fuzz every public REST endpoint of the real platform.

Two sources of input:
- schemathesis, from the published OpenAPI document: valid (POSITIVE) and invalid (NEGATIVE)
  requests for every operation;
- hypothesis strategies for what a schema cannot describe: lone surrogates in any string
  field, deep nesting, huge and non-finite numbers, invalid UTF-8, odd or missing content
  types, and chunked bodies (small and over the 1 MiB limit).

The result must be: no answer >= 500, every error as problem+json, and no partial writes:
requests that are refused leave every table of every database as it was (row counts).

Short profile in `make test`; `make fuzz` runs SLUIS_FUZZ_EXAMPLES (default 10,000) inputs
per operation and per raw-input category. What one input costs is mostly hypothesis and
schemathesis drawing it (10-50 ms of CPU in this process), not the round trip; so the full
profile is made feasible by shards (`make fuzz FUZZ_SHARDS=n`: xdist workers, each with its
own platform) and by doing nothing per input that is not needed: one kept-alive HTTP session,
no re-validation of a generated case (the credential is sent as an extra header, not written
into the case), hypothesis without shrinking or replay. Each test appends its figures
(inputs, requests, answers >= 500, partial writes, seconds) to SLUIS_FUZZ_REPORT when set;
`python -m tests.fuzz_report FILE` adds them up (the README's figures).
"""

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from psycopg import sql

from devstack.platform import SERVICES
from services.gateway.openapi import openapi_document

schemathesis = pytest.importorskip("schemathesis")
# Imported now, not lazily inside a deep hypothesis stack: pytest's assertion rewriting
# parses the module on import, and CPython 3.11 raises "AST constructor recursion depth
# mismatch" when that happens near the recursion limit (a flaky SystemError).
pytest.importorskip("schemathesis.wfc.escalation")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

FULL = int(os.environ.get("SLUIS_FUZZ_EXAMPLES", "0"))
SCHEMA_EXAMPLES = FULL or 12  # per operation and generation mode
RAW_EXAMPLES = FULL or 25  # per raw-input category
MAX_BODY = 1024 * 1024

OPERATIONS = [
    (method.upper(), path, op)
    for path, item in openapi_document()["paths"].items()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]
JSON_WRITES = [
    (m, p, op)
    for m, p, op in OPERATIONS
    if m != "GET" and "application/json" in op.get("requestBody", {}).get("content", {})
]
TALLY: Counter[str] = Counter()
REPORT = os.environ.get("SLUIS_FUZZ_REPORT", "")
# Rows that record a request itself, by design also for a refused one: the stored answer of an
# Idempotency-Key (replayed on a retry) and match's log of who looked at what. Not partial writes.
RECORDS_OF_REQUESTS = {"gateway.idempotency_keys", "match.access_log"}


# --- the platform's state -----------------------------------------------------------------


def row_counts(platform: Any) -> dict[str, int]:
    """Rows per table of every database (not the drained-in-the-background outbox)."""
    counts: dict[str, int] = {}
    for service in SERVICES:
        with psycopg.connect(platform.database_urls[service]) as conn:
            for (table,) in conn.execute("SELECT relname FROM pg_stat_user_tables ORDER BY 1").fetchall():
                if table in ("schema_migrations", "outbox") or f"{service}.{table}" in RECORDS_OF_REQUESTS:
                    continue
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                counts[f"{service}.{table}"] = conn.execute(query).fetchone()[0]  # type: ignore[index]
    return counts


@pytest.fixture(scope="module")
def platform_env() -> dict[str, str]:
    # The inputs are under test, not the rate limit (services/gateway/tests/test_limits.py
    # covers 429): refused inputs are cheap, and one kept-alive session sends them
    # faster than the 50/s a credential may, so the full profile would see 429 instead.
    return {"SLUIS_RATE_LIMIT_PER_SECOND": "100000", "SLUIS_RATE_LIMIT_BURST": "100000"}


@pytest.fixture(scope="module")
def keys(platform) -> dict[str, str]:
    demo = platform.demo
    return {
        "admin": next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin"),
        "professional": demo["professionals"][0]["apiKey"],
    }


def key_for(op: dict[str, Any], keys: dict[str, str]) -> str:
    return keys["admin"] if "admin" in op.get("tags", []) else keys["professional"]


def path_values(platform) -> dict[str, str]:
    pro = platform.demo["professionals"][0]
    return {"organisationId": pro["organisationId"], "professionalId": pro["id"]}


def fill(path: str, values: dict[str, str]) -> str:
    out = path
    for name in (
        "signalId",
        "matchId",
        "itemId",
        "bulkLoadId",
        "credentialId",
        "organisationId",
        "professionalId",
    ):
        out = out.replace("{" + name + "}", values.get(name, str(uuid.uuid4())))
    return "/v1" + out


def content_type(response: Any) -> str:
    """requests' headers, or schemathesis' (lower-case names, lists of values)."""
    for name in ("Content-Type", "content-type"):
        value = response.headers.get(name)
        if value:
            return str(value[0] if isinstance(value, list) else value)
    return ""


def sent() -> tuple[int, int]:
    """Requests sent so far by this process, and answers >= 500 among them."""
    errors = sum(n for k, n in TALLY.items() if k.endswith(":5xx"))
    return sum(TALLY.values()) - errors, errors


def record(test: str, since: tuple[int, int], started: float, partial_writes: int | None = None) -> None:
    """One test's figures, appended to SLUIS_FUZZ_REPORT (one JSON line; shards append too).
    `partial_writes`: tables changed by refused requests; None where not compared (some
    inputs were accepted, so rows may rightly have changed)."""
    if not REPORT:
        return
    now = sent()
    line = {
        "test": test,
        "requests": now[0] - since[0],
        "server_errors": now[1] - since[1],
        "partial_writes": partial_writes,
        "seconds": round(time.monotonic() - started, 3),
    }
    with open(REPORT, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def check_answer(response: Any, label: str) -> None:
    TALLY[label] += 1
    if response.status_code >= 500:
        TALLY[f"{label}:5xx"] += 1
    assert response.status_code < 500, f"{label}: {response.status_code}"
    if response.status_code >= 400:
        kind = content_type(response)
        assert kind.startswith("application/problem+json"), f"{label}: {response.status_code} {kind}"


def changed_tables(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int | None, int]]:
    return {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}


@pytest.fixture
def unchanged(platform, request) -> Iterator[None]:
    """Every request in the test is refused: afterwards no table has gained or lost a row."""
    before = row_counts(platform)
    started, since = time.monotonic(), sent()
    yield
    changed = changed_tables(before, row_counts(platform))
    record(request.node.name, since, started, len(changed))
    assert changed == {}


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One kept-alive session for the whole module: no TCP set-up per input."""
    with requests.Session() as session:
        yield session


# --- hypothesis strategies for what the schema cannot say --------------------------------

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)


def _example_body(op: dict[str, Any]) -> dict[str, Any]:
    schema = op["requestBody"]["content"]["application/json"].get("schema", {})
    props = schema.get("properties", {})
    return {name: "x" for name in props} or {"x": "x"}


def _by_id(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    return next(t for t in OPERATIONS if t[2]["operationId"] == operation_id)


# Bodies that are valid except for the one free-text field that gets the lone surrogate, so
# the text travels as far as it can (database, gRPC) instead of being refused for another field.
SURROGATE_TARGETS = [
    ("createApiCredential", lambda text: {"name": text}),
    ("createProfessional", lambda text: {"name": text, "email": f"fuzz-{uuid.uuid4().hex}@example.org"}),
    (
        "createProfessional",
        lambda text: {"name": "Fuzz", "email": f"fuzz-{uuid.uuid4().hex}@example.org", "role": text},
    ),
    ("updateOrganisation", lambda text: {"name": text}),
]


@st.composite
def with_surrogate(draw: st.DrawFn) -> tuple[tuple[str, str, dict[str, Any]], bytes]:
    operation_id, make = draw(st.sampled_from(SURROGATE_TARGETS))
    text = draw(st.text(max_size=5)) + draw(SURROGATES) + draw(st.text(max_size=5))
    # ensure_ascii writes the lone surrogate as the \udXXX escape a client would send.
    return _by_id(operation_id), json.dumps(make(text)).encode()


@st.composite
def deeply_nested(draw: st.DrawFn) -> tuple[tuple[str, str, dict[str, Any]], bytes]:
    target = draw(st.sampled_from(JSON_WRITES))
    depth = draw(st.integers(1_000, 100_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return target, (opener * depth + "1" + closer * depth).encode()


@st.composite
def huge_numbers(draw: st.DrawFn) -> tuple[tuple[str, str, dict[str, Any]], bytes]:
    target = draw(st.sampled_from(JSON_WRITES))
    body = json.dumps(_example_body(target[2]))
    number = draw(
        st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-0", "1" * 5000, "0." + "0" * 5000 + "1"])
        | st.integers(min_value=2**63).map(str)
    )
    field = draw(st.sampled_from(sorted(json.loads(body))))
    return target, body.replace(f'"{field}": "x"', f'"{field}": {number}').encode()


@st.composite
def bad_bytes(draw: st.DrawFn) -> tuple[tuple[str, str, dict[str, Any]], bytes]:
    target = draw(st.sampled_from(JSON_WRITES))
    junk = draw(st.binary(min_size=1, max_size=200).filter(lambda b: not _is_utf8(b)))
    return target, b'{"x": "' + junk + b'"}'


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _send(
    http: requests.Session | None,
    platform: Any,
    keys: dict[str, str],
    target: tuple[str, str, dict[str, Any]],
    body: Any,
    content_type: str | None = "application/json",
    extra: dict[str, str] | None = None,
) -> requests.Response:
    method, path, op = target
    headers = {"Authorization": f"Bearer {key_for(op, keys)}", **(extra or {})}
    request = requests.Request(
        method, platform.url + fill(path, path_values(platform)), data=body, headers=headers
    )
    prepared = request.prepare()
    if content_type is None:
        prepared.headers.pop("Content-Type", None)
    else:
        prepared.headers["Content-Type"] = content_type
    if http is not None:
        return http.send(prepared, timeout=60)
    with requests.Session() as session:  # a body refused half-way: no connection to keep
        return session.send(prepared, timeout=60)


# No shrinking: one failing input is reported as found (each request costs a round trip).
RAW = settings(
    max_examples=RAW_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@pytest.mark.parametrize(
    ("category", "strategy", "expected"),
    [
        pytest.param("surrogate", with_surrogate(), {400}),
        pytest.param("deep_nesting", deeply_nested(), {400, 413}),
        pytest.param("huge_numbers", huge_numbers(), {400, 404}),
        pytest.param("invalid_utf8", bad_bytes(), {400}),
    ],
)
def test_raw_json_bodies_are_refused_cleanly(
    http, platform, keys, unchanged, category, strategy, expected
) -> None:
    @RAW
    @given(case=strategy)
    def run(case: tuple[tuple[str, str, dict[str, Any]], bytes]) -> None:
        target, body = case
        response = _send(http, platform, keys, target, body)
        check_answer(response, category)
        # 404 only where the path names something that does not exist (checked after parsing
        # by some handlers); never a success for a body that cannot be valid.
        assert response.status_code in expected | {403, 404, 409}, (category, target[1], response.status_code)

    run()


ODD_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/octet-stream",
    "image/png",
    "application/json-seq",
    "garbage",
]


def test_odd_content_types_are_refused(http, platform, keys, unchanged) -> None:
    @RAW
    @given(target=st.sampled_from(JSON_WRITES), content_type=st.sampled_from(ODD_TYPES))
    def run(target: tuple[str, str, dict[str, Any]], content_type: str) -> None:
        response = _send(http, platform, keys, target, json.dumps(_example_body(target[2])), content_type)
        check_answer(response, "odd_content_type")
        assert response.status_code in (400, 403, 404, 409, 415), (
            target[1],
            content_type,
            response.status_code,
        )

    run()


def test_a_body_without_content_type_is_415(http, platform, keys, unchanged) -> None:
    @RAW
    @given(target=st.sampled_from(JSON_WRITES))
    def run(target: tuple[str, str, dict[str, Any]]) -> None:
        response = _send(http, platform, keys, target, json.dumps(_example_body(target[2])), None)
        check_answer(response, "no_content_type")
        assert response.status_code == 415, (target[1], response.status_code)

    run()


def _chunks(total: int, size: int) -> Iterator[bytes]:
    sent = 0
    yield b'{"x": "'
    while sent < total:
        piece = min(size, total - sent)
        yield b"a" * piece
        sent += piece
    yield b'"}'


def test_small_chunked_bodies_are_parsed_like_any_other(http, platform, keys, unchanged) -> None:
    @RAW
    @given(target=st.sampled_from(JSON_WRITES), total=st.integers(0, 4000), size=st.integers(1, 1000))
    def run(target: tuple[str, str, dict[str, Any]], total: int, size: int) -> None:
        response = _send(http, platform, keys, target, _chunks(total, size))  # a generator: chunked
        check_answer(response, "chunked")
        assert response.status_code in (400, 403, 404, 409), (target[1], response.status_code)

    run()


def test_a_chunked_body_over_the_limit_is_413(platform, keys, unchanged) -> None:
    @settings(RAW, max_examples=min(RAW_EXAMPLES, 10))
    @given(target=st.sampled_from(JSON_WRITES), extra=st.integers(1, 200_000))
    def run(target: tuple[str, str, dict[str, Any]], extra: int) -> None:
        response = _send(None, platform, keys, target, _chunks(MAX_BODY + extra, 64 * 1024))
        check_answer(response, "chunked_too_large")
        assert response.status_code == 413, (target[1], response.status_code)

    run()


def test_over_long_urls_and_headers_get_problem_json(platform, keys) -> None:
    for url in (platform.url + "/v1/signals?x=" + "a" * 10_000, platform.url + "/v1/" + "a" * 10_000):
        check_answer(
            requests.get(url, headers={"Authorization": f"Bearer {keys['professional']}"}, timeout=30),
            "long_url",
        )
    headers = {"Authorization": f"Bearer {keys['professional']}", "X-Long": "a" * 20_000}
    check_answer(requests.get(platform.url + "/v1/signals", headers=headers, timeout=30), "long_header")


# --- schemathesis: every operation from the OpenAPI document -------------------------------


SCHEMAS: dict[str, Any] = {}
GENERATED_AUTH = ("Authorization", "X-Professional-Id")


def _schema_run(http, platform, keys, mode: GenerationMode, operation_id: str) -> Counter[int]:
    if platform.url not in SCHEMAS:  # loaded once per platform, not per operation
        SCHEMAS[platform.url] = schemathesis.openapi.from_url(platform.url + "/v1/openapi.json")
    operation = SCHEMAS[platform.url].find_operation_by_id(operation_id)
    op = operation.definition.raw
    auth = {"Authorization": f"Bearer {key_for(op, keys)}"}
    label = f"{mode.value}:{operation_id}"
    seen: Counter[int] = Counter()

    @settings(RAW, max_examples=SCHEMA_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        # Our credential goes as an extra header; the case is only edited when it generated
        # credentials of its own (an edited case is validated again, which costs).
        if case.headers and any(h in case.headers for h in GENERATED_AUTH):
            case.headers = {k: v for k, v in case.headers.items() if k not in GENERATED_AUTH}
        response = case.call_and_validate(
            base_url=platform.url + "/v1", session=http, headers=auth, checks=[not_a_server_error]
        )
        check_answer(response, label)
        seen[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:
        assert mode == GenerationMode.NEGATIVE  # nothing to make invalid: no parameters, no body
    return seen


OPERATION_IDS = [op["operationId"] for _, _, op in OPERATIONS]


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_invalid_requests_to_every_operation_are_refused_without_writes(
    http, platform, keys, operation_id
) -> None:
    before = row_counts(platform)
    started, since = time.monotonic(), sent()
    seen = _schema_run(http, platform, keys, GenerationMode.NEGATIVE, operation_id)
    changed = changed_tables(before, row_counts(platform))
    accepted = sum(n for status, n in seen.items() if status < 400)
    record(f"negative:{operation_id}", since, started, len(changed) if accepted == 0 else None)
    if accepted == 0:
        assert changed == {}
    print(operation_id, "negative", dict(seen), f"{time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_valid_requests_to_every_operation_never_fail(http, platform, keys, operation_id) -> None:
    started, since = time.monotonic(), sent()
    seen = _schema_run(http, platform, keys, GenerationMode.POSITIVE, operation_id)
    record(f"positive:{operation_id}", since, started)
    print(operation_id, "positive", dict(seen), f"{time.monotonic() - started:.1f} s")


def test_zz_report(platform) -> None:
    """The figures for the README (printed with -s)."""
    print(f"\nfuzz: {sum(TALLY.values())} requests, by category: {dict(sorted(TALLY.items()))}")
