"""The published OpenAPI document against the NL API Design Rules (ADR 2.x).

The ADR Spectral ruleset cannot be fetched offline, so its rules are checked here, one test
per rule, with the rule's Spectral name; and the document is checked against the routes.
"""

import re
from typing import Any

import pytest

from services.common.domains import WORK_DOMAINS
from services.gateway.openapi import openapi_document

SPEC = openapi_document()
METHODS = ("get", "put", "post", "delete", "patch")


def resolve(node: Any, spec: dict[str, Any] = SPEC) -> Any:
    """Inline every local $ref (what Spectral does before applying the rules)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, spec)
        return {k: resolve(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, spec) for v in node]
    return node


RESOLVED = resolve(SPEC)


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in RESOLVED["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_nlgov_openapi3() -> None:
    assert re.fullmatch(r"3(\.\d+){1,2}", SPEC["openapi"])


def test_nlgov_semver() -> None:
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", SPEC["info"]["version"])


def test_info_contact_fields_exist() -> None:
    assert {"email", "name", "url"} <= set(SPEC["info"]["contact"])


def test_nlgov_include_major_version_in_uri_and_servers_use_https() -> None:
    for server in SPEC["servers"]:
        assert re.search(r"/v\d", server["url"])
        assert not server["url"].startswith("http://")


def test_nlgov_paths_no_trailing_slash_and_kebab_case() -> None:
    kebab = re.compile(r"^(/|(/_[a-z0-9]+|/(([a-z0-9\-]+|{[^}]+})(/([a-z0-9\-.]+|{[^}]+}))*)(/_[a-z]+)?)/?)$")
    for path in SPEC["paths"]:
        assert not re.fullmatch(r".+/$", path), path
        if path != "/openapi.json":
            assert kebab.match(path), path


def test_collections_are_plural() -> None:
    for path in SPEC["paths"]:
        first = path.strip("/").split("/")[0]
        assert first.endswith("s") or first in ("inbox", "openapi.json"), path


def test_nlgov_http_methods() -> None:
    for path, item in SPEC["paths"].items():
        for key in item:
            assert key in (*METHODS, "parameters", "summary", "description"), (path, key)


@pytest.mark.parametrize(
    ("path", "method", "op"), operations(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_operation_rules(path: str, method: str, op: dict[str, Any]) -> None:
    assert re.fullmatch(r"[a-z][a-zA-Z]+", op["operationId"])
    for param in op.get("parameters", []):
        if param["in"] == "query":
            # nlgov:query-keys-camel-case
            assert re.fullmatch(r"\$?[a-z][a-z\d]*([A-Z][a-z\d]*)*", param["name"]), param["name"]
        # No personal data in URLs: a BSN travels only in a POST body.
        assert "bsn" not in param["name"].lower()
    assert "bsn" not in path.lower()
    for status, response in op["responses"].items():
        if re.fullmatch(r"[23]\d\d", status):
            # nlgov:missing-header + nlgov:missing-version-header
            assert "API-Version" in response.get("headers", {}), (path, method, status)
        if re.fullmatch(r"[45]\d\d", status):
            # nlgov:use-problem-schema + nlgov:problem-schema-members
            content = response["content"]
            assert "application/problem+json" in content, (path, method, status)
            props = content["application/problem+json"]["schema"]["properties"]
            assert {"status", "title", "detail"} <= set(props)
    # nlgov:problem-invalid-input
    if method in ("post", "put", "patch") or (method in ("get", "delete") and op.get("parameters")):
        assert "400" in op["responses"], (path, method)


def _walk_properties(node: Any) -> Any:
    if isinstance(node, dict):
        yield from (node.get("properties") or {}).items()
        for value in node.values():
            yield from _walk_properties(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_properties(value)


def test_nlgov_date_rules() -> None:
    date_like = re.compile(r"((\w+D)|(_[dD]))((ate)|(atum))")
    for name, schema in _walk_properties(SPEC["components"]["schemas"]):
        if not isinstance(schema, dict):
            continue
        assert schema.get("format") not in ("date-time-local", "time"), name
        if name in ("date", "datum") or date_like.search(name):
            assert schema.get("format") == "date", name


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w.title() for w in rest)


def test_every_route_is_documented_and_every_documented_route_exists(app) -> None:
    documented = {
        (path, method.upper()) for path, item in SPEC["paths"].items() for method in item if method in METHODS
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "{" + camel(m.group(1)) + "}", rule.rule)[
            len("/v1") :
        ]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((path, method))
    assert routed == documented


def test_published_without_authentication(client) -> None:
    resp = client.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.get_json() == SPEC


def test_every_domain_enum_in_the_contract_is_the_work_domain_enum() -> None:
    """The contract lists work domains in four places; all follow sluis.types.v1.WorkDomain."""
    schemas = openapi_document()["components"]["schemas"]
    lists = [
        schemas["Organisation"]["properties"]["domains"]["items"]["enum"],
        schemas["NewOrganisation"]["properties"]["domains"]["items"]["enum"],
        schemas["OrganisationChanges"]["properties"]["domains"]["items"]["enum"],
        schemas["NewCoordinatorRules"]["properties"]["domainPriority"]["items"]["enum"],
    ]
    assert all(list(values) == list(WORK_DOMAINS) for values in lists)
