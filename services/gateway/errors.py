"""THE error decision of the gateway: which status, reason, text and headers an exception gets.

Made once here; the REST API renders it as problem+json (app.py), the portal as a Dutch HTML
page (web/errors.py). Back-end errors, local domain errors, HTTP errors and bugs alike.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

import grpc
from werkzeug.exceptions import HTTPException

from services.common.db import is_database_outage
from services.common.errors import (
    RETRY_AFTER_SECONDS,
    DomainError,
    database_unavailable,
    from_rpc_error,
    http_status,
)
from services.gateway.convert import PREFIX

log = logging.getLogger("sluis.gateway")

INTERNAL = "Er ging iets mis in SluiS. Probeer het later opnieuw."

# HTTP errors raised by Flask/Werkzeug itself (routing, limits): stable codes, Dutch detail.
HTTP_REASONS: dict[int, tuple[str, str]] = {
    404: ("not_found", "Deze URL bestaat niet."),
    405: ("method_not_allowed", "Deze methode is niet toegestaan op deze URL."),
    413: ("request_too_large", "Het verzoek is te groot."),
    414: ("uri_too_long", "De URL is te lang."),
    415: ("unsupported_media_type", "Dit mediatype wordt niet ondersteund."),
    431: ("headers_too_large", "De headers van het verzoek zijn te groot."),
}


class HttpProblem(DomainError):
    """An HTTP-only refusal (415, 413, 422, 429...) that has no gRPC counterpart."""

    def __init__(self, status: int, reason: str, detail: str, **metadata: str) -> None:
        super().__init__(reason, detail, **metadata)
        self.status = status


@dataclass
class Decision:
    """What the caller is told: the same for API and portal, only the rendering differs."""

    status: int
    reason: str
    detail: str
    extra: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _extra(err: DomainError) -> dict[str, Any] | None:
    """Machine-readable extras: the invalid field, the existing signal of a duplicate."""
    extra: dict[str, Any] = {}
    if "field" in err.metadata:
        extra["invalidParams"] = [{"name": err.metadata["field"], "reason": err.detail}]
    if "existing_signal_id" in err.metadata:
        extra["existingSignal"] = {"href": f"{PREFIX}/signals/{err.metadata['existing_signal_id']}"}
    return extra or None


def decide(exc: BaseException, endpoint: str | None = None) -> Decision:
    """The decision for any exception a request raised. Never leaks a back end's 5xx text."""
    if isinstance(exc, grpc.RpcError):
        exc = from_rpc_error(exc)
    if is_database_outage(exc):
        exc = database_unavailable()  # the gateway's own database is down: 503, retry later
    if isinstance(exc, HttpProblem):
        decision = Decision(exc.status, exc.reason, exc.detail, _extra(exc))
        if exc.status == 429 and "retry_after" in exc.metadata:
            decision.headers["Retry-After"] = exc.metadata["retry_after"]
        return decision
    if isinstance(exc, DomainError):
        status = http_status(exc)
        if status >= 500 and status != 503:
            log.error("back-end error", extra={"reason": exc.reason, "grpc_code": exc.code.name})
            return Decision(500, "internal", INTERNAL)
        decision = Decision(status, exc.reason, exc.detail, _extra(exc))
        if status == 401:
            decision.headers["WWW-Authenticate"] = 'Bearer realm="sluis"' + (
                ', error="invalid_token"' if exc.reason == "invalid_credentials" else ""
            )
        if status == 503:
            decision.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return decision
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        reason, detail = HTTP_REASONS.get(status, ("http_error", exc.description or "Fout."))
        decision = Decision(status, reason, detail)
        if status == 405:
            for key, value in exc.get_headers():
                if key.lower() == "allow":
                    decision.headers["Allow"] = value
        return decision
    log.exception("unhandled error", extra={"endpoint": endpoint or ""}, exc_info=exc)
    return Decision(500, "internal", INTERNAL)
