"""Issue 18/19: a move out of the region reaches the peer region that has the person too.

Rotterdam has the local BRP (devstack/brp.py: 999990093 moves from Rotterdam, 0599, to Ede,
0228, in Gelderland-Midden); Gelderland-Midden registers without a BRP link (unverified).
"""

from collections.abc import Iterator
from functools import partial

import grpc
import pytest
from sluis.signal.v1 import signal_pb2, signal_pb2_grpc

from devstack.federation import Federation, running_with_demo
from tests.helpers import wait_until
from tests.test_federation import GELDERLAND, ROTTERDAM, api, cross_with, processing_log, pros, signal

MOVER, BORN = "999990093", "1990-04-12"


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    with running_with_demo(brp_regions=(ROTTERDAM,)) as fed:
        yield fed


def test_a_move_out_of_rotterdam_reaches_gelderland_midden(federation: Federation) -> None:
    rdam, gm = federation.regions[ROTTERDAM], federation.regions[GELDERLAND]
    r_api, g_api = api(rdam, 0), api(gm, 0)
    signal(r_api, MOVER, BORN)
    signal(g_api, MOVER, BORN)
    wait_until(partial(cross_with, g_api, pros(rdam, 0)["email"]))
    assert rdam.brp_server is not None
    rdam.brp_server.app.move(MOVER, "0228")  # Rotterdam -> Ede
    with grpc.insecure_channel(rdam.address("signal")) as channel:
        counts = signal_pb2_grpc.SignalServiceStub(channel).RecheckPeople(
            signal_pb2.RecheckPeopleRequest(), timeout=60
        )
    assert counts.moved_out == 1

    def told(p: object, name: str) -> list[dict[str, str]]:
        return [dict(x.attributes) for x in processing_log(p, MOVER) if x.name == name]  # type: ignore[arg-type]

    received = wait_until(lambda: told(gm, "federation.move_received"))
    assert received[0]["sluis.municipality_code"] == "0228"
    assert received[0]["sluis.peer_region"] == ROTTERDAM
    assert told(rdam, "federation.move_sent")
    # The signals stay active on both sides: the cross-region match stays open.
    assert cross_with(g_api, pros(rdam, 0)["email"]) is not None
