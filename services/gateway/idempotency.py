"""Idempotency-Key on POST: the first complete answer is stored per (credential, key) and
replayed for a retry; the same key with a different request is refused.

A 5xx answer is not stored (the key is released), so the client may retry it.
"""

import re

from flask import Response, g, request

from services.gateway import auth, domain
from services.gateway.errors import HttpProblem
from services.gateway.store import GatewayStore

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
_REPLAYED_HEADERS = ("Location", "Content-Type")


def begin(store: GatewayStore, principal: auth.Principal) -> Response | None:
    """Before a POST: claim the key, or answer with the stored response."""
    key = request.headers.get(HEADER)
    if key is None or request.method != "POST" or request.endpoint in auth.LARGE_BODIES:
        return None
    if not _KEY.fullmatch(key):
        raise HttpProblem(
            400, "invalid_idempotency_key", "Idempotency-Key moet 1 tot 200 zichtbare tekens zijn."
        )
    req_hash = domain.request_hash(request.method, request.path, request.get_data(cache=True))
    state, stored = store.claim_idempotency_key(principal.credential_id, key, req_hash)
    if state == "mismatch":
        raise HttpProblem(
            422, "idempotency_key_reused", "Deze Idempotency-Key is al gebruikt voor een ander verzoek."
        )
    if state == "busy":
        raise HttpProblem(409, "idempotency_key_in_use", "Een verzoek met deze Idempotency-Key loopt nog.")
    if state == "replay" and stored is not None:
        status, headers, body = stored
        response = Response(body, status=status)
        for name, value in headers.items():
            response.headers[name] = value
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency = (principal.credential_id, key)
    return None


def finish(store: GatewayStore, response: Response) -> Response:
    """After a claimed POST: store the answer (or release the key after a 5xx)."""
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return response
    credential_id, key = claimed
    if response.status_code >= 500:
        store.release_idempotency_key(credential_id, key)
        return response
    headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
    store.complete_idempotency_key(credential_id, key, response.status_code, headers, response.get_data())
    return response
