"""Matches of the calling professional, the coordinator actions, and the inbox."""

from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb
from sluis.signal.v1 import signal_pb2 as spb

from services.gateway import domain
from services.gateway.usecases import (
    call,
    gateway,
    item_not_found,
    match_not_found,
    page_of,
    professional_id,
    signals,
)

OPEN = mpb.MATCH_STATUS_OPEN


def page(number: int, size: int, purpose: str, signal_id: str = "") -> tuple[list[mpb.Match], bool]:
    """One page of the caller's open matches; match logs each disclosure with `purpose` (the
    channel). With `signal_id` only the match of that own signal (an unknown or somebody
    else's signal is the one 404 for signals)."""
    b = gateway().backends
    pid = professional_id()
    if signal_id:
        signals.own(signal_id)
    resp, has_next = page_of(
        lambda t: call(
            b.match.ListMatches,
            mpb.ListMatchesRequest(
                professional_id=pid, page_size=size, page_token=t, signal_id=signal_id, purpose=purpose
            ),
        ),
        number,
    )
    return ([] if resp is None else list(resp.matches)), has_next


def own_signals(found: list[mpb.Match]) -> dict[str, spb.Signal]:
    """Per match id, the caller's own signal in it (issue 17: which client it is about)."""
    mine = signals.own_by_id([m.own_signal_id for m in found])
    return {m.match_id: mine[m.own_signal_id] for m in found if m.own_signal_id in mine}


def own_signal(match: mpb.Match) -> spb.Signal | None:
    return own_signals([match]).get(match.match_id)


def _match_id(match_id: str) -> str:
    if not domain.is_path_id(match_id):
        raise match_not_found()
    return match_id


def get(match_id: str, purpose: str) -> mpb.Match:
    """One of the caller's matches (the read is logged by match with `purpose`)."""
    resp = call(
        gateway().backends.match.GetMatch,
        mpb.GetMatchRequest(match_id=_match_id(match_id), professional_id=professional_id(), purpose=purpose),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


def take_coordinator(match_id: str) -> mpb.Match:
    resp = call(
        gateway().backends.match.TakeCoordinator,
        mpb.TakeCoordinatorRequest(match_id=_match_id(match_id), professional_id=professional_id()),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


def hand_over(match_id: str, to_professional_id: str) -> mpb.Match:
    resp = call(
        gateway().backends.match.HandOverCoordinator,
        mpb.HandOverCoordinatorRequest(
            match_id=_match_id(match_id),
            professional_id=professional_id(),
            to_professional_id=to_professional_id,
        ),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


def accept_coordinator(match_id: str) -> mpb.Match:
    resp = call(
        gateway().backends.match.AcceptCoordinator,
        mpb.AcceptCoordinatorRequest(match_id=_match_id(match_id), professional_id=professional_id()),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


def decline_coordinator(match_id: str) -> mpb.Match:
    resp = call(
        gateway().backends.match.DeclineCoordinator,
        mpb.DeclineCoordinatorRequest(match_id=_match_id(match_id), professional_id=professional_id()),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


def respond_takeover(match_id: str, *, accept: bool) -> mpb.Match:
    resp = call(
        gateway().backends.match.RespondTakeover,
        mpb.RespondTakeoverRequest(
            match_id=_match_id(match_id), professional_id=professional_id(), accept=accept
        ),
        match_not_found(),
    )
    match: mpb.Match = resp.match
    return match


# -- inbox -------------------------------------------------------------------------------------


def inbox_page(unread_only: bool, number: int, size: int) -> tuple[npb.ListInboxResponse | None, bool]:
    """One page of the caller's inbox (None past the end) and whether there is a next one."""
    b = gateway().backends
    pid = professional_id()
    resp, has_next = page_of(
        lambda t: call(
            b.notify.ListInbox,
            npb.ListInboxRequest(professional_id=pid, unread_only=unread_only, page_size=size, page_token=t),
        ),
        number,
    )
    return resp, has_next


def read_item(item_id: str) -> npb.InboxItem:
    if not domain.is_path_id(item_id):
        raise item_not_found()
    resp = call(
        gateway().backends.notify.MarkInboxItemRead,
        npb.MarkInboxItemReadRequest(professional_id=professional_id(), item_id=item_id),
        item_not_found(),
    )
    item: npb.InboxItem = resp.item
    # An item about a match the caller can no longer open is answered as unknown.
    if item.match_id and not visible_matches([item.match_id]):
        raise item_not_found()
    return item


def visible_matches(match_ids: list[str]) -> dict[str, str]:
    """Which of these matches the caller may still open (their signal on the person is
    active), each with the caller's own signal in it."""
    if not match_ids:
        return {}
    resp = call(
        gateway().backends.match.FilterVisibleMatches,
        mpb.FilterVisibleMatchesRequest(professional_id=professional_id(), match_ids=match_ids),
    )
    return {v.match_id: v.own_signal_id for v in resp.visible}


def inbox_view(items: list[npb.InboxItem]) -> list[tuple[npb.InboxItem, bool, spb.Signal | None]]:
    """Each item with whether what it tells about is still available to the caller, and the
    caller's own signal it is about (through the match, or the item's own signal)."""
    visible = visible_matches(sorted({i.match_id for i in items if i.match_id}))

    def signal_of(item: npb.InboxItem) -> str:
        return visible.get(item.match_id, "") if item.match_id else item.signal_id

    mine = signals.own_by_id([signal_of(i) for i in items])
    return [(i, not i.match_id or i.match_id in visible, mine.get(signal_of(i))) for i in items]


# -- notification preferences ------------------------------------------------------------------

DIGESTS = {npb.DIGEST_IMMEDIATE: "immediate", npb.DIGEST_DAILY: "daily"}


def digest() -> str:
    """The caller's choice: a mail per notification ("immediate") or one a day ("daily")."""
    resp = call(
        gateway().backends.notify.GetPreferences, npb.GetPreferencesRequest(professional_id=professional_id())
    )
    return DIGESTS.get(resp.preferences.digest, "immediate")


def set_digest(choice: str) -> str:
    value = {v: k for k, v in DIGESTS.items()}[choice]
    resp = call(
        gateway().backends.notify.SetPreferences,
        npb.SetPreferencesRequest(
            preferences=npb.Preferences(professional_id=professional_id(), digest=value)
        ),
    )
    return DIGESTS.get(resp.preferences.digest, "immediate")
