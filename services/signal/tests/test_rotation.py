"""Key rotation in the signal service, against a real identity service: registrations and
reads during a rotation work on the person under the new key, the batch converts the rest."""

import base64
import time
from typing import Any

import grpc
import psycopg
import pytest
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.identity.v1 import identity_pb2_grpc as ipb_grpc
from sluis.signal.v1 import signal_pb2 as pb
from sluis.signal.v1 import signal_pb2_grpc as pb_grpc

from devstack.redis import free_port
from services.common.clock import FrozenClock
from services.identity.server import MIGRATIONS as IDENTITY_MIGRATIONS
from services.identity.server import IdentitySettings
from services.identity.server import create_service as create_identity
from services.identity.store import initialise_keys
from services.signal.server import MIGRATIONS, SignalSettings, create_service
from services.signal.tests.helpers import START, Recorder, reason_of, request, start_fake

KEK = base64.b64encode(b"s" * 32).decode()
BSNS = ("111222333", "123456782", "999999990")


@pytest.fixture
def identity(new_database, run_service):
    settings = IdentitySettings(
        region="test",
        database_url=new_database("identity", IDENTITY_MIGRATIONS),
        grpc_listen="127.0.0.1:0",
        kek=KEK,
        rotation_grace_seconds=1.5,
        key_refresh_seconds=0.2,
    )
    # identity starts only on an initialised key table (`identity init`)
    initialise_keys(settings.database_url, settings.kek_bytes())
    return run_service(lambda: create_identity(settings))


def wait(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return value


def test_signals_follow_the_person_across_a_rotation(identity, new_database, run_service) -> None:
    match, notify = Recorder(), Recorder()
    match_port, notify_port = free_port(), free_port()
    start_fake(run_service, "match", match, match_port)
    start_fake(run_service, "notify", notify, notify_port)
    url = new_database("signal", MIGRATIONS)
    settings = SignalSettings(
        region="test",
        database_url=url,
        grpc_listen="127.0.0.1:0",
        match_addr=f"127.0.0.1:{match_port}",
        notify_addr=f"127.0.0.1:{notify_port}",
        lifecycle_interval_seconds=0,
        identity_addr=identity.address,
        rekey_ttl_seconds=0.3,
        rekey_margin_seconds=0.3,
        rekey_poll_seconds=0.1,
        rekey_batch_size=1,
    )
    svc = run_service(lambda: create_service(settings, clock=FrozenClock(START)))

    def old_rows() -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM signals WHERE pseudonym LIKE '1.%'").fetchone()
        return int(row[0]) if row else -1

    with grpc.insecure_channel(identity.address) as ich, grpc.insecure_channel(svc.address) as sch:
        ids = ipb_grpc.IdentityServiceStub(ich)
        stub = pb_grpc.SignalServiceStub(sch)

        def pseudonym(bsn: str) -> str:
            return ids.Pseudonymise(ipb.PseudonymiseRequest(bsn=bsn), timeout=5).pseudonym

        def on(p: str) -> list[pb.Signal]:
            return list(
                stub.ListSignalsOnPseudonym(pb.ListSignalsOnPseudonymRequest(pseudonym=p), timeout=5).signals
            )

        old = [pseudonym(b) for b in BSNS]
        for p in old:
            stub.RegisterSignal(request(p, professional_id="prof-1"), timeout=5)
        assert old_rows() == 3

        rotation = ids.StartRotation(ipb.StartRotationRequest(), timeout=5).rotation
        wait(lambda: pseudonym(BSNS[0]).startswith("2."))
        new = [pseudonym(b) for b in BSNS]
        # The same professional on the same person under the new key: still one active signal.
        with pytest.raises(grpc.RpcError) as exists:
            stub.RegisterSignal(request(new[0], professional_id="prof-1"), timeout=5)
        assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS
        # Another professional joins the person; the stored signal and the event use the new key.
        joined = stub.RegisterSignal(request(new[0], professional_id="prof-2"), timeout=5).signal
        assert joined.pseudonym == new[0]
        assert match.wait_for(joined.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED).pseudonym == new[0]
        assert {s.pseudonym for s in on(new[0])} == {new[0]}
        # Bulk: a person under the old key (an older client) and one under the new.
        bulk = stub.RegisterSignals(
            pb.RegisterSignalsRequest(
                signals=[request(old[1], professional_id="prof-3"), request(new[2], professional_id="prof-1")]
            ),
            timeout=5,
        ).results
        assert bulk[0].signal.pseudonym == new[1]
        assert bulk[1].reason == "signal_exists"
        # Reads with either key find the person.
        assert len(on(old[1])) == 2 and len(on(new[1])) == 2
        wait(lambda: old_rows() == 0)

        ids.FinishRotation(ipb.FinishRotationRequest(rotation_id=rotation.rotation_id), timeout=5)
        assert len(on(new[2])) == 1
        with pytest.raises(grpc.RpcError) as retired:
            on(old[2])
        assert reason_of(retired.value) == "pseudonym_key_retired"
