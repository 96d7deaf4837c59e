"""Per-domain rate limit (in-process and in Redis) with progress visible in the statistics."""

import time
import uuid

import pytest
import redis
from sluis.notify.v1 import notify_pb2 as pb

from services.notify.tests.helpers import contact, match_event, wait_for


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
def test_bulk_load_is_paced_per_domain_and_progress_is_visible(
    start_notify, smtp_server, mailbox, request, shared
) -> None:
    overrides: dict[str, object] = {"domain_rate": 10.0, "domain_burst": 2.0, "batch_size": 5}
    if shared:
        overrides["redis_url"] = request.getfixturevalue("redis_server").url
    notify = start_notify(smtp_server.port, **overrides)
    bulk = f"bulk-{uuid.uuid4().hex[:8]}.example"
    other = f"other-{uuid.uuid4().hex[:8]}.example"
    events = [match_event([contact(2 * n, domain=bulk), contact(2 * n + 1, domain=bulk)]) for n in range(10)]
    started = time.monotonic()
    notify.stub.ApplyMatchEvents(pb.ApplyMatchEventsRequest(events=events), timeout=5)
    notify.stub.ApplyMatchEvents(
        pb.ApplyMatchEventsRequest(
            events=[match_event([contact(100, domain=other), contact(101, domain=other)])]
        ),
        timeout=5,
    )

    # progress: part sent, part still waiting, visible to operators
    wait_for(
        lambda: (
            notify.stats().get(("email", "sent"), 0) > 0 and notify.stats().get(("email", "queued"), 0) > 0
        )
    )
    # another domain is not held up behind the bulk load
    wait_for(lambda: len([m for m in mailbox.mails() if other in m.to]) == 2)
    assert len([m for m in mailbox.mails() if bulk in m.to]) < 20

    wait_for(lambda: notify.stats().get(("email", "sent")) == 22, timeout=20)
    elapsed = time.monotonic() - started
    assert elapsed >= (20 - 2) / 10.0 * 0.8  # burst 2, then 10 per second
    assert mailbox.received == 22
    if shared:
        client = redis.Redis.from_url(overrides["redis_url"])  # type: ignore[arg-type]
        assert client.exists(f"sluis:notify:bucket:{bulk}")


def test_mail_still_flows_when_redis_is_away(start_notify, smtp_server, mailbox) -> None:
    from devstack.redis import free_port

    notify = start_notify(smtp_server.port, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    notify.stub.ApplyMatchEvents(
        pb.ApplyMatchEventsRequest(events=[match_event([contact(1), contact(2)])]), timeout=5
    )
    wait_for(lambda: len(mailbox.mails()) == 2)
