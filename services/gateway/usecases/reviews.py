"""Profile changes that take effect (issue 22).

- An organisation that loses (or gains) mayCoordinate: signal's copy follows and match hands a
  coordinator role it may no longer hold on by the rules (members are told by match/notify).
- A change of legal basis flags the organisation's active signals for review by its admin, who
  confirms or ends each one (API and organisation portal).
"""

from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb

from services.gateway.store import Organisation
from services.gateway.usecases import audit, call, gateway, signal_not_found

_BASIS = {"consent": "toestemming", "legalGround": "wettelijke grondslag"}


def _basis(org: Organisation) -> str:
    label = _BASIS.get(org.legal_basis, org.legal_basis)
    return f"{label} ({org.legal_ground})" if org.legal_ground else label


def profile_changed(before: Organisation, after: Organisation) -> None:
    """Called after the profile was stored (usecases/admin.update_organisation)."""
    b = gateway().backends
    org_id = str(after.id)
    if before.may_coordinate != after.may_coordinate:
        call(
            b.signal.SetOrganisationMayCoordinate,
            spb.SetOrganisationMayCoordinateRequest(
                organisation_id=org_id, may_coordinate=after.may_coordinate
            ),
        )
        call(
            b.match.SetOrganisationMayCoordinate,
            mpb.SetOrganisationMayCoordinateRequest(
                organisation_id=org_id, may_coordinate=after.may_coordinate
            ),
        )
    if (before.legal_basis, before.legal_ground) != (after.legal_basis, after.legal_ground):
        reason = f"Grondslag gewijzigd van {_basis(before)} naar {_basis(after)}."
        call(
            b.signal.FlagSignalsForReview,
            spb.FlagSignalsForReviewRequest(organisation_id=org_id, reason=reason),
        )


def for_review(org: Organisation) -> list[spb.SignalForReview]:
    resp = call(
        gateway().backends.signal.ListSignalsForReview,
        spb.ListSignalsForReviewRequest(organisation_id=str(org.id)),
    )
    return list(resp.signals)


def review(org: Organisation, signal_id: str, *, confirm: bool) -> spb.Signal:
    """The admin confirms (it stays) or ends one flagged signal of their organisation."""
    resp = call(
        gateway().backends.signal.ReviewSignal,
        spb.ReviewSignalRequest(organisation_id=str(org.id), signal_id=signal_id, confirm=confirm),
        signal_not_found(),
    )
    audit("signal.review.confirm" if confirm else "signal.review.end", signal_id)
    signal: spb.Signal = resp.signal
    return signal
