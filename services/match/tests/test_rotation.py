"""Key rotation in the match service, against a real identity service: events in flight with
the old key still reach the person's match, reads convert, the batch converts the rest."""

import asyncio
import base64
import time
from collections.abc import Sequence

import grpc
import psycopg
import pytest
from sluis.identity.v1 import identity_pb2 as ipb
from sluis.identity.v1 import identity_pb2_grpc as ipb_grpc
from sluis.match.v1 import match_pb2 as pb
from sluis.match.v1 import match_pb2_grpc as pb_grpc

from services.common.errors import from_rpc_error
from services.common.rekey import PseudonymRekeyer, Resolved
from services.identity.server import MIGRATIONS as IDENTITY_MIGRATIONS
from services.identity.server import IdentitySettings
from services.identity.server import create_service as create_identity
from services.identity.store import initialise_keys
from services.match.server import MIGRATIONS, MatchSettings, create_service
from services.match.tests.fakes import RecordingNotify
from services.match.tests.helpers import event

KEK = base64.b64encode(b"m" * 32).decode()
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


class NoStore:
    async def old_version_batch(self, version: int, limit: int) -> list[str]:
        return []

    async def replace(self, mapping: dict[str, str]) -> int:
        return 0

    async def count_version(self, version: int) -> int:
        return 0


class CountingRekeyer(PseudonymRekeyer):
    """Counts the calls to identity the rekeyer makes."""

    fetches = 0
    rekeys = 0

    async def _fetch(self) -> None:
        self.fetches += 1
        await super()._fetch()

    async def _rekey(self, view, pseudonyms: Sequence[str], *, include_previous: bool):
        self.rekeys += 1
        return await super()._rekey(view, pseudonyms, include_previous=include_previous)


def test_no_call_to_identity_per_request_without_a_rotation(identity) -> None:
    with grpc.insecure_channel(identity.address) as channel:
        p = ipb_grpc.IdentityServiceStub(channel).Pseudonymise(
            ipb.PseudonymiseRequest(bsn=BSNS[0]), timeout=5
        )

    async def scenario() -> tuple[int, int, list[Resolved]]:
        rekeyer = CountingRekeyer(identity.address, NoStore(), ttl=60)
        try:
            for _ in range(200):
                out = await rekeyer.resolve([p.pseudonym])
            return rekeyer.fetches, rekeyer.rekeys, out
        finally:
            await rekeyer.close()

    fetches, rekeys, out = asyncio.run(scenario())
    assert (fetches, rekeys) == (1, 0)  # one look at the rotation state, cached for `ttl`
    assert out == [Resolved(p.pseudonym)]


def count_old(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM involvements WHERE pseudonym LIKE '1.%')"
            " + (SELECT count(*) FROM matches WHERE pseudonym LIKE '1.%')"
            " + (SELECT count(*) FROM access_log WHERE pseudonym LIKE '1.%')"
        ).fetchone()
    return int(row[0]) if row else -1


def wait(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
    return value


def test_matches_hold_across_a_rotation(identity, new_database, run_service) -> None:
    notify = run_service(RecordingNotify.create().service)
    url = new_database("match", MIGRATIONS)
    settings = MatchSettings(
        region="test",
        database_url=url,
        grpc_listen="127.0.0.1:0",
        notify_addr=notify.address,
        notice_delay_seconds=0,
        identity_addr=identity.address,
        rekey_ttl_seconds=0.3,
        rekey_margin_seconds=0.3,
        rekey_poll_seconds=0.1,
        rekey_batch_size=1,
    )
    match = run_service(lambda: create_service(settings))
    with grpc.insecure_channel(identity.address) as ich, grpc.insecure_channel(match.address) as mch:
        ids = ipb_grpc.IdentityServiceStub(ich)
        stub = pb_grpc.MatchServiceStub(mch)

        def pseudonym(bsn: str) -> str:
            return ids.Pseudonymise(ipb.PseudonymiseRequest(bsn=bsn), timeout=5).pseudonym

        def apply(*events) -> None:
            stub.ApplySignalEvents(pb.ApplySignalEventsRequest(events=list(events)), timeout=10)

        def involvement(p: str, prof: str) -> pb.GetInvolvementResponse:
            return stub.GetInvolvement(
                pb.GetInvolvementRequest(pseudonym=p, professional_id=prof), timeout=10
            )

        old = [pseudonym(b) for b in BSNS]
        for p in old:
            apply(event("a", "A", p), event("b", "B", p))
        before = [involvement(p, "a").match.match_id for p in old]
        assert all(before) and count_old(url) == 3 * (2 + 1)  # reads write the processing log now

        rotation = ids.StartRotation(ipb.StartRotationRequest(), timeout=5).rotation
        wait(lambda: pseudonym(BSNS[0]).startswith("2."))
        new = [pseudonym(b) for b in BSNS]
        # An event still in signal's outbox (old key) and a fresh one (new key) both join.
        apply(event("c", "C", old[0]), event("c", "C", new[1]))
        for i in (0, 1):
            after = involvement(new[i], "c")
            assert after.match.match_id == before[i]
            assert sorted(m.professional.professional_id for m in after.match.members) == ["a", "b", "c"]
        # A read with the old key finds the person too (and converts them).
        assert involvement(old[2], "a").match.match_id == before[2]
        wait(lambda: count_old(url) == 0)

        ids.FinishRotation(ipb.FinishRotationRequest(rotation_id=rotation.rotation_id), timeout=5)
        for i, p in enumerate(new):
            assert involvement(p, "a").match.match_id == before[i]
        # The processing log finds the lines written under the old key through the tag links.
        lines = stub.ListProcessingLog(pb.ListProcessingLogRequest(pseudonym=new[2]), timeout=5).lines
        assert len(lines) >= 3 and {x.attributes["sluis.match_id"] for x in lines} == {before[2]}
        assert {"match.member_joined", "match.involvement"} <= {x.name for x in lines}
        # After the finish the old key is gone: its pseudonyms are refused, not misread.
        with pytest.raises(grpc.RpcError) as refused:
            involvement(old[2], "a")
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert from_rpc_error(refused.value).reason == "pseudonym_key_retired"
