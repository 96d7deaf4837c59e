"""Recording fakes of the four back ends, served by a REAL aio gRPC server (GrpcService), so
the gateway's real client path (channels, deadlines, error mapping) is exercised.

Why fakes here and not the real servers: these tests assert on what the gateway SENT (nothing
for a refused request, one batch call per bulk chunk, the contact snapshot) and run ~270
cases in seconds. They keep only the few answers the gateway must render (elfproef, "exists",
NOT_FOUND); the real rules are tested in each service, and the gateway against the real
platform in tests/ (test_flow, test_bad_input, browser)."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sluis.identity.v1 import identity_pb2 as ipb
from sluis.identity.v1 import identity_pb2_grpc
from sluis.match.v1 import match_pb2 as mpb
from sluis.match.v1 import match_pb2_grpc
from sluis.notify.v1 import notify_pb2 as npb
from sluis.notify.v1 import notify_pb2_grpc
from sluis.signal.v1 import signal_pb2 as spb
from sluis.signal.v1 import signal_pb2_grpc
from sluis.types.v1 import processing_log_pb2 as lpb

from services.common import clientref, processing_log
from services.common.config import ServiceSettings
from services.common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.common.grpcserver import GrpcService
from services.common.protos import to_timestamp

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def bsn_reason(raw: str) -> str:
    digits = raw.strip()
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return "bsn_format"
    if digits == "000000000" or sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11:
        return "bsn_checksum"
    return ""


def fake_pseudonym(bsn: str) -> str:
    return "1." + hashlib.sha256(b"fake:" + bsn.strip().zfill(9).encode()).hexdigest()[:43]


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self) -> None:
        self.calls = 0
        self.batch_calls = 0

    async def Pseudonymise(self, request: Any, context: Any) -> Any:
        self.calls += 1
        reason = bsn_reason(request.bsn)
        if reason:
            raise InvalidArgument(reason, "Het BSN is ongeldig: het voldoet niet aan de elfproef.")
        return ipb.PseudonymiseResponse(pseudonym=fake_pseudonym(request.bsn), key_version=1)

    async def PseudonymiseBatch(self, request: Any, context: Any) -> Any:
        self.batch_calls += 1
        out = []
        for bsn in request.bsns:
            reason = bsn_reason(bsn)
            out.append(
                ipb.PseudonymiseBatchResult(error_reason=reason)
                if reason
                else ipb.PseudonymiseBatchResult(pseudonym=fake_pseudonym(bsn), key_version=1)
            )
        return ipb.PseudonymiseBatchResponse(results=out)


class FakeSignal(signal_pb2_grpc.SignalServiceServicer):
    def __init__(self) -> None:
        self.signals: dict[str, spb.Signal] = {}
        self.requests: list[spb.RegisterSignalRequest] = []
        self.foreign_seen: list[processing_log.Foreign] = []
        self.bulk_calls: list[int] = []
        self.bulk_flags: list[bool] = []
        self.active: dict[tuple[str, str], str] = {}
        self.blocks: set[str] = set()
        self.removed: list[str] = []
        # What GetSignalStatistics answers when a test sets it; else signals registered per month.
        self.statistics: spb.GetSignalStatisticsResponse | None = None
        self.statistics_requests: list[spb.GetSignalStatisticsRequest] = []
        # Issue 22: signal id -> review reason; organisation id -> mayCoordinate changes.
        self.reviews: dict[str, str] = {}
        self.may_coordinate: dict[str, bool] = {}

    def _register(self, request: spb.RegisterSignalRequest) -> spb.Signal:
        pid = request.professional.professional_id
        existing = self.active.get((request.pseudonym, pid))
        if existing in self.signals and self.signals[existing].status == spb.SIGNAL_STATUS_ACTIVE:
            raise AlreadyExists(
                "signal_exists", "U heeft al een actief signaal op deze persoon.", existing_signal_id=existing
            )
        consent = request.consent_given or request.consent_by
        if request.organisation.legal_basis == spb.LEGAL_BASIS_CONSENT and not consent:
            raise InvalidArgument("consent_required", "Toestemming is nodig voor deze organisatie.")
        now = datetime.now(UTC)
        sig = spb.Signal(
            signal_id=str(uuid.uuid4()),
            pseudonym=request.pseudonym,
            birth_date=request.birth_date,
            professional=request.professional,
            legal_basis=request.organisation.legal_basis,
            legal_ground=request.organisation.legal_ground,
            informed=request.informed,
            multi_problem_attested=request.multi_problem_attested,
            consent_given=bool(consent),
            consent_by=request.consent_by,
            under_guardianship=request.under_guardianship,
            client_reference=request.client_reference,
            status=spb.SIGNAL_STATUS_ACTIVE,
            registered_at=to_timestamp(now),
            active_until=to_timestamp(now + timedelta(days=730)),
            version=1,
        )
        self.signals[sig.signal_id] = sig
        self.active[(request.pseudonym, pid)] = sig.signal_id
        return sig

    async def RegisterSignal(self, request: Any, context: Any) -> Any:
        self.requests.append(request)
        return spb.RegisterSignalResponse(signal=self._register(request))

    async def RegisterSignals(self, request: Any, context: Any) -> Any:
        self.bulk_calls.append(len(request.signals))
        self.bulk_flags.append(request.bulk)
        results = []
        for item in request.signals:
            try:
                results.append(spb.RegisterSignalResult(signal=self._register(item)))
            except (AlreadyExists, InvalidArgument) as exc:
                results.append(spb.RegisterSignalResult(reason=exc.reason, detail=exc.detail))
        return spb.RegisterSignalsResponse(results=results)

    def _own(self, signal_id: str, professional_id: str) -> spb.Signal:
        sig = self.signals.get(signal_id)
        if sig is None or sig.professional.professional_id != professional_id:
            raise NotFound("signal_not_found", "Onbekend signaal.")
        return sig

    async def GetSignal(self, request: Any, context: Any) -> Any:
        return spb.GetSignalResponse(signal=self._own(request.signal_id, request.professional_id))

    async def SetClientReference(self, request: Any, context: Any) -> Any:
        sig = self._own(request.signal_id, request.professional_id)
        sig.client_reference = clientref.normalise(request.client_reference)
        return spb.SetClientReferenceResponse(signal=sig)

    async def ListSignals(self, request: Any, context: Any) -> Any:
        mine = [
            s
            for s in self.signals.values()
            if s.professional.professional_id == request.professional_id
            and (not request.status or s.status == request.status)
            and (not request.signal_ids or s.signal_id in request.signal_ids)
        ]
        start = int(request.page_token or 0)
        size = request.page_size or 20
        page = mine[start : start + size]
        nxt = str(start + size) if start + size < len(mine) else ""
        return spb.ListSignalsResponse(signals=page, next_page_token=nxt)

    async def RenewSignal(self, request: Any, context: Any) -> Any:
        sig = self._own(request.signal_id, request.professional_id)
        if sig.status != spb.SIGNAL_STATUS_ACTIVE:
            raise FailedPrecondition("signal_not_active", "Dit signaal is niet actief.")
        sig.version += 1
        sig.multi_problem_attested = request.multi_problem_attested
        sig.consent_given = request.consent_given
        return spb.RenewSignalResponse(signal=sig)

    async def EndSignal(self, request: Any, context: Any) -> Any:
        sig = self._own(request.signal_id, request.professional_id)
        if request.reason == spb.END_REASON_UNJUSTIFIED:
            del self.signals[sig.signal_id]
            return spb.EndSignalResponse()
        sig.status = spb.SIGNAL_STATUS_ARCHIVED
        sig.end_reason = request.reason
        sig.ended_at.GetCurrentTime()
        return spb.EndSignalResponse(signal=sig)

    async def FlagSignalsForReview(self, request: Any, context: Any) -> Any:
        ids = [
            s.signal_id
            for s in self.signals.values()
            if s.professional.organisation_id == request.organisation_id
            and s.status == spb.SIGNAL_STATUS_ACTIVE
        ]
        self.reviews.update(dict.fromkeys(ids, request.reason))
        return spb.FlagSignalsForReviewResponse(flagged=len(ids))

    async def ListSignalsForReview(self, request: Any, context: Any) -> Any:
        found = [
            spb.SignalForReview(signal=self.signals[i], reason=r)
            for i, r in self.reviews.items()
            if i in self.signals and self.signals[i].professional.organisation_id == request.organisation_id
        ]
        return spb.ListSignalsForReviewResponse(signals=found)

    async def ReviewSignal(self, request: Any, context: Any) -> Any:
        sig = self.signals.get(request.signal_id)
        if (
            sig is None
            or request.signal_id not in self.reviews
            or sig.professional.organisation_id != request.organisation_id
        ):
            raise NotFound("signal_not_found", "Onbekend signaal.")
        del self.reviews[request.signal_id]
        if not request.confirm:
            sig.status = spb.SIGNAL_STATUS_ARCHIVED
            sig.end_reason = spb.END_REASON_OTHER
        return spb.ReviewSignalResponse(signal=sig)

    async def SetOrganisationMayCoordinate(self, request: Any, context: Any) -> Any:
        self.may_coordinate[request.organisation_id] = request.may_coordinate
        return spb.SetOrganisationMayCoordinateResponse()

    async def CompleteInforming(self, request: Any, context: Any) -> Any:
        """Only what the gateway needs: a postponed record becomes informed, once."""
        sig = self._own(request.signal_id, request.professional_id)
        if sig.status != spb.SIGNAL_STATUS_ACTIVE:
            raise FailedPrecondition("signal_not_active", "Dit signaal is niet actief.")
        if not sig.informed.postpone_reason:
            raise FailedPrecondition("informed_already", "Deze partij is al geïnformeerd.")
        done = spb.PartyInformed(method=request.method, informed_on=request.informed_on)
        sig.informed.postpone_reason = spb.POSTPONE_REASON_UNSPECIFIED
        sig.informed.method, sig.informed.informed_on = request.method, request.informed_on
        for field in ("person", "legal_representative"):
            if sig.informed.HasField(field) and getattr(sig.informed, field).postpone_reason:
                getattr(sig.informed, field).CopyFrom(done)
        sig.version += 1
        return spb.CompleteInformingResponse(signal=sig)

    async def ListSignalsOnPseudonym(self, request: Any, context: Any) -> Any:
        return spb.ListSignalsOnPseudonymResponse(
            signals=[s for s in self.signals.values() if s.pseudonym == request.pseudonym]
        )

    async def ListProcessingLog(self, request: Any, context: Any) -> Any:
        # What a real service would write as the foreign operation (carried by the call).
        self.foreign_seen.append(processing_log.current_foreign())
        return spb.ListProcessingLogResponse()

    async def ListAnomalies(self, request: Any, context: Any) -> Any:
        return spb.ListAnomaliesResponse(
            anomalies=[
                lpb.Anomaly(
                    kind="quick_end",
                    organisation_id=s.professional.organisation_id,
                    professional_id=s.professional.professional_id,
                    count=1,
                )
                for s in self.signals.values()
            ]
        )

    async def RemoveSignal(self, request: Any, context: Any) -> Any:
        if request.signal_id not in self.signals:
            raise NotFound("signal_not_found", "Onbekend signaal.")
        del self.signals[request.signal_id]
        self.removed.append(request.signal_id)
        objection_id = str(uuid.uuid4())
        self.blocks.add(objection_id)
        return spb.RemoveSignalResponse(objection_id=objection_id)

    async def TransferSignals(self, request: Any, context: Any) -> Any:
        moved = 0
        for s in self.signals.values():
            if (
                s.professional.professional_id == request.from_professional_id
                and s.status == spb.SIGNAL_STATUS_ACTIVE
            ):
                s.professional.CopyFrom(request.to)
                moved += 1
        return spb.TransferSignalsResponse(transferred=moved)

    def _end_all(self, matches: Any, reason: Any) -> int:
        ended = 0
        for s in self.signals.values():
            if matches(s) and s.status == spb.SIGNAL_STATUS_ACTIVE:
                s.status, s.end_reason = spb.SIGNAL_STATUS_ARCHIVED, reason
                ended += 1
        return ended

    async def RecordDeath(self, request: Any, context: Any) -> Any:
        ended = self._end_all(lambda s: s.pseudonym == request.pseudonym, spb.END_REASON_DECEASED)
        return spb.RecordDeathResponse(ended=ended)

    async def EndSignalsOfProfessional(self, request: Any, context: Any) -> Any:
        ended = self._end_all(
            lambda s: s.professional.professional_id == request.professional_id, spb.END_REASON_OTHER
        )
        return spb.EndSignalsOfProfessionalResponse(ended=ended)

    async def RestrictSignals(self, request: Any, context: Any) -> Any:
        changed = 0
        for signal_id in request.signal_ids:
            sig = self.signals.get(signal_id)
            if sig is not None and sig.restricted != request.restricted:
                sig.restricted = request.restricted
                sig.version += 1
                changed += 1
        return spb.RestrictSignalsResponse(changed=changed)

    async def GetSignalStatistics(self, request: Any, context: Any) -> Any:
        self.statistics_requests.append(request)
        if self.statistics is not None:
            return self.statistics
        per_month: dict[str, int] = {}
        for sig in self.signals.values():
            if not request.organisation_id or sig.professional.organisation_id == request.organisation_id:
                month = sig.registered_at.ToDatetime().strftime("%Y-%m")
                per_month[month] = per_month.get(month, 0) + 1
        counts = [spb.StatisticsCount(month=m, count=c) for m, c in sorted(per_month.items())]
        return spb.GetSignalStatisticsResponse(registered=counts)

    async def LiftObjectionBlock(self, request: Any, context: Any) -> Any:
        if request.objection_id not in self.blocks:
            raise NotFound("objection_not_found", "Deze blokkade bestaat niet (meer).")
        self.blocks.discard(request.objection_id)
        return spb.LiftObjectionBlockResponse()


class FakeMatch(match_pb2_grpc.MatchServiceServicer):
    def __init__(self, signals: FakeSignal) -> None:
        self.signals = signals
        self.involvement_requests: list[mpb.GetInvolvementRequest] = []
        self.matches: dict[str, mpb.Match] = {}
        self.rules = mpb.CoordinatorRules()
        self.versions: list[mpb.CoordinatorRules] = []
        self.previews: list[mpb.CoordinatorRules] = []
        self.recomputes = 0
        self.statistics = mpb.GetMatchStatisticsResponse()
        self.statistics_requests: list[mpb.GetMatchStatisticsRequest] = []
        self.profile_changes: list[tuple[str, bool]] = []

    def _active_on(self, pseudonym: str) -> list[spb.Signal]:
        return [
            s
            for s in self.signals.signals.values()
            if s.pseudonym == pseudonym and s.status == spb.SIGNAL_STATUS_ACTIVE
        ]

    async def GetInvolvement(self, request: Any, context: Any) -> Any:
        self.involvement_requests.append(request)
        active = self._active_on(request.pseudonym)
        if not any(s.professional.professional_id == request.professional_id for s in active):
            raise NotFound("not_found", "Onbekend.")
        others = [
            mpb.Member(professional=s.professional)
            for s in active
            if s.professional.professional_id != request.professional_id
        ]
        orgs = {s.professional.organisation_id for s in active}
        if len(orgs) < 2:
            return mpb.GetInvolvementResponse(others=others)
        match = self._match_for(request.pseudonym, active)
        return mpb.GetInvolvementResponse(others=others, match=match)

    def _match_for(self, pseudonym: str, active: list[spb.Signal]) -> mpb.Match:
        match_id = str(uuid.UUID(hashlib.md5(pseudonym.encode()).hexdigest()))  # noqa: S324 - test id
        match = self.matches.get(match_id)
        if match is None:
            match = mpb.Match(
                match_id=match_id,
                status=mpb.MATCH_STATUS_OPEN,
                members=[
                    mpb.Member(professional=s.professional, is_coordinator=i == 0)
                    for i, s in enumerate(active)
                ],
                coordinator_professional_id=active[0].professional.professional_id,
            )
            self.matches[match_id] = match
        return match

    def _own_signal_id(self, match_id: str, professional_id: str) -> str:
        """The member's active signal on the match's person (the fake's match id is the
        pseudonym's hash)."""
        for s in self.signals.signals.values():
            if (
                s.professional.professional_id == professional_id
                and s.status == spb.SIGNAL_STATUS_ACTIVE
                and str(uuid.UUID(hashlib.md5(s.pseudonym.encode()).hexdigest())) == match_id  # noqa: S324
            ):
                return s.signal_id
        return ""

    def _viewed(self, match: mpb.Match, professional_id: str) -> mpb.Match:
        seen = mpb.Match()
        seen.CopyFrom(match)
        seen.own_signal_id = self._own_signal_id(match.match_id, professional_id)
        return seen

    def _member_match(self, match_id: str, professional_id: str) -> mpb.Match:
        match = self.matches.get(match_id)
        if match is None or not any(m.professional.professional_id == professional_id for m in match.members):
            raise NotFound("match_not_found", "Onbekende match.")
        return match

    async def ListMatches(self, request: Any, context: Any) -> Any:
        mine = [
            self._viewed(m, request.professional_id)
            for m in self.matches.values()
            if any(x.professional.professional_id == request.professional_id for x in m.members)
        ]
        if request.signal_id:
            mine = [m for m in mine if m.own_signal_id == request.signal_id]
        return mpb.ListMatchesResponse(matches=mine)

    async def FilterVisibleMatches(self, request: Any, context: Any) -> Any:
        """A match this fake knows is visible to its members only; ids it never made (inbox
        items added directly by a test) count as visible."""
        visible = []
        for match_id in request.match_ids:
            if match_id not in self.matches:
                visible.append(match_id)
                continue
            try:
                self._member_match(match_id, request.professional_id)
            except NotFound:
                continue
            visible.append(match_id)
        return mpb.FilterVisibleMatchesResponse(
            match_ids=visible,
            visible=[
                mpb.VisibleMatch(match_id=m, own_signal_id=self._own_signal_id(m, request.professional_id))
                for m in visible
            ],
        )

    async def GetMatch(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        return mpb.GetMatchResponse(match=self._viewed(match, request.professional_id))

    def _set_coordinator(self, match: mpb.Match, pid: str) -> None:
        match.coordinator_professional_id = pid
        match.pending_coordinator_professional_id = ""
        for m in match.members:
            m.is_coordinator = m.professional.professional_id == pid

    async def TakeCoordinator(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        self._set_coordinator(match, request.professional_id)
        return mpb.TakeCoordinatorResponse(match=match)

    async def HandOverCoordinator(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        if match.coordinator_professional_id != request.professional_id:
            raise FailedPrecondition("not_coordinator", "U bent niet de matchregisseur.")
        match.pending_coordinator_professional_id = request.to_professional_id
        return mpb.HandOverCoordinatorResponse(match=match)

    async def AcceptCoordinator(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        if match.pending_coordinator_professional_id != request.professional_id:
            raise FailedPrecondition("no_handover", "Er is geen overdracht aan u.")
        self._set_coordinator(match, request.professional_id)
        return mpb.AcceptCoordinatorResponse(match=match)

    async def GetCoordinatorRules(self, request: Any, context: Any) -> Any:
        return mpb.GetCoordinatorRulesResponse(rules=self.rules)

    async def SetCoordinatorRules(self, request: Any, context: Any) -> Any:
        rules = mpb.CoordinatorRules()
        rules.CopyFrom(request.rules)
        rules.version = self.rules.version + 1
        rules.created_by = request.admin_id
        self.rules = rules
        self.versions.insert(0, rules)
        return mpb.SetCoordinatorRulesResponse(rules=rules)

    async def GetMatchStatistics(self, request: Any, context: Any) -> Any:
        self.statistics_requests.append(request)
        return self.statistics

    async def ListCoordinatorRuleVersions(self, request: Any, context: Any) -> Any:
        return mpb.ListCoordinatorRuleVersionsResponse(versions=self.versions)

    async def PreviewCoordinatorRules(self, request: Any, context: Any) -> Any:
        self.previews.append(request.rules)
        return mpb.PreviewCoordinatorRulesResponse(open_matches=3, changed=1)

    async def ListMatchesOnPseudonym(self, request: Any, context: Any) -> Any:
        active = self._active_on(request.pseudonym)
        if len({s.professional.organisation_id for s in active}) < 2:
            return mpb.ListMatchesOnPseudonymResponse()
        return mpb.ListMatchesOnPseudonymResponse(matches=[self._match_for(request.pseudonym, active)])

    async def ListAnomalies(self, request: Any, context: Any) -> Any:
        return mpb.ListAnomaliesResponse()

    async def ListProcessingLog(self, request: Any, context: Any) -> Any:
        return mpb.ListProcessingLogResponse(
            lines=[
                lpb.ProcessingLogLine(
                    name="match.involvement",
                    status_code="ok",
                    processing_activity_id="betrokkenheid-inzien",
                    attributes={"sluis.channel": r.purpose, "sluis.organisation_id": ""},
                    actor_id=r.professional_id,
                )
                for r in self.involvement_requests
                if r.pseudonym == request.pseudonym
            ]
        )

    # Coordination by agreement (issue 17) and profile changes (issue 22).
    async def RespondTakeover(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        if match.coordinator_professional_id != request.professional_id or not match.takeover_professional_id:
            raise FailedPrecondition("no_takeover", "Er is geen verzoek om uw rol over te nemen.")
        if request.accept:
            self._set_coordinator(match, match.takeover_professional_id)
        match.takeover_professional_id = ""
        return mpb.RespondTakeoverResponse(match=match)

    async def DeclineCoordinator(self, request: Any, context: Any) -> Any:
        match = self._member_match(request.match_id, request.professional_id)
        if match.pending_coordinator_professional_id != request.professional_id:
            raise FailedPrecondition("no_handover", "Er is geen overdracht aan u.")
        match.pending_coordinator_professional_id = ""
        return mpb.DeclineCoordinatorResponse(match=match)

    async def SetOrganisationMayCoordinate(self, request: Any, context: Any) -> Any:
        self.profile_changes.append((request.organisation_id, request.may_coordinate))
        return mpb.SetOrganisationMayCoordinateResponse()


class FakeNotify(notify_pb2_grpc.NotifyServiceServicer):
    def __init__(self) -> None:
        self.items: dict[str, list[npb.InboxItem]] = {}
        self.account_mails: list[npb.SendAccountMailRequest] = []
        self.digests: dict[str, npb.Digest.ValueType] = {}
        self.dead: dict[str, npb.DeadLetter] = {}
        self.retried: list[str] = []
        self.log_requests: list[list[bytes]] = []

    async def SendAccountMail(self, request: Any, context: Any) -> Any:
        self.account_mails.append(request)
        return npb.SendAccountMailResponse(queued=True)

    def link_to(self, email: str) -> str:
        """The newest link mailed to this address (what the person clicks)."""
        return [m.link for m in self.account_mails if m.recipient_email == email][-1]

    def add_dead_letter(self, organisation_id: str, professional_id: str = "") -> npb.DeadLetter:
        letter = npb.DeadLetter(
            delivery_id=str(uuid.uuid4()),
            channel="email" if professional_id else "webhook",
            target="wijkteam.example",
            attempts=8,
            last_error="550 mailbox unavailable",
            created_at=to_timestamp(datetime.now(UTC)),
            organisation_id=organisation_id,
            professional_id=professional_id,
        )
        self.dead[letter.delivery_id] = letter
        return letter

    async def ListDeadLetters(self, request: Any, context: Any) -> Any:
        letters = [d for d in self.dead.values() if request.organisation_id in ("", d.organisation_id)]
        return npb.ListDeadLettersResponse(dead_letters=letters)

    async def RetryDeadLetter(self, request: Any, context: Any) -> Any:
        if self.dead.pop(request.delivery_id, None) is None:
            raise NotFound("dead_letter_not_found", "Deze onbestelbare melding bestaat niet.")
        self.retried.append(request.delivery_id)
        return npb.RetryDeadLetterResponse()

    def add(self, professional_id: str, kind: str = "match_created") -> npb.InboxItem:
        item = npb.InboxItem(
            item_id=str(uuid.uuid4()),
            kind=kind,
            title="Nieuwe match",
            body="Er is een match.",
            match_id=str(uuid.uuid4()),
            created_at=to_timestamp(datetime.now(UTC)),
        )
        self.items.setdefault(professional_id, []).append(item)
        return item

    async def ListInbox(self, request: Any, context: Any) -> Any:
        items = [
            i
            for i in self.items.get(request.professional_id, [])
            if not (request.unread_only and i.HasField("read_at"))
        ]
        unread = sum(1 for i in self.items.get(request.professional_id, []) if not i.HasField("read_at"))
        return npb.ListInboxResponse(items=items, unread_count=unread)

    async def MarkInboxItemRead(self, request: Any, context: Any) -> Any:
        for item in self.items.get(request.professional_id, []):
            if item.item_id == request.item_id:
                item.read_at.GetCurrentTime()
                return npb.MarkInboxItemReadResponse(item=item)
        raise NotFound("item_not_found", "Onbekend bericht.")

    async def GetPreferences(self, request: Any, context: Any) -> Any:
        digest = self.digests.get(request.professional_id, npb.DIGEST_IMMEDIATE)
        return npb.GetPreferencesResponse(
            preferences=npb.Preferences(professional_id=request.professional_id, digest=digest)
        )

    async def SetPreferences(self, request: Any, context: Any) -> Any:
        self.digests[request.preferences.professional_id] = request.preferences.digest
        return npb.SetPreferencesResponse(preferences=request.preferences)

    async def ListProcessingLog(self, request: Any, context: Any) -> Any:
        self.log_requests.append(list(request.subject_tags))
        return npb.ListProcessingLogResponse()


class FakeBackends:
    """All four fakes in one real gRPC server."""

    def __init__(self) -> None:
        self.address = ""
        self.identity = FakeIdentity()  # type: ignore[abstract]
        self.signal = FakeSignal()  # type: ignore[abstract]
        self.match = FakeMatch(self.signal)  # type: ignore[abstract]
        self.notify = FakeNotify()  # type: ignore[abstract]

    async def create(self) -> GrpcService:
        settings = ServiceSettings(
            region="test", database_url="", grpc_listen="127.0.0.1:0", log_level="WARNING"
        )
        service = GrpcService("fakes", settings)
        service.add_servicer(
            identity_pb2_grpc.add_IdentityServiceServicer_to_server,
            self.identity,
            "sluis.identity.v1.IdentityService",
        )
        service.add_servicer(
            signal_pb2_grpc.add_SignalServiceServicer_to_server, self.signal, "sluis.signal.v1.SignalService"
        )
        service.add_servicer(
            match_pb2_grpc.add_MatchServiceServicer_to_server, self.match, "sluis.match.v1.MatchService"
        )
        service.add_servicer(
            notify_pb2_grpc.add_NotifyServiceServicer_to_server, self.notify, "sluis.notify.v1.NotifyService"
        )
        return service
