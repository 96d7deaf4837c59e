"""The SQL of cross-region matches (federation.py has the rules, docs/adr/0005-federation.md).

Both directions run in match's transactions under the person's advisory lock:
- `after_local_changes`: a person's involvements changed here; a PeerEvent per peer goes to
  the outbox (destination "federation:<region>") and the cross-region match is decided again.
- `apply_peer_events`: the inbox worker's decision on events a peer sent; an event about a
  person without an active signal here is dropped without a trace (only a counter goes up).
"""

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from sluis.federation.v1 import federation_pb2 as fpb

from services.common import outbox, processing_log
from services.common.contacts import Contact, contact_from_proto, contact_to_proto, contact_values
from services.common.processing_log import Foreign, Line
from services.common.protos import from_timestamp, to_timestamp
from services.match import domain, erasure, federation, logbook, rows
from services.match.federation import Peering, PeerMember, Presence, State
from services.match.notices import Notices

DESTINATION_PREFIX = "federation:"
ACTIVITY = "grensoverschrijdende-match"

_STATE_TO_PB = {
    State.PRESENT: fpb.PEER_STATE_PRESENT,
    State.ABSENT: fpb.PEER_STATE_ABSENT,
    State.ERASED: fpb.PEER_STATE_ERASED,
    State.MOVED: fpb.PEER_STATE_MOVED,
}
_PB_TO_STATE = {v: k for k, v in _STATE_TO_PB.items()}


def destination(region: str) -> str:
    return DESTINATION_PREFIX + region


def _member_json(m: PeerMember) -> dict[str, object]:
    return {
        **m.contact.as_json(),
        "is_coordinator": m.is_coordinator,
        "registered_at": m.registered_at.isoformat(),
    }


def _member_from_json(d: Mapping[str, object]) -> PeerMember:
    contact = Contact(**{k: str(d.get(k, "")) for k in Contact.__dataclass_fields__})
    return PeerMember(contact, bool(d.get("is_coordinator")), datetime.fromisoformat(str(d["registered_at"])))


def member_to_pb(m: PeerMember) -> fpb.PeerMember:
    return fpb.PeerMember(
        professional=contact_to_proto(m.contact),
        is_coordinator=m.is_coordinator,
        registered_at=to_timestamp(m.registered_at),
    )


def member_from_pb(m: fpb.PeerMember) -> PeerMember | None:
    """A peer's member as received (fields cut to the lengths the tables keep)."""
    registered = from_timestamp(m.registered_at)
    contact = contact_from_proto(m.professional)
    if not contact.professional_id or not contact.organisation_id or registered is None:
        return None
    contact = Contact(*(value[:200] for value in contact_values(contact)))
    return PeerMember(contact, m.is_coordinator, registered)


async def load_presences(
    conn: psycopg.AsyncConnection, pseudonyms: Sequence[str]
) -> dict[str, list[Presence]]:
    cur = await conn.execute(
        "SELECT pseudonym, region, sequence, present, first_signal_at, members FROM federation_peers"
        " WHERE pseudonym = ANY(%s) ORDER BY region",
        (list(pseudonyms),),
    )
    out: dict[str, list[Presence]] = {p: [] for p in pseudonyms}
    for r in await cur.fetchall():
        members = tuple(_member_from_json(m) for m in (r[5] or []))
        out[r[0]].append(Presence(r[1], r[2], r[3], r[4], members))
    return out


def _line(name: str, pseudonym: str, region: str, peer_uri: str, **extra: str) -> Line:
    return Line(
        name,
        ACTIVITY,
        pseudonym,
        attributes={"sluis.peer_region": region, "sluis.peer_uri": peer_uri, **extra},
    )


@dataclass
class Federation:
    """One region's side of the link, used inside match's transactions."""

    peering: Peering
    notices: Notices

    async def after_local_changes(
        self,
        conn: psycopg.AsyncConnection,
        pseudonyms: Sequence[str],
        erased: set[str],
        rules: domain.CoordinatorRules,
        now: datetime,
    ) -> None:
        """The persons' involvements changed here (the caller holds their locks)."""
        if not pseudonyms or not self.peering.enabled:
            return
        involvements = await rows.load_involvements(conn, pseudonyms)
        presences = await load_presences(conn, pseudonyms)
        for pseudonym in pseudonyms:
            if (
                federation.outgoing_state(involvements.get(pseudonym, {}).values(), False)
                is not State.PRESENT
            ):
                # No active signal here any more: nothing of the peers on this person is kept.
                await conn.execute("DELETE FROM federation_peers WHERE pseudonym = %s", (pseudonym,))
                presences[pseudonym] = []
        # The match first, so the members sent name the coordinator it chose.
        await self.decide(conn, pseudonyms, rules, now)
        sent = await self._sent(conn, pseudonyms)
        matches = await rows.open_matches(conn, list(pseudonyms), kind=federation.KIND)
        lines: list[Line] = []
        queued: list[bytes] = []
        dests: list[str] = []
        for pseudonym in pseudonyms:
            invs = list(involvements.get(pseudonym, {}).values())
            state = federation.outgoing_state(invs, pseudonym in erased)
            for region in self.peering.peers:
                if state is State.ERASED:
                    # The peer's members go from every cross-region match on the person too.
                    await self._erase_copies(conn, pseudonym, region, now)
                last = sent.get((pseudonym, region))
                if not federation.worth_telling(state, last[1] if last else None):
                    continue
                known = next((p for p in presences[pseudonym] if p.region == region and p.present), None)
                event = await self._queue(
                    conn, pseudonym, region, state, invs, matches.get(pseudonym), known, last, now
                )
                queued.append(event.SerializeToString())
                dests.append(region)
                if event.event.members_included or state is State.ERASED:
                    name = "federation.erasure_sent" if state is State.ERASED else "federation.members_sent"
                    lines.append(_line(name, pseudonym, region, self.peering.peers[region]))
        for region in dict.fromkeys(dests):
            payloads = [p for p, d in zip(queued, dests, strict=True) if d == region]
            await outbox.enqueue_many(conn, [destination(region)], payloads)
        await processing_log.write(conn, logbook.RESOURCE, lines, now)

    async def moved_out(
        self, conn: psycopg.AsyncConnection, pseudonym: str, code: str, now: datetime
    ) -> None:
        """The person moved out of this region: each peer known to have them too gets MOVED
        with the new municipality (a peer that does not have them learns nothing)."""
        presences = (await load_presences(conn, [pseudonym]))[pseudonym]
        sent = await self._sent(conn, [pseudonym])
        lines = []
        for p in presences:
            last = sent.get((pseudonym, p.region))
            if not p.present or p.region not in self.peering.peers or last is None:
                continue
            event = fpb.PeerEvent(
                event_id=str(uuid.uuid4()),
                state=fpb.PEER_STATE_MOVED,
                sequence=last[0] + 1,
                municipality_code=code[:8],
            )
            await conn.execute(
                "UPDATE federation_sent SET sequence = %s, updated_at = %s WHERE pseudonym = %s AND region = %s",
                (event.sequence, now, pseudonym, p.region),
            )
            queued = fpb.QueuedPeerEvent(pseudonym=pseudonym, to_region=p.region, event=event)
            await outbox.enqueue_many(conn, [destination(p.region)], [queued.SerializeToString()])
            lines.append(
                _line(
                    "federation.move_sent",
                    pseudonym,
                    p.region,
                    self.peering.peers[p.region],
                    **{"sluis.municipality_code": code},
                )
            )
        await processing_log.write(conn, logbook.RESOURCE, lines, now)

    async def _sent(
        self, conn: psycopg.AsyncConnection, pseudonyms: Sequence[str]
    ) -> dict[tuple[str, str], tuple[int, str]]:
        cur = await conn.execute(
            "SELECT pseudonym, region, sequence, state FROM federation_sent WHERE pseudonym = ANY(%s)",
            (list(pseudonyms),),
        )
        return {(r[0], r[1]): (r[2], r[3]) for r in await cur.fetchall()}

    async def _queue(
        self,
        conn: psycopg.AsyncConnection,
        pseudonym: str,
        region: str,
        state: State,
        involvements: Sequence[domain.Involvement],
        match: domain.Match | None,
        known: Presence | None,
        last: tuple[int, str] | None,
        now: datetime,
    ) -> fpb.QueuedPeerEvent:
        """One PeerEvent for the outbox; the next sequence number recorded with it."""
        sequence = (last[0] if last else 0) + 1
        event = fpb.PeerEvent(event_id=str(uuid.uuid4()), state=_STATE_TO_PB[state], sequence=sequence)
        if state is State.PRESENT:
            first = to_timestamp(federation.first_signal_at(involvements))
            if first is not None:
                event.first_signal_at.CopyFrom(first)
            event.want_members = known is None or not known.members
            if known is not None:
                # Contact details only to a region known to have the person too.
                members = federation.shared_members(self.peering, region, match, involvements)
                event.members.extend(member_to_pb(m) for m in members)
                event.members_included = True
        if state is State.ERASED:
            await conn.execute(
                "DELETE FROM federation_sent WHERE pseudonym = %s AND region = %s", (pseudonym, region)
            )
        else:
            await conn.execute(
                "INSERT INTO federation_sent (pseudonym, region, sequence, state, updated_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (pseudonym, region) DO UPDATE SET"
                " sequence = EXCLUDED.sequence, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at",
                (pseudonym, region, sequence, state.value, now),
            )
        return fpb.QueuedPeerEvent(pseudonym=pseudonym, to_region=region, event=event)

    async def decide(
        self,
        conn: psycopg.AsyncConnection,
        pseudonyms: Sequence[str],
        rules: domain.CoordinatorRules,
        now: datetime,
    ) -> None:
        """Decide the persons' cross-region matches again (after either side changed)."""
        involvements = await rows.load_involvements(conn, pseudonyms)
        presences = await load_presences(conn, pseudonyms)
        matches = await rows.open_matches(conn, list(pseudonyms), kind=federation.KIND)
        decisions = []
        for pseudonym in pseudonyms:
            decision = federation.decide_cross(
                self.peering.region,
                list(involvements.get(pseudonym, {}).values()),
                presences.get(pseudonym, []),
                matches.get(pseudonym),
                rules,
                pseudonym=pseudonym,
                now=now,
                new_match_id=str(uuid.uuid4()),
            )
            if decision.changed:
                decisions.append((decision, False))
        if decisions:
            await rows.write_decisions(conn, decisions, now, self.notices)
            lines = logbook.decision_lines(d for d, _ in decisions)
            await processing_log.write(conn, logbook.RESOURCE, lines, now)

    async def apply_peer_event(
        self,
        conn: psycopg.AsyncConnection,
        region: str,
        pseudonym: str,
        event: fpb.PeerEvent,
        foreign: Foreign,
        peer_uri: str,
        rules: domain.CoordinatorRules,
        now: datetime,
    ) -> bool:
        """One event of a peer about a person (the caller holds the person's lock and has
        recorded the event id). False: dropped, because this region has no active signal on
        the person; nothing about them is kept then."""
        involvements = (await rows.load_involvements(conn, [pseudonym])).get(pseudonym, {})
        if not any(i.active for i in involvements.values()):
            await conn.execute(
                "DELETE FROM federation_peers WHERE pseudonym = %s AND region = %s", (pseudonym, region)
            )
            # A closed cross-region match of earlier may still name the peer's members.
            if event.state == fpb.PEER_STATE_ERASED and await self._erase_copies(
                conn, pseudonym, region, now
            ):
                line = _line("federation.erasure_received", pseudonym, region, peer_uri)
                await processing_log.write(conn, logbook.RESOURCE, [line], now, foreign)
            await conn.execute(
                "INSERT INTO federation_counters (region, name, value) VALUES (%s, 'dropped', 1)"
                " ON CONFLICT (region, name) DO UPDATE SET value = federation_counters.value + 1",
                (region,),
            )
            return False
        known = next(
            (p for p in (await load_presences(conn, [pseudonym]))[pseudonym] if p.region == region), None
        )
        if known is not None and event.sequence <= known.sequence:
            return True  # older than what we hold (order per person)
        state = _PB_TO_STATE.get(event.state)
        lines: list[Line] = []
        answer = erase = False
        if state is State.PRESENT:
            members = known.members if known is not None else ()
            if event.members_included:
                members = tuple(m for m in (member_from_pb(x) for x in event.members) if m is not None)
                lines.append(_line("federation.members_received", pseudonym, region, peer_uri))
            await conn.execute(
                "INSERT INTO federation_peers (pseudonym, region, sequence, present, first_signal_at, members,"
                " updated_at) VALUES (%s, %s, %s, true, %s, %s, %s) ON CONFLICT (pseudonym, region) DO UPDATE"
                " SET sequence = EXCLUDED.sequence, present = true, first_signal_at = EXCLUDED.first_signal_at,"
                " members = EXCLUDED.members, updated_at = EXCLUDED.updated_at",
                (
                    pseudonym,
                    region,
                    event.sequence,
                    from_timestamp(event.first_signal_at),
                    json.dumps([_member_json(m) for m in members]),
                    now,
                ),
            )
            answer = known is None or not known.present or event.want_members
        elif state is State.ERASED:
            await conn.execute(
                "DELETE FROM federation_peers WHERE pseudonym = %s AND region = %s", (pseudonym, region)
            )
            lines.append(_line("federation.erasure_received", pseudonym, region, peer_uri))
            erase = True
        elif state is State.MOVED:
            # The person moved out of the peer's region; its signals (and members) stay.
            await conn.execute(
                "UPDATE federation_peers SET sequence = %s, updated_at = %s WHERE pseudonym = %s AND region = %s",
                (event.sequence, now, pseudonym, region),
            )
            code = event.municipality_code[:8]
            lines.append(
                _line(
                    "federation.move_received",
                    pseudonym,
                    region,
                    peer_uri,
                    **{"sluis.municipality_code": code},
                )
            )
        else:  # ABSENT: the peer's members leave; the sequence stays for ordering
            await conn.execute(
                "INSERT INTO federation_peers (pseudonym, region, sequence, present, members, updated_at)"
                " VALUES (%s, %s, %s, false, '[]', %s) ON CONFLICT (pseudonym, region) DO UPDATE"
                " SET sequence = EXCLUDED.sequence, present = false, members = '[]', first_signal_at = NULL,"
                " updated_at = EXCLUDED.updated_at",
                (pseudonym, region, event.sequence, now),
            )
        await processing_log.write(conn, logbook.RESOURCE, lines, now, foreign)
        await self.decide(conn, [pseudonym], rules, now)
        if erase:
            await self._erase_copies(conn, pseudonym, region, now)
        if answer:
            # The peer showed it has the person: this region has them too, with its members.
            await self._answer(conn, pseudonym, region, now)
        return True

    async def _erase_copies(
        self, conn: psycopg.AsyncConnection, pseudonym: str, region: str, now: datetime
    ) -> bool:
        """The peer's members go from every cross-region match on the person, open or closed
        (erasure.py tells notify, which drops its copies); whether any was there."""
        cur = await conn.execute(
            "DELETE FROM match_members mm USING matches m WHERE mm.match_id = m.match_id"
            " AND m.pseudonym = %s AND m.kind = %s AND mm.signal_id = %s RETURNING mm.match_id",
            (pseudonym, federation.KIND, federation.remote_signal_id(region)),
        )
        match_ids = sorted({str(r[0]) for r in await cur.fetchall()})
        if match_ids:
            await erasure.forget_in_matches(conn, match_ids, [federation.remote_signal_id(region)], now)
        return bool(match_ids)

    async def _answer(
        self, conn: psycopg.AsyncConnection, pseudonym: str, region: str, now: datetime
    ) -> None:
        """Tell a peer that just showed it has the person that this region has them too, with
        this region's members (it is known to have the person now)."""
        involvements = list((await rows.load_involvements(conn, [pseudonym])).get(pseudonym, {}).values())
        presences = await load_presences(conn, [pseudonym])
        known = next((p for p in presences[pseudonym] if p.region == region), None)
        last = (await self._sent(conn, [pseudonym])).get((pseudonym, region))
        match = (await rows.open_matches(conn, [pseudonym], kind=federation.KIND)).get(pseudonym)
        event = await self._queue(
            conn, pseudonym, region, State.PRESENT, involvements, match, known, last, now
        )
        await outbox.enqueue_many(conn, [destination(region)], [event.SerializeToString()])
        peer_uri = self.peering.peers.get(region, "")
        await processing_log.write(
            conn, logbook.RESOURCE, [_line("federation.members_sent", pseudonym, region, peer_uri)], now
        )
