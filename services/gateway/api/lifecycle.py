"""Lifecycle endpoints (docs/retention.md): lifting the block of an upheld objection.

DELETE /v1/objections/{objectionId}/block (region admin): the organisation whose signal was
removed after the upheld objection may signal the person again. 404 when unknown or lifted.
"""

from flask import Blueprint, Response
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import NotFound
from services.gateway.api import call, gateway, no_query, require_id
from services.gateway.api.admin import audit

bp = Blueprint("lifecycle", __name__)


@bp.delete("/objections/<objection_id>/block")
def lift_objection_block(objection_id: str) -> Response:
    no_query()
    not_found = NotFound("objection_not_found", "Deze blokkade bestaat niet (meer).")
    require_id(objection_id, not_found)
    call(
        gateway().backends.signal.LiftObjectionBlock,
        spb.LiftObjectionBlockRequest(objection_id=objection_id),
        not_found,
    )
    audit("objection.lift_block", objection_id)
    return Response(status=204)
