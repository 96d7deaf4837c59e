"""Contract tests generated from the published OpenAPI document (schemathesis): for every
operation, generated valid and invalid requests get no 5xx and only documented answers
(status codes, content types, headers and bodies as the document says)."""

import pytest
from hypothesis import HealthCheck, given, settings

from services.gateway.openapi import openapi_document

schemathesis = pytest.importorskip("schemathesis")
# Imported now, not lazily inside a deep hypothesis stack: pytest's assertion rewriting
# parses the module on import, and CPython 3.11 raises "AST constructor recursion depth
# mismatch" when that happens near the recursion limit (a flaky SystemError).
pytest.importorskip("schemathesis.wfc.escalation")

from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADMIN_TAGS = {"admin"}
SEEN: dict[str, set[int]] = {}
OPERATIONS = [
    op["operationId"]
    for item in openapi_document()["paths"].values()
    for method, op in item.items()
    if method in ("get", "post", "put", "patch", "delete")
]


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_contract(app, demo, operation_id) -> None:
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operation = schema.find_operation_by_id(operation_id)
    tags = set(operation.definition.raw.get("tags", []))
    if tags & ADMIN_TAGS:
        key = next(a["apiKey"] for a in demo["admins"] if a["role"] == "regionAdmin")
    else:
        key = demo["professionals"][0]["apiKey"]

    @given(
        case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    )
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case) -> None:
        headers = dict(case.headers or {})
        headers.pop("X-Professional-Id", None)
        headers.pop("Authorization", None)
        case.headers = headers
        resp = case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
        SEEN.setdefault(operation_id, set()).add(resp.status_code)

    check()
    # The generated requests reached the handlers: not only refusals at the door.
    assert SEEN[operation_id] - {401, 403}, SEEN[operation_id]
    print(operation_id, sorted(SEEN[operation_id]))
