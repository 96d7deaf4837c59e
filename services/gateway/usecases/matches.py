"""Matches of the calling professional, the coordinator actions, and the inbox."""

from sluis.match.v1 import match_pb2 as mpb
from sluis.notify.v1 import notify_pb2 as npb

from services.gateway import domain
from services.gateway.usecases import call, gateway, item_not_found, match_not_found, page_of, professional_id

OPEN = mpb.MATCH_STATUS_OPEN


def page(number: int, size: int, purpose: str) -> tuple[list[mpb.Match], bool]:
    """A page of the caller's matches; match logs each disclosure with `purpose` (the channel)."""
    b = gateway().backends
    pid = professional_id()
    resp, has_next = page_of(
        lambda t: call(
            b.match.ListMatches,
            mpb.ListMatchesRequest(professional_id=pid, page_size=size, page_token=t, purpose=purpose),
        ),
        number,
    )
    return ([] if resp is None else list(resp.matches)), has_next


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


def visible_matches(match_ids: list[str]) -> set[str]:
    """Which of these matches the caller may still open (their signal on the person is active)."""
    if not match_ids:
        return set()
    resp = call(
        gateway().backends.match.FilterVisibleMatches,
        mpb.FilterVisibleMatchesRequest(professional_id=professional_id(), match_ids=match_ids),
    )
    return set(resp.match_ids)


def inbox_view(items: list[npb.InboxItem]) -> list[tuple[npb.InboxItem, bool]]:
    """Each item with whether what it tells about is still available to the caller."""
    visible = visible_matches(sorted({i.match_id for i in items if i.match_id}))
    return [(i, not i.match_id or i.match_id in visible) for i in items]
