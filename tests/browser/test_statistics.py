"""Statistics in a real Chromium against the real platform (issue 16): a region admin and an
organisation admin see suppressed counts ("<10") with charts, tables and a heat map; axe-core
finds nothing serious; and opening the pages writes no access-log row about anybody."""

import time
from typing import Any

import psycopg
from playwright.sync_api import expect

from tests.helpers import Api, valid_bsns, wait_until


def demo_admin(platform: Any, role: str, organisation: str | None = None) -> dict[str, Any]:
    return next(
        a
        for a in platform.demo["admins"]
        if a["role"] == role and (organisation is None or a["organisation"] == organisation)
    )


def key_of(platform: Any, organisation: str) -> str:
    return str(next(p["apiKey"] for p in platform.demo["professionals"] if p["organisation"] == organisation))


def rows(platform: Any, service: str, table: str) -> int:
    with psycopg.connect(platform.database_urls[service]) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    assert row is not None
    return int(row[0])


def test_region_and_organisation_admins_see_safe_statistics(platform: Any, portal: Any) -> None:
    # Two organisations signal one person: a match between Wijkteam Noord and Kredietbank.
    bsn = valid_bsns(1, start=633_000_000)[0]
    for organisation in ("Wijkteam Noord", "Kredietbank"):
        assert Api(platform.url, key_of(platform, organisation)).signal(bsn).status_code == 201
    region_api = Api(platform.url, demo_admin(platform, "regionAdmin")["apiKey"])
    month = time.strftime("%Y-%m", time.gmtime())

    def started() -> Any:
        doc = region_api.get(f"/v1/statistics?from={month}&to={month}").json()
        return doc if doc["matches"]["months"][0]["started"] == "<10" else None

    doc = wait_until(started, timeout=60, interval=0.5)
    assert doc["signals"]["months"][0]["registered"] == "<10"
    assert doc["signals"]["total"]["registered"] == "<10"

    region = portal()
    region.login(demo_admin(platform, "regionAdmin"))
    org = portal()
    org.login(demo_admin(platform, "organisationAdmin", "Wijkteam Noord"))
    access_log, audit = rows(platform, "match", "access_log"), rows(platform, "gateway", "audit_log")

    region.page.get_by_role("link", name="Statistieken van de regio").first.click()
    expect(region.page.get_by_role("heading", level=1)).to_have_text("Statistieken van de regio")
    table = region.page.locator("#tabel-signalen")
    expect(table.get_by_role("row", name=month)).to_contain_text("<10")
    expect(region.page.locator("#warmtekaart")).to_contain_text("Kredietbank")
    expect(region.page.locator("#warmtekaart")).to_contain_text("<10")
    # The charts are real SVG pictures served by the gateway (no CDN, no script).
    # (waited for: an image may still be loading when the table is already there)
    region.page.wait_for_function(
        "() => [...document.querySelectorAll('figure img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert region.page.locator("figure img").count() >= 2
    region.check("statistieken-regio")

    # A bad month: a Dutch message next to the field, status 400.
    region.page.get_by_label("Van maand").fill("2026-13")
    resp = region.page.goto("/beheer/statistieken?van=2026-13")
    assert resp is not None and resp.status == 400
    expect(region.page.get_by_role("alert")).to_contain_text("JJJJ-MM")
    region.check("statistieken-fout")

    org.page.get_by_role("link", name="Statistieken", exact=True).first.click()
    expect(org.page.get_by_role("heading", level=1)).to_have_text("Statistieken van uw organisatie")
    expect(org.page.locator("#tabel-signalen").get_by_role("row", name=month)).to_contain_text("<10")
    org.check("statistieken-organisatie")

    # Reading statistics is no read of a person: no access-log row, no audit row.
    assert rows(platform, "match", "access_log") == access_log
    assert rows(platform, "gateway", "audit_log") == audit
