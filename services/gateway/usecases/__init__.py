"""The gateway's application layer: THE place that calls the back ends, audits and decides
"unknown and not-yours look the same".

The REST API (`api/`) and the portal (`web/`) are renderers over these use cases: they parse
their input (JSON or a form), call a function here and render the result. Per area:
`signals` (register, renew, end, involvement), `matches` (matches and the inbox), `admin`
(organisations, professionals, credentials, webhooks, coordinator rules), `statistics`,
`access` (access requests and objections) and `bulk` (bulk loads).
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from flask import current_app, g

from services.common.clock import Clock
from services.common.errors import NotFound, from_rpc_error
from services.common.telemetry import current_trace_id
from services.gateway.auth import Principal
from services.gateway.backends import Backends
from services.gateway.errors import HttpProblem
from services.gateway.settings import GatewaySettings
from services.gateway.staging import LocalStagingKeys, StagingKeys
from services.gateway.store import GatewayStore, Organisation

_AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@dataclass
class Gateway:
    """What a use case needs; one per Flask app, in app.extensions (and one per bulk worker)."""

    settings: GatewaySettings
    store: GatewayStore
    backends: Backends
    clock: Clock
    # Keys of staged bulk files (Redis when configured: shared with the bulk worker).
    staging: StagingKeys = field(default_factory=LocalStagingKeys)

    def today(self) -> date:
        """Dates (birth, informed) are Dutch calendar dates."""
        return self.clock.now().astimezone(_AMSTERDAM).date()


def gateway() -> Gateway:
    gw: Gateway = current_app.extensions["sluis_gateway"]
    return gw


def principal() -> Principal:
    """The caller of this request (API key or portal session), set by the auth hook."""
    who: Principal = g.principal
    return who


def professional_id() -> str:
    """The calling professional (the matrix guarantees there is one on professional routes)."""
    pid = principal().professional_id
    assert pid is not None
    return str(pid)


def call(method: Any, req: Any, not_found: NotFound | None = None) -> Any:
    """One back-end call with the deadline; NOT_FOUND becomes `not_found` (one text for
    unknown, not yours and no longer active, whatever the back end said: no existence leak)."""
    try:
        return method(req, timeout=gateway().backends.timeout)
    except grpc.RpcError as exc:
        err = from_rpc_error(exc)
        if not_found is not None and isinstance(err, NotFound):
            raise not_found from None
        raise err from None


def audit(action: str, target: str, outcome: str = "ok") -> None:
    """One audit row per change, with the trace id. Portal actions are prefixed `web.` and
    have no credential (a session is not an API key)."""
    who = principal()
    gateway().store.audit(
        credential_id=None if who.portal else who.credential_id,
        role=who.role,
        action=("web." if who.portal else "") + action,
        target=target,
        outcome=outcome,
        trace_id=current_trace_id(),
    )


def require_active(org: Organisation) -> None:
    """A suspended or offboarded organisation gets no new signals or professionals (issue 16);
    what it has stays visible."""
    if org.status != "active":
        raise HttpProblem(
            409,
            "organisation_suspended" if org.status == "suspended" else "organisation_offboarded",
            "Deze organisatie is geschorst of uitgeschreven: er kunnen geen nieuwe signalen of"
            " professionals bij.",
        )


def page_of(fetch: Any, number: int) -> tuple[Any, bool]:
    """Walk the back end's page tokens to page `number` (1-based): (that page or None, has next)."""
    token = ""
    for current in range(1, number + 1):
        resp = fetch(token)
        if current == number:
            return resp, bool(resp.next_page_token)
        token = resp.next_page_token
        if not token:
            return None, False
    return None, False


def walk(fetch: Any, items: str, limit: int = 10_000) -> list[Any]:
    """Every item of a paged back-end list (up to `limit`): `fetch(token)` gives one page."""
    out: list[Any] = []
    token = ""
    while True:
        resp = fetch(token)
        out.extend(getattr(resp, items))
        token = resp.next_page_token
        if not token or len(out) >= limit:
            return out


# One answer for "unknown", "not yours" and "malformed id", per kind of resource.
def signal_not_found() -> NotFound:
    return NotFound("signal_not_found", "Signaal niet gevonden.")


def match_not_found() -> NotFound:
    return NotFound("match_not_found", "Match niet gevonden.")


def item_not_found() -> NotFound:
    return NotFound("inbox_item_not_found", "Bericht niet gevonden.")


def credential_not_found() -> NotFound:
    return NotFound("credential_not_found", "API-sleutel niet gevonden.")


def webhook_not_found() -> NotFound:
    return NotFound("webhook_not_found", "Webhook niet gevonden.")


def dead_letter_not_found() -> NotFound:
    return NotFound("dead_letter_not_found", "Deze onbestelbare melding bestaat niet.")


def bulk_load_not_found() -> NotFound:
    return NotFound("bulk_load_not_found", "Bulklading niet gevonden.")
