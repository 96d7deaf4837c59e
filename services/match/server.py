"""gRPC adapter of the match service: requests to domain and store calls and back.

Every read of involvement data (granted or refused) writes its processing-log line here,
where the decision is made (services/match/logbook.py). Refusals are the same NOT_FOUND as for an unknown person or
match, so a caller learns nothing about whether somebody is known.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc
from sluis.federation.v1 import federation_pb2_grpc
from sluis.identity.v1 import identity_pb2, identity_pb2_grpc
from sluis.match.v1 import match_pb2 as pb
from sluis.match.v1 import match_pb2_grpc as pb_grpc
from sluis.notify.v1 import notify_pb2, notify_pb2_grpc
from sluis.signal.v1 import signal_pb2

from services.common import aggregates, outbox, paging, processing_log, retention, telemetry
from services.common.clients import aio_channel
from services.common.clock import Clock, SystemClock
from services.common.config import ConfigError, setting
from services.common.db import open_pool
from services.common.errors import InvalidArgument, from_rpc_error
from services.common.grpcserver import ErrorInterceptor, GrpcService, server_options
from services.common.processing_log import Line
from services.common.protos import from_timestamp, to_timestamp
from services.common.rekey import (
    PseudonymRekeyer,
    RekeySettings,
    rekeyer_from_settings,
    report_rekey_progress,
    resolve_incoming,
)
from services.match import (
    convert,
    coordination,
    domain,
    federation,
    federation_link,
    federation_store,
    logbook,
    rule_preview,
    statistics,
)
from services.match.notices import NOTIFY
from services.match.retention import RULES as RETENTION_RULES
from services.match.store import IncomingEvent, MatchStore

log = logging.getLogger(__name__)

MIGRATIONS = [outbox.MIGRATIONS, processing_log.MIGRATIONS, Path(__file__).parent / "migrations"]
MAX_EVENTS = 5_000
# Matches per FilterVisibleMatches call (one page of an inbox is far fewer).
MAX_VISIBLE_CHECK = 500
# How long event ids are remembered for idempotency (signal versions guard beyond that).
PROCESSED_EVENTS_KEPT = timedelta(days=30)
# How often the federation inbox is looked at when it was empty.
INBOX_POLL_SECONDS = 0.2
# Deadline of one relay batch to notify (see `deliver` in create_service).
NOTIFY_RELAY_TIMEOUT_SECONDS = 30.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class MatchSettings(RekeySettings):
    notify_addr: str = setting("SLUIS_NOTIFY_ADDR")
    # Creation/joining notices wait this long to absorb a burst into one event (0: no wait).
    notice_delay_seconds: float = setting("SLUIS_MATCH_NOTICE_DELAY_SECONDS", 2.0)
    # Family matches (issue 18): per region on (default) or off. Off: no new family matches
    # (open ones still follow their signals and close).
    family_matches: bool = setting("SLUIS_MATCH_FAMILY_MATCHES", True)
    # How often open family matches are re-decided (children turning 18); 0 = only by the
    # RefreshFamilies RPC (e.g. a CronJob).
    family_refresh_seconds: float = setting("SLUIS_MATCH_FAMILY_REFRESH_SECONDS", 3600.0)
    # Coordination by agreement (per region: each region runs its own services).
    takeover_acceptance: bool = setting("SLUIS_MATCH_TAKEOVER_ACCEPTANCE", True)
    takeover_timeout_days: int = setting("SLUIS_MATCH_TAKEOVER_TIMEOUT_WORKING_DAYS", 5)
    succession_offer: bool = setting("SLUIS_MATCH_SUCCESSION_OFFER", True)
    offer_timeout_days: int = setting("SLUIS_MATCH_OFFER_TIMEOUT_WORKING_DAYS", 5)
    handover_suggestion: bool = setting("SLUIS_MATCH_HANDOVER_SUGGESTION", True)
    # How often due take-over requests and offers are looked for.
    coordination_sweep_seconds: float = setting("SLUIS_MATCH_COORDINATION_SWEEP_SECONDS", 300.0)
    # Cross-region matches (issue 19, docs/adr/0005-federation.md): the peer-facing mTLS port
    # (empty: off), its certificates, the peers' endpoints, pinned certificates and the
    # organisations whose professionals' contact details may cross to each.
    federation_listen: str = setting("SLUIS_FEDERATION_LISTEN", "")
    federation_tls_dir: str = setting("SLUIS_FEDERATION_TLS_DIR", "")
    federation_peers: tuple[str, ...] = setting("SLUIS_FEDERATION_PEERS", ())
    federation_pins: tuple[str, ...] = setting("SLUIS_FEDERATION_PINS", ())
    federation_share: tuple[str, ...] = setting("SLUIS_FEDERATION_SHARE", ())

    def peering(self) -> federation.Peering:
        return federation.parse_peering(
            self.region, self.federation_peers, self.federation_pins, self.federation_share
        )

    def policy(self) -> domain.CoordinationPolicy:
        return domain.CoordinationPolicy(
            takeover_acceptance=self.takeover_acceptance,
            takeover_timeout_days=self.takeover_timeout_days,
            succession_offer=self.succession_offer,
            offer_timeout_days=self.offer_timeout_days,
            handover_suggestion=self.handover_suggestion,
        )


def permanent_refusal(error: grpc.aio.AioRpcError) -> str | None:
    """The reason when notify refused events for good (retrying cannot help), else None."""
    refused = from_rpc_error(error)
    if error.code() == grpc.StatusCode.INVALID_ARGUMENT or refused.reason == "too_many_members":
        return refused.reason
    return None


class MatchServicer(pb_grpc.MatchServiceServicer):
    def __init__(self, store: MatchStore, clock: Clock, rekeyer: PseudonymRekeyer | None = None) -> None:
        self.store = store
        self.clock = clock
        self.rekeyer = rekeyer

    async def _person(self, pseudonym: str) -> str:
        """The pseudonym of a read, converted to the current key with the person's rows."""
        (person,) = await resolve_incoming(self.rekeyer, [pseudonym])
        await self.store.convert_person(person.current, person.previous)
        return person.current

    async def _disclose(
        self,
        name: str,
        professional_id: str,
        organisation_id: str | None,
        pseudonym: str,
        match_id: str,
        channel: str,
        granted: bool,
        match: domain.Match | None = None,
    ) -> None:
        """The processing-log line of a read, granted or refused (with the asking organisation);
        a read of a family match: a line for every family member."""
        if organisation_id is None:
            organisation_id = await self.store.organisation_of(professional_id)
        line = logbook.disclosure(
            name, pseudonym, professional_id, organisation_id, channel, match_id, granted
        )
        await self.store.log_lines([line], [match] if match is not None else [])

    async def ApplySignalEvents(
        self, request: pb.ApplySignalEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApplySignalEventsResponse:
        if len(request.events) > MAX_EVENTS:
            raise InvalidArgument("batch_too_large", f"Maximaal {MAX_EVENTS} gebeurtenissen per verzoek.")
        events = []
        for ev in request.events:
            if not ev.event_id:
                raise InvalidArgument("event_id_missing", "Een gebeurtenis heeft geen id.")
            update = convert.update_from_event(ev, self.clock)
            if update is not None and not (
                update.signal_id and update.pseudonym and update.contact.professional_id
            ):
                raise InvalidArgument(
                    "event_incomplete", "Een gebeurtenis mist signaal, persoon of professional."
                )
            events.append(IncomingEvent(ev.event_id, update, ev.bulk))
        # Events in flight during a key rotation may carry either key's pseudonym: both are
        # mapped to the current one, and the person's rows converted in the same transaction.
        incoming = [e.update.pseudonym for e in events if e.update is not None]
        people = dict(zip(incoming, await resolve_incoming(self.rekeyer, incoming), strict=True))
        previous: dict[str, str] = {}
        for i, e in enumerate(events):
            if e.update is not None:
                person = people[e.update.pseudonym]
                if person.previous is not None:
                    previous[person.current] = person.previous
                if person.current != e.update.pseudonym:
                    events[i] = dataclasses.replace(
                        e, update=dataclasses.replace(e.update, pseudonym=person.current)
                    )
        # Run by run of events from one origin, each continuing its registration's trace, so the
        # match events (and mails) they cause belong to that trace too.
        applied = duplicates = 0
        origins = [(ev.traceparent, ev.tracestate) for ev in request.events]
        for start, end in telemetry.runs_by_origin(origins):
            with telemetry.continue_trace(
                "match apply signal events", origins[start], {"sluis.events": end - start}
            ):
                result = await self.store.apply_events(events[start:end], previous)
            applied += result.applied
            duplicates += result.duplicates
        moves = [
            (ev.pseudonym, ev.municipality_code)
            for ev in request.events
            if ev.kind == signal_pb2.SIGNAL_EVENT_KIND_MOVED_OUT and ev.pseudonym
        ]
        if moves and self.store.federation is not None:
            # A peer region that has the person too hears of the move (issue 18/19).
            current = await resolve_incoming(self.rekeyer, [p for p, _ in moves])
            await self.store.moved_out(
                [(c.current, code) for c, (_, code) in zip(current, moves, strict=True)]
            )
        return pb.ApplySignalEventsResponse(applied=applied, duplicates=duplicates)

    async def GetInvolvement(
        self, request: pb.GetInvolvementRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInvolvementResponse:
        pseudonym = await self._person(request.pseudonym)
        involvements, match = await self.store.person(pseudonym)
        pid = request.professional_id
        match_id = match.match_id if match is not None else ""
        mine = domain.own_active_involvement(involvements, pid)
        name = "match.involvement"
        if mine is None:
            await self._disclose(name, pid, None, pseudonym, match_id, request.purpose, granted=False)
            raise domain.not_found()
        await self._disclose(
            name, pid, mine.organisation_id, pseudonym, match_id, request.purpose, granted=True
        )
        coordinator = match.coordinator_id if match is not None else ""
        others = domain.others_involved(involvements, match, pid)
        response = pb.GetInvolvementResponse(others=[convert.member_to_pb(m, coordinator) for m in others])
        if match is not None:
            response.match.CopyFrom(convert.match_to_pb(match, pid))
        return response

    async def GetMatch(
        self, request: pb.GetMatchRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMatchResponse:
        match, involvements = await self.store.match_by_id(request.match_id)
        pid = request.professional_id
        pseudonym = match.pseudonym if match is not None else ""
        member = domain.viewing_member(match, involvements, pid)
        if match is None or member is None:
            # An unknown match names nobody: a refusal is logged only when there is a person.
            if pseudonym:
                await self._disclose(
                    "match.get", pid, None, pseudonym, request.match_id, request.purpose, False, match
                )
            raise domain.not_found()
        await self._disclose(
            "match.get", pid, member.organisation_id, pseudonym, match.match_id, request.purpose, True, match
        )
        return pb.GetMatchResponse(match=convert.match_to_pb(match, pid))

    async def GetMatchStatistics(
        self, request: pb.GetMatchStatisticsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMatchStatisticsResponse:
        """Counts only; nothing is written to the processing log (no involvement is read)."""
        period = aggregates.period(request.from_month, request.to_month, "from_month", "to_month")
        return await statistics.match_statistics(self.store.pool, request.organisation_id[:64], period)

    async def FilterVisibleMatches(
        self, request: pb.FilterVisibleMatchesRequest, context: grpc.aio.ServicerContext
    ) -> pb.FilterVisibleMatchesResponse:
        if len(request.match_ids) > MAX_VISIBLE_CHECK:
            raise InvalidArgument("too_many_match_ids", f"Maximaal {MAX_VISIBLE_CHECK} matches per keer.")
        visible = []
        for match_id in dict.fromkeys(request.match_ids):
            match, involvements = await self.store.match_by_id(match_id)
            me = domain.viewing_member(match, involvements, request.professional_id)
            if me is not None:
                visible.append(pb.VisibleMatch(match_id=match_id, own_signal_id=me.signal_id))
        return pb.FilterVisibleMatchesResponse(match_ids=[v.match_id for v in visible], visible=visible)

    async def ListMatches(
        self, request: pb.ListMatchesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMatchesResponse:
        size = paging.page_size(request.page_size)
        offset = paging.parse_offset_token(request.page_token)
        if not request.professional_id:
            return pb.ListMatchesResponse()
        matches = await self.store.matches_of(request.professional_id, size + 1, offset, request.signal_id)
        page = matches[:size]
        if request.counts_only:
            # Statistics: dates only, nobody disclosed, so nothing to log about a person.
            return pb.ListMatchesResponse(
                matches=[pb.Match(match_id=m.match_id, created_at=to_timestamp(m.created_at)) for m in page],
                next_page_token=paging.offset_token(offset + size) if len(matches) > size else "",
            )
        await self.store.log_lines(
            logbook.list_disclosures(page, request.professional_id, request.purpose), page
        )
        return pb.ListMatchesResponse(
            matches=[convert.match_to_pb(m, request.professional_id) for m in page],
            next_page_token=paging.offset_token(offset + size) if len(matches) > size else "",
        )

    async def _coordinator_action(
        self,
        match_id: str,
        professional_id: str,
        purpose: str,
        action: Callable[[domain.Match | None, domain.CoordinatorRules], domain.Decision],
        answer: str = "",
    ) -> pb.Match:
        def lines(m: domain.Match) -> list[Line]:
            me = m.member(professional_id)
            org = me.organisation_id if me is not None else ""
            return [
                logbook.disclosure(
                    f"match.{purpose}", m.pseudonym, professional_id, org, "coordinatie", m.match_id
                ),
                logbook.coordination_action(purpose, m, professional_id, org, answer),
            ]

        # A refused action names no person the caller may learn of; nothing to log about one.
        return convert.match_to_pb(await self.store.change_match(match_id, action, lines), professional_id)

    async def TakeCoordinator(
        self, request: pb.TakeCoordinatorRequest, context: grpc.aio.ServicerContext
    ) -> pb.TakeCoordinatorResponse:
        pid, policy, now = request.professional_id, self.store.policy, self.clock.now()
        match = await self._coordinator_action(
            request.match_id,
            pid,
            "take_coordinator",
            lambda m, _r: coordination.take_coordinator(m, pid, policy, now),
        )
        return pb.TakeCoordinatorResponse(match=match)

    async def HandOverCoordinator(
        self, request: pb.HandOverCoordinatorRequest, context: grpc.aio.ServicerContext
    ) -> pb.HandOverCoordinatorResponse:
        pid, to = request.professional_id, request.to_professional_id
        match = await self._coordinator_action(
            request.match_id,
            pid,
            "hand_over_coordinator",
            lambda m, _r: coordination.hand_over_coordinator(m, pid, to),
        )
        return pb.HandOverCoordinatorResponse(match=match)

    async def AcceptCoordinator(
        self, request: pb.AcceptCoordinatorRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptCoordinatorResponse:
        pid = request.professional_id
        match = await self._coordinator_action(
            request.match_id, pid, "accept_coordinator", lambda m, _r: coordination.accept_coordinator(m, pid)
        )
        return pb.AcceptCoordinatorResponse(match=match)

    async def RespondTakeover(
        self, request: pb.RespondTakeoverRequest, context: grpc.aio.ServicerContext
    ) -> pb.RespondTakeoverResponse:
        pid, accept = request.professional_id, request.accept
        match = await self._coordinator_action(
            request.match_id,
            pid,
            "respond_takeover",
            lambda m, _r: coordination.respond_takeover(m, pid, accept),
            "accepted" if accept else "declined",
        )
        return pb.RespondTakeoverResponse(match=match)

    async def DeclineCoordinator(
        self, request: pb.DeclineCoordinatorRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeclineCoordinatorResponse:
        pid, policy, now = request.professional_id, self.store.policy, self.clock.now()
        match = await self._coordinator_action(
            request.match_id,
            pid,
            "decline_coordinator",
            lambda m, rules: coordination.decline_coordinator(m, pid, rules, policy, now),
        )
        return pb.DeclineCoordinatorResponse(match=match)

    async def SetOrganisationMayCoordinate(
        self, request: pb.SetOrganisationMayCoordinateRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetOrganisationMayCoordinateResponse:
        organisation_id = request.organisation_id.strip()
        if not organisation_id:
            raise InvalidArgument("organisation_id_missing", "Geef aan om welke organisatie het gaat.")
        moved = await self.store.set_organisation_may_coordinate(organisation_id, request.may_coordinate)
        return pb.SetOrganisationMayCoordinateResponse(handed_on=moved)

    async def GetCoordinatorRules(
        self, request: pb.GetCoordinatorRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCoordinatorRulesResponse:
        return pb.GetCoordinatorRulesResponse(rules=convert.rules_to_pb(await self.store.rules()))

    async def SetCoordinatorRules(
        self, request: pb.SetCoordinatorRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetCoordinatorRulesResponse:
        if not request.admin_id.strip():
            raise InvalidArgument("admin_id_missing", "Geef aan welke beheerder de regels vaststelt.")
        orgs = [o.strip() for o in request.rules.organisation_priority]
        domains = [d.strip() for d in request.rules.domain_priority]
        domain.validate_rules(orgs, domains)
        rules = await self.store.set_rules(orgs, domains, request.admin_id)
        return pb.SetCoordinatorRulesResponse(rules=convert.rules_to_pb(rules))

    async def RefreshFamilies(
        self, request: pb.RefreshFamiliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshFamiliesResponse:
        return pb.RefreshFamiliesResponse(changed=await self.store.refresh_families())

    async def ListCoordinatorRuleVersions(
        self, request: pb.ListCoordinatorRuleVersionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCoordinatorRuleVersionsResponse:
        versions = await self.store.rule_versions()
        return pb.ListCoordinatorRuleVersionsResponse(versions=[convert.rules_to_pb(r) for r in versions])

    async def PreviewCoordinatorRules(
        self, request: pb.PreviewCoordinatorRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.PreviewCoordinatorRulesResponse:
        orgs = [o.strip() for o in request.rules.organisation_priority]
        domains = [d.strip() for d in request.rules.domain_priority]
        domain.validate_rules(orgs, domains)
        proposed = domain.CoordinatorRules(tuple(orgs), tuple(domains))
        result = rule_preview.preview(await self.store.open_matches(), await self.store.rules(), proposed)
        return pb.PreviewCoordinatorRulesResponse(
            open_matches=result.open_matches,
            changed=result.changed,
            organisations=[
                pb.OrganisationCoordinations(organisation_id=o, current=now, proposed=then)
                for o, (now, then) in result.per_organisation.items()
            ],
        )

    async def ListMatchesOnPseudonym(
        self, request: pb.ListMatchesOnPseudonymRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMatchesOnPseudonymResponse:
        pseudonym = await self._person(request.pseudonym)
        matches = await self.store.matches_on_pseudonym(pseudonym)
        await self.store.log_lines([logbook.region_lookup(pseudonym, request.admin_id)])
        return pb.ListMatchesOnPseudonymResponse(matches=[convert.match_to_pb(m) for m in matches])

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAnomaliesResponse:
        since = from_timestamp(request.since) or self.clock.now() - timedelta(days=30)
        return pb.ListAnomaliesResponse(anomalies=await self.store.anomalies(since))

    async def ListProcessingLog(
        self, request: pb.ListProcessingLogRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProcessingLogResponse:
        person = await self._person(request.pseudonym)
        return pb.ListProcessingLogResponse(
            lines=await self.store.processing_log(person), subject_tags=await self.store.subject_tags(person)
        )


async def create_service(settings: MatchSettings, *, clock: Clock | None = None) -> GrpcService:
    """The match service: gRPC API plus the outbox relay that tells notify of every change."""
    clock = clock if clock is not None else SystemClock()
    service = GrpcService("match", settings)
    pool = await open_pool(
        settings.database_url,
        name="match",
        max_size=settings.db_pool_max,
        timeout=settings.db_pool_timeout_seconds,
    )
    service.add_closer(pool.close)
    channel = aio_channel(settings.notify_addr)
    notify = notify_pb2_grpc.NotifyServiceStub(channel)

    async def close_channel() -> None:
        await channel.close()

    service.add_closer(close_channel)

    peering = settings.peering()
    store = MatchStore(
        pool,
        clock,
        timedelta(seconds=settings.notice_delay_seconds),
        settings.policy(),
        families=settings.family_matches,
        peering=peering,
    )

    async def deliver(events: list[pb.MatchEvent]) -> None:
        # A relay batch (up to 500 events) gets longer than one request's deadline: under load
        # notify needed more than 5 s for it, the cancelled batch rolled back and was sent
        # again, so nothing moved (issue 21; signal's relay to match does the same).
        await notify.ApplyMatchEvents(
            notify_pb2.ApplyMatchEventsRequest(events=events),
            timeout=max(settings.rpc_timeout_seconds, NOTIFY_RELAY_TIMEOUT_SECONDS),
        )

    async def send_to_notify(payloads: list[bytes]) -> None:
        events = outbox.stamp([pb.MatchEvent.FromString(p) for p in payloads])
        try:
            await deliver(events)
            return
        except grpc.aio.AioRpcError as exc:
            if permanent_refusal(exc) is None:
                raise  # transient: the relay retries the batch later
        # notify refuses the whole batch for one bad event: find it, park it, deliver the rest
        # (a redelivered event keeps its id, so notify never sends twice).
        for payload, event in zip(payloads, events, strict=True):
            try:
                await deliver([event])
            except grpc.aio.AioRpcError as exc:
                reason = permanent_refusal(exc)
                if reason is None:
                    raise
                await store.park_undeliverable(event.event_id, payload, reason)
                log.warning(
                    "match event refused by notify, parked",
                    extra={
                        "event_id": event.event_id,
                        "kind": pb.MatchEventKind.Name(event.kind),
                        "reason": reason,
                    },
                )

    senders: dict[str, outbox.Sender] = {NOTIFY: send_to_notify}
    if store.federation is not None:
        senders.update(add_federation(service, settings, peering, store))
    relay = outbox.OutboxRelay(pool, senders)
    service.add_background(relay.run)

    async def forget_processed_events() -> None:
        while True:
            await store.forget_processed_events(PROCESSED_EVENTS_KEPT)
            await asyncio.sleep(3600)

    service.add_background(forget_processed_events)
    if settings.retention_interval_seconds > 0:
        service.add_background(
            lambda: retention.run_every(
                pool, "match", RETENTION_RULES, clock, settings.retention_interval_seconds
            )
        )

    async def refresh_families() -> None:
        while True:
            await asyncio.sleep(settings.family_refresh_seconds)
            try:
                changed = await store.refresh_families()
                log.info("family matches refreshed", extra={"changed": changed})
            except Exception:
                log.exception("family match refresh failed")

    if settings.family_refresh_seconds > 0:
        service.add_background(refresh_families)

    async def release_due_notices() -> None:
        pause = min(0.5, max(settings.notice_delay_seconds / 4, 0.05))
        while True:
            if not await store.release_due_notices():
                await asyncio.sleep(pause)

    if settings.notice_delay_seconds > 0:
        service.add_background(release_due_notices)

    async def expire_coordination() -> None:
        while True:
            if not await store.expire_coordination():
                await asyncio.sleep(settings.coordination_sweep_seconds)

    if settings.coordination_sweep_seconds > 0:
        service.add_background(expire_coordination)
    rekeyer = rekeyer_from_settings(settings, store)
    if rekeyer is not None:
        service.add_closer(rekeyer.close)
        service.add_background(rekeyer.run_when_identity_ready)
        service.add_background(lambda: report_rekey_progress(rekeyer, "match", settings.rekey_report_seconds))
    servicer = MatchServicer(store, clock, rekeyer)
    service.add_servicer(pb_grpc.add_MatchServiceServicer_to_server, servicer, "sluis.match.v1.MatchService")
    return service


def add_federation(
    service: GrpcService, settings: MatchSettings, peering: federation.Peering, store: MatchStore
) -> dict[str, outbox.Sender]:
    """The peer-facing mTLS server, the inbox worker and a sender per peer (outbox)."""
    if not settings.federation_tls_dir:
        raise ConfigError("SLUIS_FEDERATION_TLS_DIR is required with SLUIS_FEDERATION_PEERS")
    if not settings.identity_addr:
        raise ConfigError("SLUIS_IDENTITY_ADDR is required with SLUIS_FEDERATION_PEERS")
    tls = federation_link.TlsFiles(Path(settings.federation_tls_dir))
    channel = aio_channel(settings.identity_addr)
    identity: identity_pb2_grpc.IdentityServiceAsyncStub = identity_pb2_grpc.IdentityServiceStub(channel)

    async def close_channel() -> None:
        await channel.close()

    service.add_closer(close_channel)
    clients = {
        r: federation_link.PeerClient(peering, r, tls, identity, settings.rpc_timeout_seconds)
        for r in peering.peers
    }
    for client in clients.values():
        service.add_closer(client.close)

    async def translate_batch(region: str, tokens: list[str]) -> list[str]:
        reply = await identity.TranslatePseudonym(
            identity_pb2.TranslatePseudonymRequest(
                from_region=region, to_region=peering.region, pseudonyms=tokens
            ),
            timeout=settings.rpc_timeout_seconds,
        )
        return list(reply.pseudonyms)

    async def translate(region: str, tokens: list[str]) -> list[str]:
        """This region's pseudonyms of a peer's tokens; "" for a malformed token (its event is
        dropped), so one bad event cannot hold up the inbox."""
        try:
            return await translate_batch(region, tokens)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
        out = []
        for token in tokens:
            try:
                out += await translate_batch(region, [token])
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                out.append("")
        return out

    async def drain_inbox() -> None:
        while True:
            try:
                if await store.drain_federation_inbox(translate):
                    continue
            except grpc.aio.AioRpcError as exc:
                log.warning("federation inbox waits for identity", extra={"code": exc.code().name})
                await asyncio.sleep(1.0)
            await asyncio.sleep(INBOX_POLL_SECONDS)

    service.add_background(drain_inbox)
    if settings.federation_listen:
        server = grpc.aio.server(
            interceptors=[*telemetry.server_interceptors(), ErrorInterceptor("match-federation")],
            options=server_options(settings),
        )
        federation_pb2_grpc.add_FederationServiceServicer_to_server(
            federation_link.FederationServicer(store.pool, peering), server
        )
        server.add_secure_port(settings.federation_listen, tls.server_credentials())

        async def serve() -> None:
            await server.start()
            log.info("federation serving", extra={"listen": settings.federation_listen})
            await server.wait_for_termination()

        async def stop() -> None:
            await server.stop(settings.shutdown_grace_seconds)

        service.add_background(serve)
        service.add_closer(stop)
    return {federation_store.destination(r): c.send for r, c in clients.items()}
