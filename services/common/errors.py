"""One error type for the whole platform, mapped to gRPC status and to problem+json here only.

Services raise a `DomainError` subclass with a stable machine `reason` (English, snake_case)
and a `detail` in Dutch for the person who reads it. The gRPC interceptor turns it into a
status with the reason in trailing metadata; the gateway turns that into RFC 9457
problem+json. A detail never contains a BSN or any other personal data.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import grpc

REASON_KEY = "sluis-reason"
_META_PREFIX = "sluis-meta-"


class DomainError(Exception):
    """A refusal that the caller should understand and can act on."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, reason: str, detail: str, **metadata: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.metadata = metadata

    def trailing_metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = [(REASON_KEY, self.reason)]
        pairs += [(_META_PREFIX + k.replace("_", "-"), v) for k, v in self.metadata.items()]
        return tuple(pairs)


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """Temporarily unable to serve (database down, a peer away): the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


# Seconds a client is told to wait (Retry-After) when SluiS is temporarily unavailable.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_DETAIL = "Een onderdeel van SluiS is tijdelijk niet bereikbaar. Probeer het later opnieuw."


def database_unavailable() -> Unavailable:
    """The error for a database that cannot be reached right now (fail fast, retry later)."""
    return Unavailable("service_unavailable", UNAVAILABLE_DETAIL, retry_after=str(RETRY_AFTER_SECONDS))


_BY_CODE: dict[grpc.StatusCode, type[DomainError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unauthenticated,
        ResourceExhausted,
        Unavailable,
    )
}

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}

# Dutch titles for problem+json, by HTTP status.
HTTP_TITLE: dict[int, str] = {
    400: "Ongeldig verzoek",
    401: "Niet geauthenticeerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    406: "Niet aanvaardbaar",
    409: "Conflict",
    413: "Verzoek te groot",
    415: "Mediatype niet ondersteund",
    422: "Niet verwerkbaar",
    429: "Te veel verzoeken",
    500: "Interne fout",
    503: "Dienst tijdelijk niet beschikbaar",
}


def from_rpc_error(error: grpc.RpcError) -> DomainError:
    """Rebuild the DomainError a service raised, from the RpcError a client received."""
    call: Any = error  # RpcErrors raised by stubs are also Calls: code(), details(), metadata
    code: grpc.StatusCode = call.code()
    detail: str = call.details() or ""
    trailing: Sequence[tuple[str, str | bytes]] = call.trailing_metadata() or ()
    reason = "internal"
    metadata: dict[str, str] = {}
    for key, value in trailing:
        text = value.decode() if isinstance(value, bytes) else value
        if key == REASON_KEY:
            reason = text
        elif key.startswith(_META_PREFIX):
            metadata[key[len(_META_PREFIX) :].replace("-", "_")] = text
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        reason = "service_unavailable"
        detail = UNAVAILABLE_DETAIL
    cls = _BY_CODE.get(code, DomainError)
    err = cls(reason, detail, **metadata)
    err.code = code
    return err


def http_status(error: DomainError) -> int:
    return HTTP_STATUS.get(error.code, 500)


def problem(
    status: int, detail: str, reason: str, extra: Mapping[str, object] | None = None
) -> dict[str, object]:
    """An RFC 9457 problem document (Dutch title and detail)."""
    doc: dict[str, object] = {
        "type": f"https://sluis.example/problemen/{reason}",
        "title": HTTP_TITLE.get(status, "Fout"),
        "status": status,
        "detail": detail,
        "code": reason,
    }
    if extra:
        doc.update(extra)
    return doc
