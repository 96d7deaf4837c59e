"""The organisation admin's page of undeliverable notifications, in a real browser: a mail of
a real match that notify gave up on is listed for its organisation and sent again."""

from typing import Any

import psycopg
from playwright.sync_api import expect

from tests.browser.test_portal import demo_person
from tests.helpers import Api, valid_bsns, wait_until


def test_admin_retries_an_undeliverable_mail(platform: Any, portal: Any) -> None:
    wijkteam = demo_person(platform, organisation="Wijkteam Noord")
    kredietbank = demo_person(platform, organisation="Kredietbank")
    bsn = valid_bsns(1, start=740_000_000)[0]
    for who in (wijkteam, kredietbank):
        assert Api(platform.url, who["apiKey"]).signal(bsn).status_code == 201
    notify = platform.database_urls["notify"]
    org = wijkteam["organisationId"]

    def a_delivery() -> Any:
        with psycopg.connect(notify) as conn:
            return conn.execute(
                "SELECT delivery_id FROM deliveries WHERE organisation_id = %s AND channel = 'email'"
                " ORDER BY created_at LIMIT 1",
                (org,),
            ).fetchone()

    delivery = wait_until(a_delivery, timeout=60)[0]
    # As if the recipient's server had refused it until notify gave up (that path has its own tests).
    with psycopg.connect(notify, autocommit=True) as conn:
        conn.execute(
            "UPDATE deliveries SET state = 'dead', attempts = 8, last_error = '550 mailbox unavailable'"
            " WHERE delivery_id = %s",
            (delivery,),
        )

    admin = portal()
    admin.login(demo_person(platform, organisation="Wijkteam Noord", admin=True))
    page = admin.page
    page.get_by_role("link", name="Onbestelbaar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Onbestelbare meldingen")
    expect(page.get_by_role("cell", name="550 mailbox unavailable")).to_be_visible()
    admin.check("20-beheer-onbestelbaar")
    page.get_by_role("button", name="Opnieuw versturen").first.click()
    expect(page.get_by_role("status").first).to_contain_text("opnieuw verstuurd")
    admin.check("21-beheer-onbestelbaar-opnieuw")
    with psycopg.connect(notify) as conn:
        state = conn.execute("SELECT state FROM deliveries WHERE delivery_id = %s", (delivery,)).fetchone()
    assert state is not None and state[0] != "dead"
