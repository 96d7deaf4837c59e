"""The matching rules, as plain data and pure functions: no I/O, no clock, no randomness.

Vocabulary
- An *involvement* is match's copy of one signal: who (contact snapshot), which
  organisation, may that organisation coordinate, its domains, when it was registered,
  whether it is active, and the signal version it reflects.
- A *member* of a match is a professional with an active involvement on the person. A
  professional counts once, with their earliest active signal.
- A *match* exists for a person while members of at least two different organisations are
  involved. Exactly one member is the coordinator (matchregisseur).

Notifications (the `Change`s a decision returns; the store turns each into one MatchEvent).
One change makes one notice per recipient (issue 17): what else happened travels along in the
Change (joined, left, new_coordinator, offered, suggested), so nobody gets two mails.
- CREATED -> all members; subject = the coordinator.
- MEMBER_JOINED -> the new member(s) and the members who stayed; subject = the earliest joiner;
  also names who left and the new coordinator when that happened in the same change, and a
  hand-over suggestion (coordination.py) when a preferred organisation joined.
- MEMBER_LEFT -> the one(s) who left (a short notice, no contact details: notify) and, when
  nobody joined, the members who stayed; subject = the leaver; names a new coordinator.
- CLOSED -> everybody who was a member before the change; members = those still involved.
- COORDINATOR_CHANGED -> all members; subject = the new coordinator (a take-over, an accepted
  hand-over, a declined offer passed on, a profile change: coordination.py).
- HANDOVER_REQUESTED / TAKEOVER_REQUESTED / TAKEOVER_DECLINED / HANDOVER_DECLINED -> the one
  member who must answer or is told the answer.

Coalescing (interpretation of "every member notified once"): each professional is told of
their own entry into a match exactly once (in CREATED, or in the MEMBER_JOINED that announces
them), and a burst does not become a string of notifications:
1. A decision compares the match as it was before a whole group of signal changes (one
   ApplySignalEvents call, per person) with the state after all of them, and emits at most
   ONE event per kind.
2. Across calls, CREATED and MEMBER_JOINED wait in a short notice window (store
   `pending_notices`, SLUIS_MATCH_NOTICE_DELAY_SECONDS, default 2 s) and later joinings merge
   into the waiting event (same event id, current member list, new recipients added). So 50
   professionals signalling within the window produce ONE CREATED naming all 50. Any other
   kind of change to the match first releases the waiting event, so the order is kept.
Changes further apart than the window are separate changes and are notified separately. A
new match announces its coordinator in CREATED (the member flagged is_coordinator);
COORDINATOR_CHANGED is only emitted when the role moves in an existing match.

Coordinator rule (region-configurable, see `CoordinatorRules`):
1. The current coordinator keeps the role while they are a member: rules and newcomers never
   take it away (a rule change applies to new coordinator decisions only: a new match, or
   succession when the coordinator leaves).
2. Otherwise, among the members whose organisation may coordinate: the first organisation
   of the region's priority list that is present; then the first domain of the domain
   priority list that a member works in; then the earliest signalling member. Within the
   chosen organisation/domain, the earliest signal wins (ties broken by professional id, so
   the choice is deterministic).
3. When no member's organisation may coordinate, the earliest signalling member takes the
   role all the same, because a match must always have exactly one contact point.

Over 500 lines on purpose: the matching, coordinator and visibility rules depend on each
other (a coordinator decision needs the match rule, visibility needs both), so they are read
together here rather than split across modules.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from services.common.contacts import Contact
from services.common.domains import WORK_DOMAINS
from services.common.errors import InvalidArgument, NotFound

DOMAINS = frozenset(WORK_DOMAINS)
REGION_TZ = ZoneInfo("Europe/Amsterdam")

# One answer for "unknown", "not yours" and "not visible to you": no existence leak.
NOT_FOUND_DETAIL = (
    "Niet gevonden. Alleen wie zelf een actief signaal heeft, ziet wie er nog meer betrokken is."
)


def not_found() -> NotFound:
    """The single refusal for every read that is not allowed or finds nothing."""
    return NotFound("not_found", NOT_FOUND_DETAIL)


class SignalChange(Enum):
    """What a signal event means for an involvement."""

    ACTIVE = "active"  # registered, renewed, lapsing soon: the signal is (still) active
    INACTIVE = "inactive"  # ended or lapsed: the signal no longer counts
    DELETED = "deleted"  # gone for good (unjustified, objection upheld, purged)


@dataclass(frozen=True)
class Involvement:
    signal_id: str
    pseudonym: str
    contact: Contact
    may_coordinate: bool
    domains: tuple[str, ...]
    registered_at: datetime
    active: bool
    version: int
    # Family matches (issue 18, family.py): the person's parents and the day they turn 18.
    parent_pseudonyms: tuple[str, ...] = ()
    adult_on: date | None = None

    @property
    def professional_id(self) -> str:
        return self.contact.professional_id

    @property
    def organisation_id(self) -> str:
        return self.contact.organisation_id


@dataclass(frozen=True)
class SignalUpdate:
    """One signal event, reduced to what matching needs."""

    signal_id: str
    pseudonym: str
    version: int
    change: SignalChange
    contact: Contact
    may_coordinate: bool
    domains: tuple[str, ...]
    registered_at: datetime
    # A transfer (issue 12): the professional who held the signal before ("" otherwise).
    transferred_from: str = ""
    parent_pseudonyms: tuple[str, ...] = ()
    adult_on: date | None = None


def apply_update(current: Involvement | None, update: SignalUpdate) -> Involvement | None:
    """The involvement after `update`, or None when the update is stale (version not newer).

    Events may arrive in any order and more than once: only a higher signal version changes
    anything, so a late REGISTERED never revives an ENDED signal.
    """
    if current is not None and update.version <= current.version:
        return None
    contact = update.contact
    parents, adult_on = update.parent_pseudonyms, update.adult_on
    if update.change is SignalChange.DELETED:
        # Only a tombstone stays (ids and version, so late events cannot revive the signal):
        # the contact details of a removed signal are not kept.
        contact = Contact(contact.professional_id, organisation_id=contact.organisation_id)
        parents, adult_on = (), None
    return Involvement(
        signal_id=update.signal_id,
        pseudonym=update.pseudonym,
        contact=contact,
        may_coordinate=update.may_coordinate,
        domains=update.domains,
        registered_at=update.registered_at,
        active=update.change is SignalChange.ACTIVE,
        version=update.version,
        parent_pseudonyms=parents,
        adult_on=adult_on,
    )


def apply_updates(
    involvements: dict[str, Involvement], updates: Iterable[SignalUpdate]
) -> tuple[list[Involvement], int]:
    """Apply one person's updates (any order) to their involvements, keyed by signal id.

    Mutates `involvements`; returns the involvements that changed and how many updates were
    stale. Updates are applied in version order, so a batch holding REGISTERED and ENDED of
    one signal ends with the signal ended, whatever the order of arrival.
    """
    changed: dict[str, Involvement] = {}
    stale = 0
    for update in sorted(updates, key=lambda u: u.version):
        after = apply_update(involvements.get(update.signal_id), update)
        if after is None:
            stale += 1
            continue
        involvements[update.signal_id] = changed[update.signal_id] = after
    return list(changed.values()), stale


@dataclass(frozen=True)
class Member:
    contact: Contact
    signal_id: str
    may_coordinate: bool
    domains: tuple[str, ...]
    registered_at: datetime
    joined_at: datetime

    @property
    def professional_id(self) -> str:
        return self.contact.professional_id

    @property
    def organisation_id(self) -> str:
        return self.contact.organisation_id


class MatchStatus(Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Match:
    match_id: str
    pseudonym: str
    status: MatchStatus
    members: tuple[Member, ...]
    coordinator_id: str
    pending_coordinator_id: str
    created_at: datetime
    closed_at: datetime | None = None
    # PERSON: `pseudonym` is the person; FAMILY (family.py): it is the parent of the family.
    kind: str = "person"
    # Coordination by agreement (coordination.py): a take-over request waiting for the
    # coordinator's answer, and a succession offer the coordinator has not accepted yet.
    takeover_id: str = ""
    takeover_due: datetime | None = None
    offered: bool = False
    offer_due: datetime | None = None
    declined: tuple[str, ...] = ()

    def member(self, professional_id: str) -> Member | None:
        for m in self.members:
            if m.professional_id == professional_id:
                return m
        return None


@dataclass(frozen=True)
class CoordinatorRules:
    organisation_priority: tuple[str, ...] = ()
    domain_priority: tuple[str, ...] = ()
    version: int = 0
    created_at: datetime | None = None
    created_by: str = ""


@dataclass(frozen=True)
class CoordinationPolicy:
    """The region's coordination settings (SLUIS_MATCH_* in the service settings).

    The domain default is the plain behaviour (take-over at once, succession without offer,
    no suggestion); the service turns the agreement rules on by default.
    """

    takeover_acceptance: bool = False
    takeover_timeout_days: int = 5  # working days; 0: wait for an answer without timeout
    succession_offer: bool = False
    offer_timeout_days: int = 5
    handover_suggestion: bool = False


PLAIN_POLICY = CoordinationPolicy()


def add_working_days(start: datetime, days: int) -> datetime | None:
    """`days` working days (Monday to Friday, region time) after `start`; None for 0 (no
    timeout). Public holidays are not counted out."""
    if days <= 0:
        return None
    local = start.astimezone(REGION_TZ)
    left = days
    while left:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local


class ChangeKind(Enum):
    CREATED = "created"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    CLOSED = "closed"
    COORDINATOR_CHANGED = "coordinator_changed"
    HANDOVER_REQUESTED = "handover_requested"
    TAKEOVER_REQUESTED = "takeover_requested"
    TAKEOVER_DECLINED = "takeover_declined"
    HANDOVER_DECLINED = "handover_declined"


# Changes that announce somebody's entry into a match: these may be merged while unsent.
ENTRY_KINDS = frozenset({ChangeKind.CREATED, ChangeKind.MEMBER_JOINED})


@dataclass(frozen=True)
class Change:
    """One notifiable change of a match: becomes one MatchEvent."""

    kind: ChangeKind
    match: Match
    subject: Contact | None
    recipients: tuple[Contact, ...]
    # What else happened in the same change, so that each recipient gets one notice.
    joined: tuple[Contact, ...] = ()
    left: tuple[Contact, ...] = ()
    new_coordinator: Contact | None = None
    offered: bool = False
    suggested: Contact | None = None


@dataclass(frozen=True)
class Decision:
    """The match after a group of signal changes (None: there was and is no open match)."""

    before: Match | None
    after: Match | None
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return self.before != self.after


def earliest_active_per_professional(
    involvements: Iterable[Involvement], exclude: str = ""
) -> list[Involvement]:
    """Each professional's earliest active involvement (one active signal per person is the
    rule; this keeps the answer defined if a rotation briefly left two)."""
    earliest: dict[str, Involvement] = {}
    for inv in involvements:
        if not inv.active or inv.professional_id == exclude:
            continue
        seen = earliest.get(inv.professional_id)
        if seen is None or (inv.registered_at, inv.signal_id) < (seen.registered_at, seen.signal_id):
            earliest[inv.professional_id] = inv
    return list(earliest.values())


def active_members(
    involvements: Iterable[Involvement], previous: Match | None, now: datetime
) -> list[Member]:
    """One member per professional with an active involvement (earliest signal), oldest first."""
    members = []
    for inv in earliest_active_per_professional(involvements):
        old = previous.member(inv.professional_id) if previous is not None else None
        members.append(
            Member(
                contact=inv.contact,
                signal_id=inv.signal_id,
                may_coordinate=inv.may_coordinate,
                domains=inv.domains,
                registered_at=inv.registered_at,
                joined_at=old.joined_at if old is not None else now,
            )
        )
    members.sort(key=_seniority)
    return members


def _seniority(m: Member) -> tuple[datetime, str]:
    return (m.registered_at, m.professional_id)


def organisations(members: Iterable[Member]) -> set[str]:
    return {m.organisation_id for m in members}


def is_match(members: Iterable[Member]) -> bool:
    """Professionals of at least two different organisations: the matching rule."""
    return len(organisations(members)) >= 2


def choose_coordinator(members: Sequence[Member], rules: CoordinatorRules) -> Member:
    """The coordinator by the region's rules (see the module docstring); members non-empty."""
    ordered = sorted(members, key=_seniority)
    candidates = [m for m in ordered if m.may_coordinate]
    if not candidates:
        return ordered[0]
    for organisation in rules.organisation_priority:
        for m in candidates:
            if m.organisation_id == organisation:
                return m
    for domain in rules.domain_priority:
        for m in candidates:
            if domain in m.domains:
                return m
    return candidates[0]


def _rank(m: Member, rules: CoordinatorRules) -> tuple[int, int]:
    """How the regional rule ranks a member (lower is preferred); seniority not counted."""
    if not m.may_coordinate:
        return (len(rules.organisation_priority) + 1, len(rules.domain_priority) + 1)
    org = (
        rules.organisation_priority.index(m.organisation_id)
        if m.organisation_id in rules.organisation_priority
        else len(rules.organisation_priority)
    )
    dom = min(
        (rules.domain_priority.index(d) for d in m.domains if d in rules.domain_priority),
        default=len(rules.domain_priority),
    )
    return (org, dom)


def preferred_newcomer(
    members: Sequence[Member], joined: Sequence[Member], coordinator_id: str, rules: CoordinatorRules
) -> Member | None:
    """A newcomer the regional rule ranks above the sitting coordinator (the rule would have
    chosen them): the coordinator and they are told a hand-over is suggested."""
    coordinator = next((m for m in members if m.professional_id == coordinator_id), None)
    if coordinator is None or not joined:
        return None
    best = choose_coordinator(members, rules)
    if best.professional_id == coordinator_id or best not in joined:
        return None
    return best if _rank(best, rules) < _rank(coordinator, rules) else None


def successor(members: Sequence[Member], rules: CoordinatorRules, declined: Sequence[str] = ()) -> Member:
    """The next coordinator by the rules, passing over members who declined the role (unless
    everybody declined: a match must always have one contact point)."""
    willing = [m for m in members if m.professional_id not in declined]
    return choose_coordinator(willing or list(members), rules)


def decide(
    involvements: Sequence[Involvement],
    before: Match | None,
    rules: CoordinatorRules,
    *,
    pseudonym: str,
    now: datetime,
    new_match_id: str,
    policy: CoordinationPolicy = PLAIN_POLICY,
) -> Decision:
    """The open match of one person after their involvements changed, and what to notify.

    `before` is the open match before the changes (or None). `new_match_id` is used only
    when a match is created (after a closed match a person gets a new match, new id).
    """
    members = active_members(involvements, before, now)
    if before is None:
        if not is_match(members):
            return Decision(None, None)
        coordinator = choose_coordinator(members, rules)
        created = Match(
            match_id=new_match_id,
            pseudonym=pseudonym,
            status=MatchStatus.OPEN,
            members=tuple(members),
            coordinator_id=coordinator.professional_id,
            pending_coordinator_id="",
            created_at=now,
        )
        everyone = tuple(m.contact for m in members)
        return Decision(None, created, (Change(ChangeKind.CREATED, created, coordinator.contact, everyone),))

    if not is_match(members):
        closed = replace(
            before,
            status=MatchStatus.CLOSED,
            members=tuple(members),
            pending_coordinator_id="",
            closed_at=now,
        )
        was_members = tuple(m.contact for m in before.members)
        return Decision(before, closed, (Change(ChangeKind.CLOSED, closed, None, was_members),))

    current_ids = {m.professional_id for m in members}
    before_ids = {m.professional_id for m in before.members}
    joined = [m for m in members if m.professional_id not in before_ids]
    left = [m for m in before.members if m.professional_id not in current_ids]
    after = replace(before, members=tuple(members))
    new_coordinator: Contact | None = None
    if before.coordinator_id not in current_ids:
        # Succession: the next by the rules; with the offer rule they hold the role while they
        # accept or decline (a match always has one contact point).
        chosen = successor(members, rules)
        new_coordinator = chosen.contact
        after = replace(
            after,
            coordinator_id=chosen.professional_id,
            offered=policy.succession_offer,
            offer_due=add_working_days(now, policy.offer_timeout_days) if policy.succession_offer else None,
            declined=(),
            takeover_id="",
            takeover_due=None,
        )
    if after.pending_coordinator_id not in current_ids or new_coordinator is not None:
        after = replace(after, pending_coordinator_id="")
    if after.takeover_id and after.takeover_id not in current_ids:
        after = replace(after, takeover_id="", takeover_due=None)
    suggested = None
    if policy.handover_suggestion and new_coordinator is None:
        preferred = preferred_newcomer(members, joined, after.coordinator_id, rules)
        suggested = preferred.contact if preferred is not None else None
    # One notice per recipient: the newcomers and those who stayed get one MEMBER_JOINED (that
    # also says who left and who coordinates now); those who left only their own short notice.
    changes: list[Change] = []
    stayed = tuple(m.contact for m in members if m.professional_id in before_ids)
    leavers = tuple(m.contact for m in left)
    told = Change(
        ChangeKind.MEMBER_LEFT,
        after,
        left[0].contact if left else None,
        leavers + stayed,
        joined=tuple(m.contact for m in joined),
        left=leavers,
        new_coordinator=new_coordinator,
        offered=after.offered and new_coordinator is not None,
    )
    if joined:
        newcomers = tuple(m.contact for m in joined)
        changes.append(
            replace(
                told,
                kind=ChangeKind.MEMBER_JOINED,
                subject=joined[0].contact,
                recipients=newcomers + stayed,
                suggested=suggested,
            )
        )
        if left:
            changes.append(Change(ChangeKind.MEMBER_LEFT, after, left[0].contact, leavers, left=leavers))
    elif left:
        changes.append(told)
    if after == before:
        return Decision(before, before)
    return Decision(before, after, tuple(changes))


def validate_rules(organisation_priority: Sequence[str], domain_priority: Sequence[str]) -> None:
    """Regional coordinator rules: non-empty ids, no duplicates, known domains only."""
    if any(not o.strip() for o in organisation_priority):
        raise InvalidArgument(
            "empty_organisation_id", "Een organisatie in de prioriteitenlijst heeft geen id."
        )
    if len(set(organisation_priority)) != len(organisation_priority):
        raise InvalidArgument(
            "duplicate_organisation", "Een organisatie staat meer dan eens in de prioriteitenlijst."
        )
    if any(not d.strip() for d in domain_priority):
        raise InvalidArgument("empty_domain", "Een domein in de prioriteitenlijst is leeg.")
    if len(set(domain_priority)) != len(domain_priority):
        raise InvalidArgument("duplicate_domain", "Een domein staat meer dan eens in de prioriteitenlijst.")
    unknown = [d for d in domain_priority if d not in DOMAINS]
    if unknown:
        raise InvalidArgument(
            "unknown_domain",
            "Onbekend domein in de prioriteitenlijst. Toegestaan: " + ", ".join(sorted(DOMAINS)) + ".",
        )


def own_active_involvement(involvements: Iterable[Involvement], professional_id: str) -> Involvement | None:
    """The professional's active signal on the person (None: they have none, or no id given)."""
    if not professional_id:
        return None
    return next((inv for inv in involvements if inv.active and inv.professional_id == professional_id), None)


def can_see(involvements: Iterable[Involvement], professional_id: str) -> bool:
    """Only a professional with an active signal on the person sees who else is involved."""
    return own_active_involvement(involvements, professional_id) is not None


def viewing_member(
    match: Match | None, involvements: Iterable[Involvement], professional_id: str
) -> Member | None:
    """The professional as a member of the match, if they may see it: a member who still has
    an active signal on the person. None is answered as "not found", like an unknown match."""
    if match is None or not professional_id:
        return None
    member = match.member(professional_id)
    return member if member is not None and can_see(involvements, professional_id) else None


def others_involved(
    involvements: Iterable[Involvement], match: Match | None, professional_id: str
) -> list[Member]:
    """The other professionals with an active signal on the person, oldest signal first.

    Members of the open match carry the moment they joined it; anybody else (a colleague of
    the same organisation while there is no match) the moment they signalled.
    """
    out = []
    for inv in earliest_active_per_professional(involvements, exclude=professional_id):
        member = match.member(inv.professional_id) if match is not None else None
        out.append(
            Member(
                contact=inv.contact,
                signal_id=inv.signal_id,
                may_coordinate=inv.may_coordinate,
                domains=inv.domains,
                registered_at=inv.registered_at,
                joined_at=member.joined_at if member is not None else inv.registered_at,
            )
        )
    out.sort(key=_seniority)
    return out


@dataclass(frozen=True)
class PersonUpdates:
    """The fresh (not yet processed) updates of one person in a batch."""

    pseudonym: str
    updates: tuple[SignalUpdate, ...]
    bulk: bool  # every event of the person came from a bulk load


@dataclass
class GroupOutcome:
    """What a batch of updates does to a group of persons (see `decide_group`)."""

    changed: list[Involvement] = field(default_factory=list)
    decisions: list[tuple[Decision, bool]] = field(default_factory=list)  # (decision, bulk)
    applied: int = 0
    stale: int = 0


def decide_group(
    persons: Sequence[PersonUpdates],
    involvements: Mapping[str, dict[str, Involvement]],
    open_matches: Mapping[str, Match],
    rules: CoordinatorRules,
    *,
    now: datetime,
    new_match_id: Callable[[], str],
    policy: CoordinationPolicy = PLAIN_POLICY,
) -> GroupOutcome:
    """Apply each person's updates and decide their match; persons in pseudonym order.

    `involvements` (per person, keyed by signal id) is updated in place. A person whose
    updates were all stale gets no decision.
    """
    out = GroupOutcome()
    touched: list[str] = []
    for person in persons:
        new, stale = apply_updates(involvements[person.pseudonym], person.updates)
        out.applied += len(person.updates) - stale
        out.stale += stale
        if new:
            out.changed += new
            touched.append(person.pseudonym)
    bulk = {p.pseudonym: p.bulk for p in persons}
    for pseudonym in sorted(touched):
        decision = decide(
            list(involvements[pseudonym].values()),
            open_matches.get(pseudonym),
            rules,
            pseudonym=pseudonym,
            now=now,
            new_match_id=new_match_id(),
            policy=policy,
        )
        out.decisions.append((decision, bulk[pseudonym]))
    return out
