"""The REST API under /v1: blueprints per resource, rendering the use cases as JSON.

Handlers are thin: read the request (the body is validated against docs/api/openapi.yaml by
the app's hook, domain rules by gateway/domain.py), call a use case (gateway/usecases) and
map the result to JSON (convert). Errors are raised, never returned: errors.decide is the one
place that decides them and app.py renders them as problem+json.
"""

from typing import Any

from flask import Response, jsonify, request

from services.gateway import domain
from services.gateway.convert import href
from services.gateway.errors import HttpProblem
from services.gateway.openapi import check_body


def body_bytes() -> bytes:
    """The request body. A chunked body (no Content-Length) is cut at the size limit by
    Werkzeug without an error; reaching the limit is refused here as 413, not read as JSON."""
    raw = request.get_data(cache=True)
    check_body_size(len(raw))
    return raw


def check_body_size(read: int) -> None:
    """413 for a chunked body that reached the limit (see body_bytes)."""
    limit = request.max_content_length
    if request.content_length is None and limit is not None and read >= limit:
        raise HttpProblem(413, "request_too_large", "Het verzoek is te groot.")


def is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def check_body_envelope() -> None:
    """Before any look-up, so the answer does not depend on which resource a path names: a
    body is only read as JSON when it says so (also without a Content-Type: 415), and a body
    over the size limit, chunked ones included, is 413."""
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if not has_body:
        return
    if not is_json(request.mimetype):
        raise HttpProblem(415, "unsupported_media_type", "Stuur de body als application/json.")
    body_bytes()


def json_body(*, optional: bool = False) -> Any:
    """The JSON body, checked against the contract; with optional=True an empty body is {}."""
    raw = body_bytes()
    if optional and not raw.strip():
        return {}
    if not is_json(request.mimetype):
        raise HttpProblem(415, "unsupported_media_type", "Stuur de body als application/json.")
    body = domain.parse_json(raw)
    check_body(request.method, request.url_rule.rule if request.url_rule else request.path, body)
    return body


def no_query(*allowed: str) -> None:
    domain.check_query(request.args, allowed)


def ok(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(doc)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def created(doc: dict[str, Any], status: int = 201) -> Response:
    """A new resource, with its Location."""
    return ok(doc, status, {"Location": doc["_links"]["self"]["href"]})


def list_links(path: str, page: domain.Page, has_next: bool, extra: str = "") -> dict[str, Any]:
    def at(number: int) -> dict[str, str]:
        return href(f"{path}?page={number}&pageSize={page.size}{extra}")

    links: dict[str, Any] = {"self": at(page.number)}
    if has_next:
        links["next"] = at(page.number + 1)
    if page.number > 1:
        links["prev"] = at(page.number - 1)
    return links
