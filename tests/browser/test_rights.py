"""Issue 16, step 6: the region admin handles an objection and an access request within the
rights-requests register (Rechtenverzoeken), in a real Chromium against the real platform.
axe-core on every page; screenshots in screenshots/."""

import re
from datetime import date, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.browser.test_portal import demo_person
from tests.helpers import Api, valid_bsns, wait_until


def register_request(
    page: Any, kind: str, requester: str, reference: str, bsn: str, received: str = ""
) -> None:
    page.get_by_label("Soort verzoek").select_option(kind)
    page.get_by_label("Verzoeker", exact=True).select_option(requester)
    page.get_by_label("Kenmerk (zaaknummer)").fill(reference)
    if received:
        page.get_by_label("Ontvangen op").fill(received)
    page.get_by_label("BSN van de persoon").fill(bsn)
    page.get_by_role("button", name="Verzoek registreren").click()
    expect(page.get_by_role("status").first).to_contain_text("Het verzoek is geregistreerd")


def test_region_admin_handles_an_objection_and_an_access_request(platform: Any, portal: Any) -> None:
    objection_bsn, access_bsn, late_bsn = valid_bsns(3, start=653_000_000)
    anna = Api(platform.url, demo_person(platform, organisation="Wijkteam Noord")["apiKey"])
    carla = Api(platform.url, demo_person(platform, organisation="Kredietbank")["apiKey"])
    objected = anna.signal(objection_bsn).json()["id"]
    kept = carla.signal(objection_bsn).json()["id"]
    anna.signal(access_bsn)

    admin = portal()
    admin.login(next(a for a in platform.demo["admins"] if a["role"] == "regionAdmin"))
    page = admin.page
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Rechtenverzoeken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rechtenverzoeken")
    admin.check("rechten-01-register")

    # An objection about Anna's signal: restricted while it is assessed, extended, upheld.
    register_request(page, "objection", "person", "BZW-2026-17", objection_bsn)
    assert objection_bsn not in page.content()
    admin.check("rechten-02-bezwaar")
    page.get_by_role("button", name="Verwerking beperken (AVG art. 18)").click()
    expect(page.get_by_role("status").first).to_contain_text("De verwerking is beperkt")
    page.get_by_label("Met", exact=True).select_option("1")
    page.get_by_label("Reden van verlenging").fill("Organisaties worden gehoord")
    page.get_by_role("button", name="Verlengen").click()
    expect(page.get_by_role("status").first).to_contain_text("De termijn is verlengd")
    expect(page.locator("dl.facts")).to_contain_text("Organisaties worden gehoord")
    admin.check("rechten-03-bezwaar-beperkt-verlengd")
    page.get_by_label(re.compile("^Gegrond")).check()
    page.get_by_label("Reden van het besluit").fill("Geen grondslag voor de registratie")
    page.get_by_role("button", name="Besluit vastleggen").click()
    expect(page.get_by_role("status").first).to_contain_text("Het besluit is vastgelegd")
    expect(page.locator("dl.facts")).to_contain_text("Gegrond")
    admin.check("rechten-04-bezwaar-besloten")
    # The existing objection flow ran for the person's signals: erased at once.
    wait_until(lambda: anna.get(f"/v1/signals/{objected}").status_code == 404)
    assert carla.get(f"/v1/signals/{kept}").status_code == 404  # every signal on the person

    # An access request by a legal representative: decided with the BSN re-entered; the
    # access document opens as a printable page.
    page.get_by_role("link", name="Terug naar Rechtenverzoeken").click()
    register_request(page, "access", "legalRepresentative", "INZ-2026-3", access_bsn)
    page.get_by_role("button", name="In behandeling nemen").click()
    expect(page.locator("dl.facts")).to_contain_text("In behandeling")
    page.get_by_label(re.compile("^Gegrond")).check()
    page.get_by_label("Reden van het besluit").fill("Inzage verstrekt")
    page.get_by_label("BSN van de persoon (opnieuw, voor het inzagedocument)").fill(access_bsn)
    page.get_by_role("button", name="Besluit vastleggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inzagedocument SluiS")
    expect(page.locator("article.document")).to_contain_text("Wijkteam Noord")
    assert access_bsn not in page.content()
    admin.check("rechten-05-inzagedocument")
    page.get_by_role("link", name="Terug naar het verzoek").click()
    page.get_by_role("link", name="Inzagedocument openen (printbaar)").click()
    admin.check("rechten-06-inzagedocument-bsn")
    page.get_by_label("BSN van de persoon").fill(access_bsn)
    page.get_by_role("button", name="Inzagedocument maken").click()
    expect(page.locator("article.document")).to_contain_text("INZ-2026-3")

    # A request received two months ago and not decided: overdue, highlighted in the list.
    page.goto("/beheer/rechtenverzoeken")
    received = (date.today() - timedelta(days=62)).isoformat()
    register_request(page, "restriction", "person", "BEP-2026-1", late_bsn, received)
    page.goto("/beheer/rechtenverzoeken")
    late = page.locator("tr.overdue")
    expect(late).to_have_count(1)
    expect(late).to_contain_text("Termijn verstreken")
    page.get_by_label("Alleen verzoeken met verstreken termijn").check()
    page.get_by_role("button", name="Filteren").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    admin.check("rechten-07-register-termijn-verstreken")
