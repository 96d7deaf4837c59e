"""Issue 2: no table outside identity's database, and no log line, contains a BSN from the run."""

import psycopg
from psycopg import sql

from tests.helpers import BSNS, Api, by_org, wait_until

INVALID_BSNS = ["123456789", "987654321"]


def test_no_bsn_outside_identity(platform, professionals) -> None:
    orgs = list(by_org(professionals).values())
    apis = [Api(platform.url, orgs[0][0]["apiKey"]), Api(platform.url, orgs[1][0]["apiKey"])]
    for bsn in BSNS:
        for api in apis:
            assert api.signal(bsn).status_code == 201
    for bsn in INVALID_BSNS:
        assert apis[0].signal(bsn).status_code == 400
    wait_until(lambda: len(platform.mailbox.mails()) >= 2 * len(BSNS), timeout=60)

    needles = [*BSNS, *INVALID_BSNS]
    hex_needles = [b.encode().hex() for b in needles]
    for service, url in platform.database_urls.items():
        if service == "identity":
            continue
        with psycopg.connect(url) as conn:
            tables = [r[0] for r in conn.execute("SELECT relname FROM pg_stat_user_tables")]
            for table in tables:
                with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))) as copy:
                    dump = b"".join(bytes(chunk) for chunk in copy).decode(errors="replace")
                for needle in needles + hex_needles:
                    assert needle not in dump, f"{needle} found in {service}.{table}"

    logs = platform.logs()
    assert "rpc" in logs  # the services did log
    for needle in needles:
        assert needle not in logs, f"{needle} found in a log line"
    for mail in platform.mailbox.mails():
        for needle in needles:
            assert needle not in mail.message.as_string()
