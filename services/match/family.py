"""Family matches (issue 18): the rules, as pure functions over involvements.

A *family* here is one parent and their minor children (BRP ouders, derived by identity as
pseudonyms; see docs/adr/0003-brp-link.md). Its *anchor* is the parent's pseudonym; a match
of kind `family` keeps it in `Match.pseudonym`. A family match exists while professionals of
two or more organisations have active signals on DIFFERENT members of the family (a minor
and the parent, or minors who share the parent). Signals of several organisations on one
person alone make a person match, not a family match.

Two families often hold the same signals (siblings with both parents known, neither parent
signalled): a family whose signals all belong to another candidate family as well is left
out (ties: the lower anchor stays), so professionals get one family match, not two alike.

Everything else (members, coordinator, notifications, lifecycle, erasure) is a person
match's rule, reused through `domain.decide` on the family's involvements. What members see
is the same too: contact details, and that the match is about a family (the kind); which
member of the family each signal is on is never part of a match (`Member` has no person).
A child leaves on their 18th birthday: `decide_families` with a later `today` (the refresh
job) drops them.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from services.match import domain

PERSON = "person"
FAMILY = "family"


def is_minor_child(inv: domain.Involvement, anchor: str, today: date) -> bool:
    """The involvement is on a child of `anchor` who is not yet 18 on `today`."""
    return anchor in inv.parent_pseudonyms and inv.adult_on is not None and today < inv.adult_on


def in_family(inv: domain.Involvement, anchor: str, today: date) -> bool:
    """An active signal on the parent `anchor` or on one of their minor children."""
    return inv.active and (inv.pseudonym == anchor or is_minor_child(inv, anchor, today))


def family_involvements(
    involvements: Iterable[domain.Involvement], anchor: str, today: date
) -> list[domain.Involvement]:
    return [inv for inv in involvements if in_family(inv, anchor, today)]


def qualifies(involvements: Sequence[domain.Involvement]) -> bool:
    """Two organisations with signals on different members of the family."""
    seen: dict[str, set[str]] = {}  # organisation -> persons it signalled
    for inv in involvements:
        seen.setdefault(inv.organisation_id, set()).add(inv.pseudonym)
    orgs = list(seen.items())
    for i, (_, persons_a) in enumerate(orgs):
        for _, persons_b in orgs[i + 1 :]:
            if len(persons_a | persons_b) >= 2:
                return True
    return False


def anchors_of(involvements: Iterable[domain.Involvement]) -> set[str]:
    """Every family an involvement can belong to: its own person's, and its parents'."""
    out: set[str] = set()
    for inv in involvements:
        out.add(inv.pseudonym)
        out.update(inv.parent_pseudonyms)
    return out


def counting_families(
    anchors: Iterable[str], involvements: Sequence[domain.Involvement], today: date
) -> dict[str, list[domain.Involvement]]:
    """The families (by anchor) that make a family match, with their involvements.

    `involvements` must hold every involvement of these families and of the families that
    share a child with them (the store loads those), or subsumption is judged on too little.
    """
    candidates: dict[str, list[domain.Involvement]] = {}
    for anchor in anchors_of(involvements):
        members = family_involvements(involvements, anchor, today)
        if qualifies(members):
            candidates[anchor] = members
    signals = {a: frozenset(i.signal_id for i in m) for a, m in candidates.items()}

    def subsumed(anchor: str) -> bool:
        mine = signals[anchor]
        return any(
            other != anchor and mine <= theirs and (mine != theirs or other < anchor)
            for other, theirs in signals.items()
        )

    wanted = set(anchors)
    return {a: m for a, m in candidates.items() if a in wanted and not subsumed(a)}


def as_family(decision: domain.Decision) -> domain.Decision:
    """A decision of `domain.decide` about a family: the match (and its changes) kind family."""
    after = decision.after
    if after is None or after.kind == FAMILY:
        return decision
    after = replace(after, kind=FAMILY)
    return domain.Decision(decision.before, after, tuple(replace(c, match=after) for c in decision.changes))


def decide_families(
    anchors: Iterable[str],
    involvements: Sequence[domain.Involvement],
    open_matches: Mapping[str, domain.Match],
    rules: domain.CoordinatorRules,
    *,
    now: datetime,
    today: date,
    new_match_id: Callable[[], str],
    allow_new: bool = True,
) -> list[domain.Decision]:
    """The family match of each anchor after a change (opened, updated, closed or none).

    `open_matches` are the open family matches by anchor. A family that no longer counts
    (a member left, a child turned 18, another family now covers it) is closed as a person
    match is closed when fewer than two organisations remain. `allow_new` False (family
    matches switched off in the region): open ones live on by the rules, none is created.
    """
    anchors = sorted(set(anchors))
    counting = counting_families(anchors, involvements, today)
    current = dict(open_matches)
    moves = reanchor(current, counting, involvements, today)
    decisions = []
    for anchor in anchors:
        if not allow_new and anchor not in current:
            continue
        decision = domain.decide(
            counting.get(anchor, []),
            current.get(anchor),
            rules,
            pseudonym=anchor,
            now=now,
            new_match_id=new_match_id(),
        )
        if decision.changed or anchor in moves:
            decisions.append(as_family(decision))
    return decisions


def reanchor(
    current: dict[str, domain.Match],
    counting: Mapping[str, Sequence[domain.Involvement]],
    involvements: Sequence[domain.Involvement],
    today: date,
) -> set[str]:
    """Keep an open family match when a bigger family takes it over (a parent is signalled
    too): it moves to the new anchor (same id; the newcomers join) instead of closing while
    a new one opens. Updates `current` in place; returns the anchors that received a match."""
    moved: set[str] = set()
    for anchor in sorted(counting):
        if anchor in current:
            continue
        theirs = {i.signal_id for i in counting[anchor]}
        for old in sorted(current):
            if old in counting:
                continue
            mine = {i.signal_id for i in family_involvements(involvements, old, today)}
            if mine and mine <= theirs:
                current[anchor] = replace(current.pop(old), pseudonym=anchor)
                moved.add(anchor)
                break
    return moved
