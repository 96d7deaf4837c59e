"""The REST API under /v1: blueprints per resource, and what they share.

Handlers are thin: validate (domain), call a back end or the store, map to JSON (convert).
Errors are raised, never returned: app.handle_error is the one place that renders them.
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from flask import Response, current_app, g, jsonify, request

from services.common.clock import Clock
from services.common.errors import DomainError, NotFound, from_rpc_error
from services.gateway import domain
from services.gateway.auth import Principal
from services.gateway.backends import Backends
from services.gateway.settings import GatewaySettings
from services.gateway.store import GatewayStore

API_VERSION = "1.0.0"
PREFIX = "/v1"
_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


class HttpProblem(DomainError):
    """An HTTP-only refusal (415, 413, 422, 429...) that has no gRPC counterpart."""

    def __init__(self, status: int, reason: str, detail: str, **metadata: str) -> None:
        super().__init__(reason, detail, **metadata)
        self.status = status


@dataclass
class Gateway:
    """What a request handler needs; one per Flask app, in app.extensions."""

    settings: GatewaySettings
    store: GatewayStore
    backends: Backends
    clock: Clock

    def today(self) -> date:
        """Dates (birth, informed) are Dutch calendar dates."""
        return self.clock.now().astimezone(_AMSTERDAM).date()


def gateway() -> Gateway:
    gw: Gateway = current_app.extensions["sluis_gateway"]
    return gw


def principal() -> Principal:
    who: Principal = g.principal
    return who


def professional_id() -> str:
    """The calling professional (the matrix guarantees there is one on professional routes)."""
    pid = principal().professional_id
    assert pid is not None
    return str(pid)


def json_body(*, optional: bool = False) -> Any:
    """The JSON body; with optional=True an empty body reads as {}."""
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    mimetype = request.mimetype
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise HttpProblem(415, "unsupported_media_type", "Stuur de body als application/json.")
    return domain.parse_json(raw)


def no_query(*allowed: str) -> None:
    domain.check_query(request.args, allowed)


def ok(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(doc)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def href(path: str) -> dict[str, str]:
    return {"href": PREFIX + path}


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def require_id(value: str, error: NotFound) -> str:
    """Path ids of an impossible shape are unknown, exactly like unknown ids."""
    if not _ID.fullmatch(value):
        raise error
    return value


def call(method: Any, req: Any, not_found: NotFound | None = None) -> Any:
    """One back-end call with the deadline; NOT_FOUND becomes `not_found` (one text for
    unknown and not-yours, whatever the back end said)."""
    b = gateway().backends
    try:
        return method(req, timeout=b.timeout)
    except grpc.RpcError as exc:
        err = from_rpc_error(exc)
        if not_found is not None and isinstance(err, NotFound):
            raise not_found from None
        raise err from None
