"""A person's rights, exercised through a region admin: access (inzage, GDPR art. 15), an
upheld objection (bezwaar), and a recorded death. The BSN goes to identity only; everything else uses the pseudonym."""

import logging
from dataclasses import dataclass

import grpc
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb
from sluis.types.v1 import types_pb2

from services.common.errors import NotFound
from services.common.protos import to_timestamp
from services.gateway import domain
from services.gateway.usecases import audit, call, gateway, principal, signal_not_found

log = logging.getLogger(__name__)


@dataclass
class AccessReport:
    """Everything SluiS holds on one person (rendered by the API as one document)."""

    signals: list[spb.Signal]
    matches: list[mpb.Match]
    reads: list[mpb.AccessLogEntry]
    organisation_names: dict[str, str]


def access_request(bsn: str) -> AccessReport:
    gw = gateway()
    b = gw.backends
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    signals = call(
        b.signal.ListSignalsOnPseudonym, spb.ListSignalsOnPseudonymRequest(pseudonym=pseudonym)
    ).signals
    matches = call(
        b.match.ListMatchesOnPseudonym, mpb.ListMatchesOnPseudonymRequest(pseudonym=pseudonym)
    ).matches
    entries = call(b.match.ListAccessLog, mpb.ListAccessLogRequest(pseudonym=pseudonym)).entries
    names = {str(o.id): o.name for o in gw.store.organisations(principal().region)}
    audit("access_request", "", f"signals={len(signals)} matches={len(matches)} reads={len(entries)}")
    return AccessReport(list(signals), list(matches), list(entries), names)


def record_death(bsn: str) -> int:
    """A region admin records a person's death: every active signal on them is ended (reason
    deceased) and archived, not deleted. The BSN goes to identity only; returns how many."""
    b = gateway().backends
    pseudonym = call(b.identity.Pseudonymise, ipb.PseudonymiseRequest(bsn=bsn)).pseudonym
    ended: int = call(b.signal.RecordDeath, spb.RecordDeathRequest(pseudonym=pseudonym)).ended
    audit("death.record", "", f"signals_ended={ended}")
    return ended


def uphold_objection(signal_id: str) -> str:
    """An upheld objection: the signal is removed at once, without archive, and its
    organisation may not signal the person again until the block is lifted. Returns the
    objection id (the audit names the objection: the signal id is erased everywhere)."""
    if not domain.is_path_id(signal_id):
        raise signal_not_found()
    removed = call(
        gateway().backends.signal.RemoveSignal,
        spb.RemoveSignalRequest(signal_id=signal_id, reason=spb.END_REASON_OBJECTION_UPHELD),
        signal_not_found(),
    )
    objection_id: str = removed.objection_id
    # Erasure reaches the gateway's copies too: stored Idempotency-Key replies naming it.
    gateway().store.erase_idempotency_replies(signal_id)
    audit("objection.uphold", objection_id)
    _tell_organisation_admins(removed.organisation_id, objection_id)
    return objection_id


def _tell_organisation_admins(organisation_id: str, objection_id: str) -> None:
    """The signalling organisation's admins learn why a signal disappeared (issue 12): a mail
    and an inbox item through notify, naming neither the signal nor the person.

    The professional is told by signal in the removal's own transaction; this second notice
    is sent after it (the gateway knows the admins). Event ids derive from the objection, so
    notify delivers each once; a failure is logged and audited, the removal stands.
    """
    if not organisation_id:
        return
    gw = gateway()
    admins = gw.store.organisation_admins(organisation_id)
    if not admins:
        return
    org = gw.store.organisation(organisation_id)
    events = [
        spb.SignalEvent(
            event_id=f"objection-admin:{objection_id}:{a.id}",
            kind=spb.SIGNAL_EVENT_KIND_DELETED,
            end_reason=spb.END_REASON_OBJECTION_UPHELD,
            professional=types_pb2.ProfessionalContact(
                professional_id=str(a.id),
                name=a.name,
                role="organisatiebeheerder",
                email=a.email,
                organisation_id=organisation_id,
                organisation_name=org.name if org is not None else "",
            ),
            occurred_at=to_timestamp(gw.clock.now()),
        )
        for a in admins
    ]
    try:
        gw.backends.notify.ApplySignalEvents(
            npb.ApplySignalEventsRequest(events=events), timeout=gw.backends.timeout
        )
    except grpc.RpcError:
        log.warning(
            "organisation admins not told of an upheld objection", extra={"objection_id": objection_id}
        )
        audit("objection.tell_admins", objection_id, "failed")


def objection_not_found() -> NotFound:
    return NotFound("objection_not_found", "Deze blokkade bestaat niet (meer).")


def lift_objection_block(objection_id: str) -> None:
    """A region admin lifts the block: the organisation may signal the person again."""
    if not domain.is_path_id(objection_id):
        raise objection_not_found()
    call(
        gateway().backends.signal.LiftObjectionBlock,
        spb.LiftObjectionBlockRequest(objection_id=objection_id),
        objection_not_found(),
    )
    audit("objection.lift_block", objection_id)
