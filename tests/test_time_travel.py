"""Issue 12, must-show 2: time travel across signal, match and notify with one injected clock.

The three services run with real gRPC between them and their own PostgreSQL databases, all on
one FrozenClock. Day 0: two organisations signal one person (a match, mails, inbox items,
a read in the access log). Day 731: the lifecycle job archives both signals (the match
closes). Day 731 + 5 years: the signals are purged, erasure reaches match and notify, and the
purge jobs run: no table of any of the three databases holds anything about the person (their
pseudonym, the signals' ids, the professionals' contact details of that match). The
processing log (issue 13) is the one exception while its own retention runs: it keeps the
signals' registration and ending (no pseudonym, no contact details); its purge rules
(services/common/processing_activities.yaml) then remove it as well.
"""

import asyncio
from datetime import datetime, timedelta

import grpc
import psycopg
from sluis.match.v1 import match_pb2, match_pb2_grpc
from sluis.signal.v1 import signal_pb2 as spb
from sluis.signal.v1 import signal_pb2_grpc as spb_grpc
from sluis.types.v1 import types_pb2

from services.common.clock import FrozenClock
from services.common.db import open_pool
from services.common.processing_register import retention_rules
from services.common.retention import Rule, purge
from services.match import retention as match_retention
from services.match.server import MIGRATIONS as MATCH_MIGRATIONS
from services.notify import retention as notify_retention
from services.notify.server import MIGRATIONS as NOTIFY_MIGRATIONS
from services.signal.server import MIGRATIONS as SIGNAL_MIGRATIONS
from services.signal.tests.helpers import START, request
from tests.helpers import wait_until
from tests.inprocess import start_back_ends
from tests.test_forget import findings, in_processing_log

DAY = timedelta(days=1)
PERSON = "1.time-travel-person"


def professional(n: int) -> types_pb2.ProfessionalContact:
    return types_pb2.ProfessionalContact(
        professional_id=f"tt-prof-{n}",
        name=f"Tijdreiziger Nummer{n}",
        role="wijkcoach",
        phone=f"06-9999000{n}",
        email=f"tijdreiziger{n}@wijkteam.example",
        organisation_id=f"tt-org-{n}",
        organisation_name=f"Wijkteam {n}",
    )


class Databases:
    def __init__(self, urls: dict[str, str]) -> None:
        self.database_urls = urls


def notify_lines(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM processing_log").fetchone()
    return int(row[0]) if row else 0


def run_purge(url: str, service: str, rules: tuple[Rule, ...], now: datetime) -> None:
    async def go() -> None:
        pool = await open_pool(url, name=service, max_size=2)
        try:
            await purge(pool, service, rules, now)
        finally:
            await pool.close()

    asyncio.run(go())


def test_day_0_to_731_to_five_years_later(new_database, run_service, smtp_server, mailbox) -> None:
    clock = FrozenClock(START)
    urls = {
        "signal": new_database("signal", SIGNAL_MIGRATIONS),
        "match": new_database("match", MATCH_MIGRATIONS),
        "notify": new_database("notify", NOTIFY_MIGRATIONS),
    }
    started = start_back_ends(run_service, urls, clock, smtp_server.port)
    signal, match = started["signal"], started["match"]
    with grpc.insecure_channel(signal.address) as sch, grpc.insecure_channel(match.address) as mch:
        signals, matches = spb_grpc.SignalServiceStub(sch), match_pb2_grpc.MatchServiceStub(mch)
        # Day 0: two organisations, one person: a match, mails and an access-log read.
        ids = []
        for n in (1, 2):
            req = request(PERSON, professional_id=f"tt-prof-{n}", organisation_id=f"tt-org-{n}")
            req.professional.CopyFrom(professional(n))
            ids.append(signals.RegisterSignal(req, timeout=10).signal.signal_id)
        wait_until(lambda: len(mailbox.mails()) >= 2)
        # Notify logs both mails (day 0) under the person; its log's retention runs below.
        wait_until(lambda: notify_lines(urls["notify"]) == 4)  # an inbox item and a mail each
        seen = matches.GetInvolvement(
            match_pb2.GetInvolvementRequest(pseudonym=PERSON, professional_id="tt-prof-1", purpose="portal"),
            timeout=10,
        )
        assert seen.HasField("match")
        databases = Databases(urls)
        needles = [PERSON, *ids, *[v for n in (1, 2) for v in (professional(n).name, professional(n).email)]]
        assert findings(databases, needles)

        # Day 731: both archived (kept 5 years); the match closes, the signals still exist.
        clock.set(START + 731 * DAY)
        assert signals.RunLifecycle(spb.RunLifecycleRequest(), timeout=30).expired == 2
        wait_until(lambda: not findings(databases, ["open"], lambda s, t, r: t != "matches"))
        assert findings(databases, ids)

        # Day 731 + 5 years: purged, erased everywhere, purge jobs run.
        clock.set(START + (731 + 5 * 365 + 1) * DAY)
        assert signals.RunLifecycle(spb.RunLifecycleRequest(), timeout=30).purged == 2
        wait_until(lambda: not findings(databases, ids, in_processing_log), timeout=60)
        kept = findings(databases, ids)
        assert kept and all(".processing_log:" in f for f in kept)
        assert not findings(databases, needles[:1] + needles[3:])  # no pseudonym, no contact
        run_purge(urls["signal"], "signal", tuple(retention_rules()), clock.now())
        run_purge(urls["match"], "match", match_retention.RULES, clock.now())
        assert notify_lines(urls["notify"]) >= 4  # the log outlives the mails it accounts for
        run_purge(urls["notify"], "notify", notify_retention.RULES, clock.now())
        assert findings(databases, needles) == []
        assert notify_lines(urls["notify"]) == 0  # and goes after its own 5 years
