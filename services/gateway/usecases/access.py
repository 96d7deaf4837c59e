"""A person's rights, exercised through a region admin: access (inzage, GDPR art. 15), an
upheld objection (bezwaar), and a recorded death. The BSN goes to identity only; everything else uses the pseudonym."""

from dataclasses import dataclass

from sluis.identity.v1 import identity_pb2 as ipb
from sluis.match.v1 import match_pb2 as mpb
from sluis.signal.v1 import signal_pb2 as spb

from services.common.errors import NotFound
from services.gateway import domain
from services.gateway.usecases import audit, call, gateway, principal, signal_not_found


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
    audit("objection.uphold", objection_id)
    return objection_id


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
