"""Lifecycle endpoints (issue 12, docs/retention.md).

- DELETE /v1/objections/{objectionId}/block (region admin): the organisation whose signal was
  removed after the upheld objection may signal the person again. 404 when unknown or lifted.
- POST /v1/organisations/{organisationId}/professionals/{professionalId}/transfer
  {toProfessionalId} (organisation or region admin): a professional who leaves hands their
  active signals to an active colleague of the same organisation (dates kept; the match and
  the coordinator role follow). Deactivating a professional with active signals is refused
  (409 professional_has_active_signals) until they are transferred or ended.
"""

from flask import Blueprint, Response
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import FailedPrecondition, InvalidArgument, NotFound
from services.gateway import auth, domain
from services.gateway.api import call, gateway, href, json_body, no_query, ok, principal, require_id
from services.gateway.api.admin import audit
from services.gateway.api.signals import contact_of
from services.gateway.store import Professional

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


@bp.post("/organisations/<organisation_id>/professionals/<professional_id>/transfer")
def transfer_signals(organisation_id: str, professional_id: str) -> Response:
    no_query()
    gw = gateway()
    org = auth.organisation_in_scope(gw.store, principal(), organisation_id)
    leaver = auth.professional_in_scope(gw.store, principal(), org, professional_id)
    obj = domain.expect_object(json_body(), "", ("toProfessionalId",))
    to_id = domain.expect_str(obj["toProfessionalId"], "toProfessionalId", max_len=64)
    try:
        colleague = auth.professional_in_scope(gw.store, principal(), org, to_id)
    except NotFound:
        raise _no_colleague() from None
    if colleague.id == leaver.id or not colleague.active:
        raise _no_colleague()
    resp = call(
        gw.backends.signal.TransferSignals,
        spb.TransferSignalsRequest(from_professional_id=str(leaver.id), to=contact_of(colleague, org)),
    )
    audit("professional.transfer", str(leaver.id))
    path = f"/organisations/{org.id}/professionals/{leaver.id}"
    return ok({"transferred": resp.transferred, "ended": resp.ended, "_links": {"professional": href(path)}})


def _no_colleague() -> InvalidArgument:
    return InvalidArgument(
        "transfer_target_invalid",
        "Kies een andere, actieve professional van dezelfde organisatie.",
        field="toProfessionalId",
    )


def require_no_active_signals(pro: Professional) -> None:
    """A professional with active signals is not deactivated: transfer or end them first."""
    resp = call(
        gateway().backends.signal.ListSignals,
        spb.ListSignalsRequest(professional_id=str(pro.id), status=spb.SIGNAL_STATUS_ACTIVE, page_size=1),
    )
    if resp.signals:
        raise FailedPrecondition(
            "professional_has_active_signals",
            "Deze professional heeft nog actieve signalen. Draag ze over aan een collega of beëindig ze"
            " voordat u de professional deactiveert.",
        )
