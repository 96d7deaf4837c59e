"""gRPC adapter of the signal service: requests to domain calls and back, nothing more.

Events (through the transactional outbox, see store.py):
- "match" gets every SignalEvent: REGISTERED, RENEWED, ENDED, DELETED.
- "notify" gets LAPSING_SOON and ENDED with end_reason EXPIRED.
"""

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import grpc
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.identity.v1 import identity_pb2_grpc as ipb_grpc
from sluis.match.v1 import match_pb2, match_pb2_grpc
from sluis.notify.v1 import notify_pb2, notify_pb2_grpc
from sluis.signal.v1 import signal_pb2 as pb
from sluis.signal.v1 import signal_pb2_grpc as pb_grpc

from services.common import aggregates, clientref, metrics, outbox, paging, processing_log, retention
from services.common.clients import aio_channel
from services.common.clock import Clock, SystemClock
from services.common.config import from_env, setting
from services.common.contacts import contact_from_proto
from services.common.db import open_pool
from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.common.grpcserver import GrpcService
from services.common.processing_register import retention_rules
from services.common.protos import from_timestamp, to_timestamp
from services.common.rekey import (
    PseudonymRekeyer,
    RekeySettings,
    rekeyer_from_settings,
    report_rekey_progress,
    resolve_incoming,
)
from services.signal import (
    convert,
    domain,
    endings,
    logbook,
    objections,
    recheck,
    reviews,
    statistics,
    transfers,
)
from services.signal.store import MATCH, NOTIFY, Change, Event, LifecycleCounts, SignalStore, signal_exists

log = logging.getLogger("sluis.signal")

MIGRATIONS = [outbox.MIGRATIONS, processing_log.MIGRATIONS, Path(__file__).parent / "migrations"]
MAX_BATCH = 10_000
# Signals per RestrictSignals call (one person's signals are far fewer).
MAX_RESTRICT = 500
# Pseudonyms per FilterActivePeople call (the vault back-fill asks in batches).
MAX_ACTIVE_FILTER = 1000
# Events per ApplySignalEvents call (match accepts up to 5,000).
MATCH_RELAY_BATCH = 2_000
MATCH_RELAY_TIMEOUT_SECONDS = 30.0
# Under a steady stream of registrations the relay waits this long after a small batch, so
# match gets a few larger calls instead of one call (and transaction) per signal: at 100
# signals/s that was about 1 ms of match and relay CPU per signal (issue 21). The first
# event after a quiet spell goes at once; a match may appear up to this much later.
RELAY_LINGER_SECONDS = 0.05
# The anomaly report looks back this far unless asked otherwise.
ANOMALY_WINDOW = timedelta(days=30)
_SYSTEM_CLOCK = SystemClock()


@dataclasses.dataclass(frozen=True, kw_only=True)
class SignalSettings(RekeySettings):
    match_addr: str = setting("SLUIS_MATCH_ADDR")
    notify_addr: str = setting("SLUIS_NOTIFY_ADDR")
    # How often the lifecycle job (reminders, expiry, purge) runs; 0 disables the schedule
    # (RunLifecycle still works), which tests use to drive the job themselves.
    lifecycle_interval_seconds: float = setting("SLUIS_LIFECYCLE_INTERVAL_SECONDS", 3600.0)
    lifecycle_batch_size: int = setting("SLUIS_LIFECYCLE_BATCH_SIZE", 5000)
    # Batches worked on side by side (each its own connection and short transaction).
    lifecycle_workers: int = setting("SLUIS_LIFECYCLE_WORKERS", 1)
    # Days an informing may stay postponed before the professional is reminded (per region).
    informing_reminder_days: int = setting("SLUIS_INFORMING_REMINDER_DAYS", 14)


def _signal_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        raise domain.signal_not_found() from None


def _signal_ids(raw: Sequence[str]) -> list[str]:
    """A filter of signal ids: malformed ones match nothing (they cannot be anybody's)."""
    if len(raw) > MAX_FILTER_IDS:
        raise InvalidArgument("too_many_ids", f"Maximaal {MAX_FILTER_IDS} signalen per vraag.")
    out = []
    for r in raw:
        try:
            out.append(str(uuid.UUID(r.strip())))
        except ValueError:
            continue
    return out


MAX_FILTER_IDS = 500


def _professional_id(raw: str) -> str:
    if not raw.strip():
        raise InvalidArgument("professional_id_missing", "De professional ontbreekt.")
    return raw.strip()


def _organisation_id(raw: str) -> str:
    if not raw.strip():
        raise InvalidArgument("organisation_id_missing", "De organisatie ontbreekt.")
    return raw.strip()


def _status_filter(value: int) -> domain.Status | None:
    code = convert.enum_code(pb.SignalStatus, value)
    if not code:
        return None
    try:
        return domain.Status(code)
    except ValueError:
        raise InvalidArgument("status_unknown", "De status heeft een onbekende waarde.") from None


def _event(
    signal: domain.Signal,
    kind: "pb.SignalEventKind.ValueType",
    now: datetime,
    *,
    end_reason: domain.EndReason | None = None,
    version: int | None = None,
    bulk: bool = False,
) -> bytes:
    event = convert.signal_event(signal, kind, now, end_reason=end_reason, version=version, bulk=bulk)
    return event.SerializeToString()


class SignalServicer(pb_grpc.SignalServiceServicer):
    def __init__(
        self,
        store: SignalStore,
        clock: Clock,
        lifecycle_batch_size: int = 5000,
        lifecycle_workers: int = 1,
        rekeyer: PseudonymRekeyer | None = None,
        informing_reminder_after: timedelta = domain.INFORMING_REMINDER_AFTER,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lifecycle_batch_size = lifecycle_batch_size
        self.lifecycle_workers = lifecycle_workers
        self.rekeyer = rekeyer
        self.informing_reminder_after = informing_reminder_after

    async def RegisterSignal(
        self, request: pb.RegisterSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterSignalResponse:
        now = self.clock.now()
        signal = domain.new_signal(convert.registration_from_proto(request), str(uuid.uuid4()), now)
        (person,) = await resolve_incoming(self.rekeyer, [signal.pseudonym])
        signal = dataclasses.replace(signal, pseudonym=person.current)
        await self.store.register(
            signal, [([MATCH], _event(signal, pb.SIGNAL_EVENT_KIND_REGISTERED, now))], person.previous
        )
        log.info("signal registered", extra={"signal_id": signal.signal_id})
        return pb.RegisterSignalResponse(signal=convert.signal_to_proto(signal))

    async def RegisterSignals(
        self, request: pb.RegisterSignalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RegisterSignalsResponse:
        if len(request.signals) > MAX_BATCH:
            raise InvalidArgument("batch_too_large", f"Maximaal {MAX_BATCH} signalen per verzoek.")
        now = self.clock.now()
        parsed: list[domain.Signal | DomainError] = []
        for item in request.signals:
            try:
                parsed.append(
                    domain.new_signal(convert.registration_from_proto(item), str(uuid.uuid4()), now)
                )
            except DomainError as exc:
                parsed.append(exc)
        # Every person under the current key (one call to identity during a key rotation).
        candidates = [s for s in parsed if isinstance(s, domain.Signal)]
        people = await resolve_incoming(self.rekeyer, [s.pseudonym for s in candidates])
        previous = {p.previous: p.current for p in people if p.previous is not None}
        converted = iter(
            [dataclasses.replace(s, pseudonym=p.current) for s, p in zip(candidates, people, strict=True)]
        )
        results: list[pb.RegisterSignalResult] = []
        valid: list[domain.Signal] = []
        for entry in parsed:
            if isinstance(entry, DomainError):
                results.append(pb.RegisterSignalResult(reason=entry.reason, detail=entry.detail))
                continue
            signal = next(converted)
            valid.append(signal)
            results.append(pb.RegisterSignalResult(signal=convert.signal_to_proto(signal)))

        def events(s: domain.Signal) -> list[Event]:
            return [([MATCH], _event(s, pb.SIGNAL_EVENT_KIND_REGISTERED, now, bulk=request.bulk))]

        blocked = iter(await self.store.register_many(valid, events, previous))
        stored = 0
        for result in results:
            if not result.HasField("signal"):
                continue
            existing = next(blocked)
            if existing is None:
                stored += 1
                continue
            refusal = (
                objections.blocked(existing.removeprefix(objections.BLOCKED_PREFIX))
                if existing.startswith(objections.BLOCKED_PREFIX)
                else signal_exists(existing)
            )
            result.Clear()
            result.reason, result.detail = refusal.reason, refusal.detail
        log.info("signals registered in bulk", extra={"received": len(request.signals), "stored": stored})
        return pb.RegisterSignalsResponse(results=results)

    async def GetSignal(
        self, request: pb.GetSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSignalResponse:
        professional_id = _professional_id(request.professional_id)
        signal = domain.owned(await self.store.get(_signal_id(request.signal_id)), professional_id)
        return pb.GetSignalResponse(signal=convert.signal_to_proto(signal))

    async def ListSignals(
        self, request: pb.ListSignalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSignalsResponse:
        professional_id = _professional_id(request.professional_id)
        size = paging.page_size(request.page_size)
        status = _status_filter(request.status)
        after = paging.parse_keyset_token(request.page_token)
        only = _signal_ids(request.signal_ids) if request.signal_ids else None
        signals = await self.store.list_for_professional(professional_id, status, after, size + 1, only)
        page = signals[:size]
        token = paging.keyset_token(page[-1].registered_at, page[-1].signal_id) if len(signals) > size else ""
        return pb.ListSignalsResponse(
            signals=[convert.signal_to_proto(s) for s in page], next_page_token=token
        )

    async def SetClientReference(
        self, request: pb.SetClientReferenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetClientReferenceResponse:
        professional_id = _professional_id(request.professional_id)
        signal_id = _signal_id(request.signal_id)
        reference = clientref.normalise(request.client_reference)
        signal = await self.store.set_client_reference(signal_id, professional_id, reference)
        if signal is None:
            raise domain.signal_not_found()
        log.info("client reference set", extra={"signal_id": signal_id})
        return pb.SetClientReferenceResponse(signal=convert.signal_to_proto(signal))

    async def RenewSignal(
        self, request: pb.RenewSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.RenewSignalResponse:
        professional_id = _professional_id(request.professional_id)
        signal_id = _signal_id(request.signal_id)
        now = self.clock.now()
        attested, consent = request.multi_problem_attested, request.consent_given
        consent_by = convert.enum_code(pb.ConsentBy, request.consent_by)

        def decide(signal: domain.Signal | None) -> Change:
            mine = domain.owned(signal, professional_id)
            renewed = domain.renewed(
                mine, now, multi_problem_attested=attested, consent_given=consent, consent_by=consent_by
            )
            return Change(renewed, [([MATCH], _event(renewed, pb.SIGNAL_EVENT_KIND_RENEWED, now))])

        outcome = await self.store.change(signal_id, decide)
        assert outcome.signal is not None
        log.info("signal renewed", extra={"signal_id": signal_id})
        return pb.RenewSignalResponse(signal=convert.signal_to_proto(outcome.signal))

    async def EndSignal(
        self, request: pb.EndSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.EndSignalResponse:
        professional_id = _professional_id(request.professional_id)
        signal_id = _signal_id(request.signal_id)
        reason = domain.professional_end_reason(convert.enum_code(pb.EndReason, request.reason))
        now = self.clock.now()

        def decide(signal: domain.Signal | None) -> Change:
            return _end(domain.owned(signal, professional_id), reason, now)

        outcome = await self.store.change(signal_id, decide, reason.value)
        log.info("signal ended", extra={"signal_id": signal_id, "reason": reason.value})
        if outcome.signal is None:
            return pb.EndSignalResponse()
        return pb.EndSignalResponse(signal=convert.signal_to_proto(outcome.signal))

    async def ListSignalsOnPseudonym(
        self, request: pb.ListSignalsOnPseudonymRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSignalsOnPseudonymResponse:
        (person,) = await resolve_incoming(self.rekeyer, [domain.validate_pseudonym(request.pseudonym)])
        signals = await self.store.list_on_pseudonym(person.current, person.previous)
        await self.store.log_lines([logbook.region_lookup(person.current, request.admin_id)])
        return pb.ListSignalsOnPseudonymResponse(signals=[convert.signal_to_proto(s) for s in signals])

    async def RemoveSignal(
        self, request: pb.RemoveSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveSignalResponse:
        signal_id = _signal_id(request.signal_id)
        reason = domain.removal_reason(convert.enum_code(pb.EndReason, request.reason))
        now = self.clock.now()

        objection_id = str(uuid.uuid4())
        organisation: list[str] = []

        def decide(signal: domain.Signal | None) -> Change:
            if signal is None:
                raise domain.signal_not_found()
            organisation[:] = [signal.organisation.organisation_id]
            removed = _delete(signal, reason, now)
            block = (objection_id, signal.organisation.organisation_id, signal.pseudonym, now)
            return dataclasses.replace(
                removed, block=block, events=[*removed.events, *_told_why(signal, now)]
            )

        await self.store.change(signal_id, decide, reason.value)
        log.info("signal removed after objection", extra={"objection_id": objection_id})
        return pb.RemoveSignalResponse(objection_id=objection_id, organisation_id=organisation[0])

    async def RestrictSignals(
        self, request: pb.RestrictSignalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RestrictSignalsResponse:
        if len(request.signal_ids) > MAX_RESTRICT:
            raise InvalidArgument("too_many_signals", f"Maximaal {MAX_RESTRICT} signalen per verzoek.")
        ids = [_signal_id(i) for i in request.signal_ids]
        now = self.clock.now()
        changed: list[str] = []

        def decide(signal: domain.Signal | None) -> Change:
            if signal is None:
                raise domain.signal_not_found()
            after = domain.with_restriction(signal, request.restricted)
            if after is None:
                return Change(signal, [])
            changed.append(after.signal_id)
            # Match hears of it only while the signal counts there (active).
            events: list[Event] = []
            if after.status is domain.Status.ACTIVE:
                events.append(([MATCH], _event(after, pb.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED, now)))
            return Change(after, events)

        for signal_id in ids:
            with contextlib.suppress(NotFound):  # erased or purged meanwhile: nothing to restrict
                await self.store.change(signal_id, decide)
        log.info(
            "signal restriction changed", extra={"restricted": request.restricted, "changed": len(changed)}
        )
        return pb.RestrictSignalsResponse(changed=len(changed))

    async def LiftObjectionBlock(
        self, request: pb.LiftObjectionBlockRequest, context: grpc.aio.ServicerContext
    ) -> pb.LiftObjectionBlockResponse:
        try:
            objection_id = str(uuid.UUID(request.objection_id.strip()))
        except ValueError:
            raise objections.block_not_found() from None
        if not await self.store.lift_objection_block(objection_id):
            raise objections.block_not_found()
        log.info("objection block lifted", extra={"objection_id": objection_id})
        return pb.LiftObjectionBlockResponse()

    async def RunLifecycle(
        self, request: pb.RunLifecycleRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunLifecycleResponse:
        counts = await self.run_lifecycle()
        return pb.RunLifecycleResponse(**dataclasses.asdict(counts))

    async def run_lifecycle(self) -> LifecycleCounts:
        counts = await self.store.run_lifecycle(
            self.clock.now(), self.lifecycle_batch_size, self.lifecycle_workers, self.informing_reminder_after
        )
        log.info("lifecycle run", extra=dataclasses.asdict(counts))
        return counts

    async def RecordDeath(
        self, request: pb.RecordDeathRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordDeathResponse:
        (person,) = await resolve_incoming(self.rekeyer, [domain.validate_pseudonym(request.pseudonym)])
        if person.previous is not None and person.previous != person.current:
            await self.store.replace({person.previous: person.current})
        ended = await endings.end_active(
            self.store.pool, "pseudonym", person.current, domain.EndReason.DECEASED, self.clock.now()
        )
        log.info("death recorded", extra={"ended": ended})
        return pb.RecordDeathResponse(ended=ended)

    async def EndSignalsOfProfessional(
        self, request: pb.EndSignalsOfProfessionalRequest, context: grpc.aio.ServicerContext
    ) -> pb.EndSignalsOfProfessionalResponse:
        professional_id = _professional_id(request.professional_id)
        ended = await endings.end_active(
            self.store.pool, "professional_id", professional_id, domain.EndReason.OTHER, self.clock.now()
        )
        log.info("signals of a professional ended", extra={"ended": ended})
        return pb.EndSignalsOfProfessionalResponse(ended=ended)

    async def TransferSignals(
        self, request: pb.TransferSignalsRequest, context: grpc.aio.ServicerContext
    ) -> pb.TransferSignalsResponse:
        from_id = _professional_id(request.from_professional_id)
        organisation = transfers.organisation_of(request.to.organisation_id)
        to = domain.validate_contact(contact_from_proto(request.to), organisation)
        if not organisation.organisation_id:
            raise InvalidArgument("organisation_missing", "De organisatie ontbreekt.")
        moved, ended = await transfers.transfer(self.store.pool, from_id, to, self.clock.now())
        log.info("signals transferred", extra={"transferred": moved, "ended": ended})
        return pb.TransferSignalsResponse(transferred=moved, ended=ended)

    # --- review after a change of legal basis (issue 22; reviews.py) ---------------------

    async def FlagSignalsForReview(
        self, request: pb.FlagSignalsForReviewRequest, context: grpc.aio.ServicerContext
    ) -> pb.FlagSignalsForReviewResponse:
        organisation_id = _organisation_id(request.organisation_id)
        flagged = await reviews.flag(
            self.store.pool, organisation_id, request.reason.strip()[:200], self.clock.now()
        )
        log.info("signals flagged for review", extra={"flagged": flagged})
        return pb.FlagSignalsForReviewResponse(flagged=flagged)

    async def ListSignalsForReview(
        self, request: pb.ListSignalsForReviewRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSignalsForReviewResponse:
        organisation_id = _organisation_id(request.organisation_id)
        out = []
        for flag in await reviews.flagged(self.store.pool, organisation_id):
            signal = await self.store.get(flag.signal_id)
            if signal is None:
                continue
            out.append(
                pb.SignalForReview(
                    signal=convert.signal_to_proto(signal),
                    flagged_at=to_timestamp(flag.flagged_at),
                    reason=flag.reason,
                )
            )
        return pb.ListSignalsForReviewResponse(signals=out)

    async def SetOrganisationMayCoordinate(
        self, request: pb.SetOrganisationMayCoordinateRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetOrganisationMayCoordinateResponse:
        organisation_id = _organisation_id(request.organisation_id)
        updated = await reviews.set_may_coordinate(self.store.pool, organisation_id, request.may_coordinate)
        return pb.SetOrganisationMayCoordinateResponse(updated=updated)

    async def ReviewSignal(
        self, request: pb.ReviewSignalRequest, context: grpc.aio.ServicerContext
    ) -> pb.ReviewSignalResponse:
        """Confirm (the flag goes) or end (as its professional would) one flagged signal."""
        organisation_id = _organisation_id(request.organisation_id)
        signal_id = _signal_id(request.signal_id)
        if not await reviews.is_flagged(self.store.pool, organisation_id, signal_id):
            raise domain.signal_not_found()
        now = self.clock.now()
        if request.confirm:
            signal = await self.store.get(signal_id)
            await reviews.clear(self.store.pool, signal_id)
            log.info("signal confirmed after review", extra={"signal_id": signal_id})
            return pb.ReviewSignalResponse(signal=convert.signal_to_proto(signal) if signal else None)

        def decide(signal: domain.Signal | None) -> Change:
            if signal is None or signal.status is not domain.Status.ACTIVE:
                raise domain.signal_not_found()
            return _end(signal, domain.EndReason.OTHER, now)

        outcome = await self.store.change(signal_id, decide)
        await reviews.clear(self.store.pool, signal_id)
        log.info("signal ended after review", extra={"signal_id": signal_id})
        if outcome.signal is None:
            return pb.ReviewSignalResponse()
        return pb.ReviewSignalResponse(signal=convert.signal_to_proto(outcome.signal))

    async def CompleteInforming(
        self, request: pb.CompleteInformingRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompleteInformingResponse:
        professional_id = _professional_id(request.professional_id)
        signal_id = _signal_id(request.signal_id)
        party = convert.enum_code(pb.InformedParty, request.party)
        record = domain.PartyInput(
            method=convert.enum_code(pb.InformedMethod, request.method), informed_on=request.informed_on
        )
        now = self.clock.now()

        def decide(signal: domain.Signal | None) -> Change:
            mine = domain.owned(signal, professional_id)
            return Change(domain.informing_completed(mine, party, record, now), [], informing_changed=True)

        outcome = await self.store.change(signal_id, decide)
        assert outcome.signal is not None
        log.info("informing completed", extra={"signal_id": signal_id, "party": party})
        return pb.CompleteInformingResponse(signal=convert.signal_to_proto(outcome.signal))

    async def ListProcessingLog(
        self, request: pb.ListProcessingLogRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProcessingLogResponse:
        (person,) = await resolve_incoming(self.rekeyer, [domain.validate_pseudonym(request.pseudonym)])
        if person.previous is not None and person.previous != person.current:
            await self.store.replace({person.previous: person.current})
        return pb.ListProcessingLogResponse(
            lines=await self.store.processing_log(person.current),
            subject_tags=await self.store.subject_tags(person.current),
        )

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAnomaliesResponse:
        now = self.clock.now()
        since = from_timestamp(request.since) or now - ANOMALY_WINDOW
        found = await self.store.anomalies(since, now - self.informing_reminder_after)
        return pb.ListAnomaliesResponse(anomalies=found)

    # BRP re-check (issue 18): set by create_service when identity is configured.
    identity: "ipb_grpc.IdentityServiceAsyncStub | None" = None
    recheck_settings = recheck.RecheckSettings()

    async def GetSignalStatistics(
        self, request: pb.GetSignalStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSignalStatisticsResponse:
        """Counts only; nothing about a person is read out or logged."""
        period = aggregates.period(request.from_month, request.to_month, "from_month", "to_month")
        return await statistics.signal_statistics(
            self.store.pool, request.organisation_id[:64], period, self.clock.now()
        )

    async def RecheckPeople(
        self, request: pb.RecheckPeopleRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecheckPeopleResponse:
        counts = await self.run_recheck()
        return pb.RecheckPeopleResponse(**dataclasses.asdict(counts))

    async def FilterActivePeople(
        self, request: pb.FilterActivePeopleRequest, context: grpc.aio.ServicerContext
    ) -> pb.FilterActivePeopleResponse:
        if len(request.pseudonyms) > MAX_ACTIVE_FILTER:
            raise InvalidArgument(
                "too_many_pseudonyms", f"Maximaal {MAX_ACTIVE_FILTER} pseudoniemen per keer."
            )
        return pb.FilterActivePeopleResponse(pseudonyms=await self.store.active_among(request.pseudonyms))

    async def run_recheck(self) -> recheck.RecheckCounts:
        identity = self.identity
        if identity is None:
            raise FailedPrecondition("no_identity", "De BRP-controle heeft de identiteitsdienst nodig.")

        async def facts_of(pseudonyms: list[str]) -> list[ipb.PersonFacts]:
            reply = await identity.GetPersonFacts(
                ipb.GetPersonFactsRequest(pseudonyms=pseudonyms), timeout=60
            )
            return list(reply.facts)

        async def forget(pseudonyms: list[str]) -> None:
            await identity.ForgetPeople(ipb.ForgetPeopleRequest(pseudonyms=pseudonyms), timeout=30)

        async def end_deceased(pseudonym: str) -> int:
            # The same ending as a region admin's death record (RecordDeath): archived.
            return await endings.end_active(
                self.store.pool, "pseudonym", pseudonym, domain.EndReason.DECEASED, self.clock.now()
            )

        return await recheck.run(
            self.store, facts_of, end_deceased, self.recheck_settings, self.clock.now, forget
        )


async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
    """A daily job inside the service: a failed run is logged, the next one starts over."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("scheduled job failed")


def _end(signal: domain.Signal, reason: domain.EndReason, now: datetime) -> Change:
    """A professional ends their signal: archived, or deleted at once when unjustified."""
    archived = domain.end(signal, reason, now)
    if archived is None:
        return _delete(signal, reason, now)
    return Change(archived, [([MATCH], _event(archived, pb.SIGNAL_EVENT_KIND_ENDED, now))])


def _delete(signal: domain.Signal, reason: domain.EndReason, now: datetime) -> Change:
    """Gone at once, without archive; match still learns that the signal is gone."""
    event = _event(signal, pb.SIGNAL_EVENT_KIND_DELETED, now, end_reason=reason, version=signal.version + 1)
    return Change(None, [([MATCH], event)])


def _told_why(signal: domain.Signal, now: datetime) -> list[Event]:
    """Notify tells the professional that (not which) signal went after an upheld objection.

    The notice carries no signal id and no person: the signal is erased everywhere.
    """
    event = convert.signal_event(
        signal, pb.SIGNAL_EVENT_KIND_DELETED, now, end_reason=domain.EndReason.OBJECTION_UPHELD
    )
    event.signal_id = ""
    event.pseudonym = ""
    return [([NOTIFY], event.SerializeToString())]


async def create_service(settings: SignalSettings, *, clock: Clock = _SYSTEM_CLOCK) -> GrpcService:
    """The signal service: servicer, outbox relay to match and notify, scheduled lifecycle job."""
    service = GrpcService("signal", settings)
    pool = await open_pool(
        settings.database_url,
        name="signal",
        max_size=settings.db_pool_max,
        timeout=settings.db_pool_timeout_seconds,
    )
    service.add_closer(pool.close)
    store = SignalStore(pool)
    rekeyer = rekeyer_from_settings(settings, store)
    if rekeyer is not None:
        service.add_closer(rekeyer.close)
        service.add_background(rekeyer.run_when_identity_ready)
        service.add_background(
            lambda: report_rekey_progress(
                rekeyer, "signal", settings.rekey_report_seconds, store.outbox_pending
            )
        )
    servicer = SignalServicer(
        store,
        clock,
        settings.lifecycle_batch_size,
        settings.lifecycle_workers,
        rekeyer,
        timedelta(days=settings.informing_reminder_days),
    )
    service.add_servicer(
        pb_grpc.add_SignalServiceServicer_to_server, servicer, "sluis.signal.v1.SignalService"
    )

    match_channel = aio_channel(settings.match_addr)
    notify_channel = aio_channel(settings.notify_addr)
    service.add_closer(match_channel.close)
    service.add_closer(notify_channel.close)
    match_stub = match_pb2_grpc.MatchServiceStub(match_channel)
    notify_stub = notify_pb2_grpc.NotifyServiceStub(notify_channel)

    async def send_to_match(payloads: list[bytes]) -> None:
        events = outbox.stamp([pb.SignalEvent.FromString(p) for p in payloads])
        # A batch of up to MATCH_RELAY_BATCH events: a background call may take longer than a
        # request (match commits group by group, so a redelivery after a timeout skips those).
        await match_stub.ApplySignalEvents(
            match_pb2.ApplySignalEventsRequest(events=events),
            timeout=max(settings.rpc_timeout_seconds, MATCH_RELAY_TIMEOUT_SECONDS),
        )

    async def send_to_notify(payloads: list[bytes]) -> None:
        events = outbox.stamp([pb.SignalEvent.FromString(p) for p in payloads])
        await notify_stub.ApplySignalEvents(
            notify_pb2.ApplySignalEventsRequest(events=events), timeout=settings.rpc_timeout_seconds
        )

    if settings.identity_addr:
        identity_channel = aio_channel(settings.identity_addr)
        service.add_closer(identity_channel.close)
        servicer.identity = ipb_grpc.IdentityServiceStub(identity_channel)
        servicer.recheck_settings = from_env(recheck.RecheckSettings)
        if servicer.recheck_settings.interval_seconds > 0:
            service.add_background(
                lambda: _every(servicer.recheck_settings.interval_seconds, servicer.run_recheck)
            )

    # Match applies a batch in group transactions (500 people each): bigger batches, fewer
    # round trips (issue 21); notify takes at most 1,000 events per call.
    relay = outbox.OutboxRelay(
        pool,
        {MATCH: send_to_match, NOTIFY: send_to_notify},
        batch_sizes={MATCH: MATCH_RELAY_BATCH},
        linger=RELAY_LINGER_SECONDS,
    )
    service.add_background(relay.run)
    if settings.retention_interval_seconds > 0:
        # Signals themselves go through the lifecycle; this purges the processing log.
        service.add_background(
            lambda: retention.run_every(
                pool, "signal", retention_rules(), clock, settings.retention_interval_seconds
            )
        )

    if settings.lifecycle_interval_seconds > 0:

        async def lifecycle_schedule() -> None:
            while True:
                try:
                    counts = await servicer.run_lifecycle()
                    metrics.record_purge_run("ok", counts.purged)
                except Exception:
                    # The next run picks up where this one stopped (every batch committed).
                    log.exception("lifecycle run failed")
                    metrics.record_purge_run("failed")
                await asyncio.sleep(settings.lifecycle_interval_seconds)

        service.add_background(lifecycle_schedule)
    return service
