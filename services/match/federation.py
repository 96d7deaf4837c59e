"""Cross-region matches (issue 19, docs/adr/0005-federation.md): the rules as pure functions.

A region tells each peer what it knows of a person it has an active signal on: PRESENT
(with its members, only once it knows the peer has the person too), ABSENT when its last
active signal ended, ERASED when the person's data was erased. The receiving region keeps
the peer's presence only while it has an active signal on that person itself.

A *cross-region match* exists in this region while it has an active signal on the person
and the organisations across this region and its peers number two or more. Its members are
this region's active professionals and the peers' members (ids prefixed with the region, so
organisations of different regions never count as one). The coordinating region is the one
where the first signal was registered (earliest first_signal_at; a tie goes to the smaller
region id); it chooses by its own rules, the other regions show the coordinator it names.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum

from services.common.config import ConfigError
from services.common.contacts import Contact
from services.match import domain

KIND = "cross-region"
# Remote professional and organisation ids: "<region>/<id>".
SEPARATOR = "/"


class State(Enum):
    PRESENT = "present"
    ABSENT = "absent"
    ERASED = "erased"
    MOVED = "moved"


@dataclass(frozen=True)
class Peering:
    """The federation settings of a region (SLUIS_FEDERATION_*), parsed."""

    region: str
    peers: Mapping[str, str] = field(default_factory=dict)  # region -> host:port
    pins: Mapping[str, frozenset[str]] = field(default_factory=dict)  # region -> sha256 hex
    share: Mapping[str, frozenset[str]] = field(default_factory=dict)  # region -> org ids | "*"

    @property
    def enabled(self) -> bool:
        return bool(self.peers)

    def shares(self, region: str, organisation_id: str) -> bool:
        allowed = self.share.get(region, frozenset())
        return "*" in allowed or organisation_id in allowed

    def pinned(self, region: str, fingerprint: str) -> bool:
        return fingerprint.lower() in self.pins.get(region, frozenset())


def _pairs(entries: Iterable[str], env: str) -> dict[str, str]:
    out = {}
    for entry in entries:
        region, sep, value = entry.partition("=")
        if not sep or not region.strip() or not value.strip():
            raise ConfigError(f"{env}: expected region=value,...")
        out[region.strip()] = value.strip()
    return out


def parse_peering(region: str, peers: Iterable[str], pins: Iterable[str], share: Iterable[str]) -> Peering:
    """The settings as configured; every peer must have at least one pin."""
    endpoints = _pairs(peers, "SLUIS_FEDERATION_PEERS")
    pinned = {
        r: frozenset(p.strip().lower().replace(":", "") for p in v.split("|") if p.strip())
        for r, v in _pairs(pins, "SLUIS_FEDERATION_PINS").items()
    }
    shared = {
        r: frozenset(o.strip() for o in v.split("|") if o.strip())
        for r, v in _pairs(share, "SLUIS_FEDERATION_SHARE").items()
    }
    if region in endpoints:
        raise ConfigError("SLUIS_FEDERATION_PEERS: a region cannot be its own peer")
    missing = sorted(r for r in endpoints if not pinned.get(r))
    if missing:
        raise ConfigError(f"SLUIS_FEDERATION_PINS: no pinned certificate for {', '.join(missing)}")
    return Peering(region, endpoints, pinned, shared)


@dataclass(frozen=True)
class PeerMember:
    """A professional of a peer region as received (ids as the peer knows them)."""

    contact: Contact
    is_coordinator: bool
    registered_at: datetime


@dataclass(frozen=True)
class Presence:
    """What this region holds of one peer on one person."""

    region: str
    sequence: int
    present: bool
    first_signal_at: datetime | None
    members: tuple[PeerMember, ...] = ()


def outgoing_state(involvements: Iterable[domain.Involvement], erased: bool) -> State:
    """The state to tell peers after a person's involvements changed."""
    if any(i.active for i in involvements):
        return State.PRESENT
    return State.ERASED if erased else State.ABSENT


def worth_telling(state: State, last_sent: str | None) -> bool:
    """Whether a peer hears of the person's new state, given what it was told last (None:
    nothing). PRESENT always; ABSENT only after PRESENT; ERASED to a peer that was told
    anything (its closed cross-region match still names this region's members)."""
    if state is State.PRESENT:
        return True
    if state is State.ERASED:
        return last_sent is not None
    return last_sent == State.PRESENT.value


def first_signal_at(involvements: Iterable[domain.Involvement]) -> datetime | None:
    return min((i.registered_at for i in involvements if i.active), default=None)


def shared_members(
    peering: Peering, peer: str, match: domain.Match | None, involvements: Sequence[domain.Involvement]
) -> list[PeerMember]:
    """This region's active professionals on the person as they may cross to `peer`:
    organisations not shared with that peer cross as organisation name only (one per
    organisation, no professional)."""
    local = [
        m
        for m in domain.active_members(involvements, None, datetime.min)
        if SEPARATOR not in m.professional_id
    ]
    coordinator = match.coordinator_id if match is not None else ""
    out: list[PeerMember] = []
    hidden: set[str] = set()
    for m in local:
        c = m.contact
        if peering.shares(peer, c.organisation_id):
            out.append(PeerMember(c, m.professional_id == coordinator, m.registered_at))
        elif c.organisation_id not in hidden:
            hidden.add(c.organisation_id)
            anonymous = Contact(
                f"organisatie:{c.organisation_id}",
                organisation_id=c.organisation_id,
                organisation_name=c.organisation_name,
            )
            out.append(PeerMember(anonymous, False, m.registered_at))
    return out


def remote_signal_id(region: str) -> str:
    """The signal id of a peer's member rows (the peer's signals are not known here)."""
    return f"peer:{region}"


def remote_member(region: str, pm: PeerMember) -> domain.Member:
    """A peer's member as a member of this region's cross-region match."""
    c = pm.contact
    contact = replace(
        c,
        professional_id=f"{region}{SEPARATOR}{c.professional_id}",
        organisation_id=f"{region}{SEPARATOR}{c.organisation_id}",
    )
    return domain.Member(
        contact=contact,
        signal_id=remote_signal_id(region),
        may_coordinate=False,
        domains=(),
        registered_at=pm.registered_at,
        joined_at=pm.registered_at,
    )


def coordinating_region(own: str, own_first: datetime | None, presences: Iterable[Presence]) -> str:
    """The region where the first signal was registered; ties to the smaller region id."""
    candidates = [(own_first, own)] if own_first is not None else []
    candidates += [(p.first_signal_at, p.region) for p in presences if p.present and p.first_signal_at]
    return min(candidates)[1] if candidates else own


def decide_cross(
    own_region: str,
    involvements: Sequence[domain.Involvement],
    presences: Sequence[Presence],
    before: domain.Match | None,
    rules: domain.CoordinatorRules,
    *,
    pseudonym: str,
    now: datetime,
    new_match_id: str,
) -> domain.Decision:
    """The person's cross-region match after a local or a peer's change, and what to tell
    this region's members (peers' members are told by their own region)."""
    local = domain.active_members(involvements, before, now)
    remote = [
        remote_member(p.region, pm)
        for p in sorted(presences, key=lambda p: p.region)
        if p.present
        for pm in p.members
    ]
    members = sorted([*local, *remote], key=lambda m: (m.registered_at, m.professional_id))
    exists = bool(local) and bool(remote) and domain.is_match(members)
    if not exists:
        if before is None:
            return domain.Decision(None, None)
        closed = replace(before, status=domain.MatchStatus.CLOSED, members=tuple(members), closed_at=now)
        told = tuple(m.contact for m in before.members if SEPARATOR not in m.professional_id)
        return domain.Decision(before, closed, (domain.Change(domain.ChangeKind.CLOSED, closed, None, told),))
    region = coordinating_region(own_region, first_signal_at(involvements), presences)
    flagged = {
        f"{p.region}{SEPARATOR}{pm.contact.professional_id}"
        for p in presences
        for pm in p.members
        if pm.is_coordinator
    }
    coordinator = _coordinator(region, own_region, local, remote, before, rules, flagged)
    local_ids = {m.professional_id for m in local}
    if before is None:
        created = domain.Match(
            match_id=new_match_id,
            pseudonym=pseudonym,
            status=domain.MatchStatus.OPEN,
            members=tuple(members),
            coordinator_id=coordinator.professional_id,
            pending_coordinator_id="",
            created_at=now,
            kind=KIND,
        )
        change = domain.Change(
            domain.ChangeKind.CREATED, created, coordinator.contact, tuple(m.contact for m in local)
        )
        return domain.Decision(None, created, (change,))
    after = replace(before, members=tuple(members), coordinator_id=coordinator.professional_id)
    if after == before:
        return domain.Decision(before, before)
    before_ids = {m.professional_id for m in before.members}
    now_ids = {m.professional_id for m in members}
    joined = tuple(m.contact for m in members if m.professional_id not in before_ids)
    left = tuple(m.contact for m in before.members if m.professional_id not in now_ids)
    stayed = tuple(m.contact for m in local if m.professional_id in before_ids)
    new_coordinator = coordinator.contact if coordinator.professional_id != before.coordinator_id else None
    local_joined = tuple(c for c in joined if c.professional_id in local_ids)
    local_left = tuple(c for c in left if SEPARATOR not in c.professional_id)
    if joined:
        kind, subject, recipients = domain.ChangeKind.MEMBER_JOINED, joined[0], local_joined + stayed
    elif left:
        kind, subject, recipients = domain.ChangeKind.MEMBER_LEFT, left[0], local_left + stayed
    elif new_coordinator is not None:
        kind, subject, recipients = domain.ChangeKind.COORDINATOR_CHANGED, new_coordinator, stayed
    else:
        return domain.Decision(before, after)  # details only (e.g. a phone number)
    change = domain.Change(
        kind, after, subject, recipients, joined=joined, left=left, new_coordinator=new_coordinator
    )
    return domain.Decision(before, after, (change,))


def _coordinator(
    region: str,
    own_region: str,
    local: Sequence[domain.Member],
    remote: Sequence[domain.Member],
    before: domain.Match | None,
    rules: domain.CoordinatorRules,
    flagged: set[str],
) -> domain.Member:
    """This region's rules when it coordinates (a sitting coordinator keeps the role); else
    the member the coordinating peer names (its earliest member when it names none)."""
    if region == own_region and local:
        sitting = next(
            (m for m in local if before is not None and m.professional_id == before.coordinator_id), None
        )
        return sitting or domain.choose_coordinator(local, rules)
    prefix = f"{region}{SEPARATOR}"
    theirs = [m for m in remote if m.professional_id.startswith(prefix)]
    named = [m for m in theirs if m.professional_id in flagged]
    return (named or theirs or list(local))[0]
