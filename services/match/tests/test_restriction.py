"""Issue 16: a restricted signal (AVG art. 18) is not disclosed: match treats it as not active,
whatever the kind of event, until the restriction is lifted."""

from datetime import UTC, datetime

import pytest
from sluis.signal.v1 import signal_pb2

from services.common.clock import FrozenClock
from services.match import convert, domain


def event(kind: "signal_pb2.SignalEventKind.ValueType", restricted: bool) -> signal_pb2.SignalEvent:
    ev = signal_pb2.SignalEvent(
        event_id="e1", kind=kind, signal_id="s1", signal_version=3, pseudonym="1.p", restricted=restricted
    )
    ev.professional.professional_id = "prof-1"
    ev.professional.organisation_id = "org-1"
    return ev


@pytest.mark.parametrize(
    ("kind", "restricted", "change"),
    [
        (signal_pb2.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED, True, domain.SignalChange.INACTIVE),
        (signal_pb2.SIGNAL_EVENT_KIND_RESTRICTION_CHANGED, False, domain.SignalChange.ACTIVE),
        (signal_pb2.SIGNAL_EVENT_KIND_RENEWED, True, domain.SignalChange.INACTIVE),
        (signal_pb2.SIGNAL_EVENT_KIND_TRANSFERRED, True, domain.SignalChange.INACTIVE),
        (signal_pb2.SIGNAL_EVENT_KIND_RENEWED, False, domain.SignalChange.ACTIVE),
        (signal_pb2.SIGNAL_EVENT_KIND_DELETED, True, domain.SignalChange.DELETED),
    ],
)
def test_a_restricted_signal_counts_as_not_active(
    kind: "signal_pb2.SignalEventKind.ValueType", restricted: bool, change: domain.SignalChange
) -> None:
    update = convert.update_from_event(event(kind, restricted), FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert update is not None and update.change is change
