"""What proposed coordinator rules would do to the open matches: counts only, no people.

The sitting coordinator keeps the role (domain.choose_coordinator runs only when the role
moves), so the preview compares whom the current and the proposed rules would choose, which
is what changes the next time the role moves and for every new match.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.match import domain


@dataclass(frozen=True)
class Preview:
    open_matches: int
    changed: int
    # organisation id -> (matches it would coordinate now, with the proposal)
    per_organisation: dict[str, tuple[int, int]]


def preview(
    matches: Sequence[domain.Match], current: domain.CoordinatorRules, proposed: domain.CoordinatorRules
) -> Preview:
    now: Counter[str] = Counter()
    then: Counter[str] = Counter()
    changed = counted = 0
    for match in matches:
        if not match.members:
            continue
        counted += 1
        before = domain.choose_coordinator(match.members, current)
        after = domain.choose_coordinator(match.members, proposed)
        now[before.organisation_id] += 1
        then[after.organisation_id] += 1
        changed += before.professional_id != after.professional_id
    organisations = sorted(set(now) | set(then))
    return Preview(counted, changed, {o: (now[o], then[o]) for o in organisations})
