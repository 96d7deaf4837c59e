"""The portal in a real headless Chromium against the real platform (all services as processes)."""

import re
import time
from typing import Any

from playwright.sync_api import expect

from tests.helpers import valid_bsns


def demo_person(platform: Any, *, organisation: str, admin: bool = False, index: int = 0) -> dict[str, Any]:
    people = platform.demo["admins"] if admin else platform.demo["professionals"]
    return [p for p in people if p["organisation"] == organisation][index]


def register_signal(portal: Any, bsn: str, birth_date: str = "1990-04-12") -> None:
    page = portal.page
    page.get_by_role("link", name="Nieuw signaal", exact=True).click()
    page.get_by_label("BSN").fill(bsn)
    page.get_by_label("Geboortedatum").fill(birth_date)
    page.get_by_label("Wie is geïnformeerd").select_option("person")
    page.get_by_label("Hoe").select_option("inPerson")
    page.get_by_label("Er is sprake van meervoudige problematiek").check()
    consent = page.get_by_label("De persoon (of vertegenwoordiger) heeft toestemming gegeven")
    if consent.count():
        consent.check()
    page.get_by_role("button", name="Signaal registreren").click()
    expect(page.get_by_role("status").first).to_contain_text("Het signaal is geregistreerd")


def test_professionals_signal_match_coordinate_and_end(platform: Any, portal: Any) -> None:
    bsn = valid_bsns(1, start=612_000_000)[0]
    anna = portal()
    anna.login(demo_person(platform, organisation="Wijkteam Noord"))
    anna.check("01-overzicht")
    anna.page.get_by_role("link", name="Nieuw signaal", exact=True).click()
    anna.check("02-nieuw-signaal")

    # A refused registration: the message sits next to the field; every value comes back, the
    # BSN only as the field's value (issue 17: nobody retypes it), nowhere else on the page.
    anna.page.get_by_label("BSN").fill("123456789")
    anna.page.get_by_label("Geboortedatum").fill("1990-04-12")
    anna.page.get_by_label("Wie is geïnformeerd").select_option("person")
    anna.page.get_by_label("Hoe").select_option("inPerson")
    anna.page.get_by_role("button", name="Signaal registreren").click()
    expect(anna.page.locator("#fout-bsn")).to_be_visible()
    expect(anna.page.get_by_label("BSN")).to_have_value("123456789")
    assert anna.page.content().count("123456789") == 1
    anna.check("03-nieuw-signaal-fout")

    register_signal(anna, bsn)
    anna.check("04-mijn-signalen")

    carla = portal()
    carla.login(demo_person(platform, organisation="Kredietbank"))
    register_signal(carla, bsn)

    # The match appears for Anna (asynchronously: signal -> outbox -> match).
    page = anna.page
    for _ in range(60):
        page.goto("/matches")
        if page.get_by_role("link", name=re.compile("^Uw cliënt")).count():
            break
        page.wait_for_timeout(500)
    anna.check("05-mijn-matches")
    page.get_by_role("link", name=re.compile("^Uw cliënt")).first.click()
    expect(page.get_by_role("link", name="010-1234503")).to_have_attribute("href", "tel:010-1234503")
    expect(page.get_by_role("link", name=re.compile("^carla@"))).to_have_attribute(
        "href", re.compile("^mailto:carla@")
    )
    anna.check("06-match")

    # Whoever is not the coordinator asks for the role; the coordinator allows it (issue 17).
    match_path = page.url.replace(platform.url, "")
    taker, sitting, name = (anna, carla, "Anna de Vries")
    if page.locator("#regisseur").inner_text() == "Anna de Vries":
        taker, sitting, name = (carla, anna, "Carla Bakker")
    taker.page.goto(match_path)
    taker.page.get_by_role("button", name="Regie overnemen").click()
    expect(taker.page.locator("#overname-gevraagd")).to_be_visible()
    sitting.page.goto(match_path)
    expect(sitting.page.locator("#overname-verzoek")).to_contain_text(name)
    sitting.page.get_by_role("button", name="Overname toestaan").click()
    taker.page.goto(match_path)
    expect(taker.page.locator("#regisseur")).to_have_text(name)

    # Anna ends her signal; it moves to the archive.
    page.goto("/signalen")
    page.get_by_label("Reden van beëindigen").first.select_option("goalReached")
    page.get_by_role("button", name="Beëindigen").first.click()
    expect(page.get_by_role("status").first).to_contain_text("Het signaal is beëindigd")
    archived = page.locator("h2#gearchiveerd + table")
    expect(archived).to_contain_text("geboren 12-04-1990")
    anna.check("07-signalen-na-beeindigen")

    page.get_by_role("link", name="Berichten").click()
    anna.check("08-berichten")


def test_admin_invites_a_professional_and_rotates_an_api_key(platform: Any, portal: Any) -> None:
    admin = portal()
    admin.login(demo_person(platform, organisation="Kredietbank", admin=True))
    admin.check("10-beheer")
    page = admin.page
    page.get_by_role("link", name="Professionals", exact=True).click()
    page.get_by_label("Naam").fill("Henk Nieuw")
    page.get_by_label("Functie").fill("budgetcoach")
    page.get_by_label("Telefoon").fill("010-7654321")
    page.get_by_label("E-mailadres").fill("henk@kredietbank.example")
    page.get_by_role("button", name="Uitnodigen").click()
    expect(page.get_by_role("cell", name="henk@kredietbank.example")).to_be_visible()
    admin.check("11-beheer-professionals")

    # Issue 16: the invitation goes by mail; Henk sets his own password and second factor.
    from tests.browser.test_onboarding import accept_invitation, mailed_link

    henk = portal()
    link = mailed_link(platform, "henk@kredietbank.example")
    henk.login(accept_invitation(henk, link, "henk@kredietbank.example"))
    expect(henk.page.get_by_role("heading", name="Overzicht")).to_be_visible()

    page.get_by_role("link", name="Organisatie", exact=True).click()
    admin.check("12-beheer-organisatie")
    page.get_by_role("link", name="API-sleutels").click()
    page.get_by_label("Naam van de koppeling").fill("zaaksysteem")
    page.get_by_role("button", name="Sleutel aanmaken").click()
    first = page.locator("#nieuwe-sleutel").inner_text()
    page.get_by_role("button", name="Roteren zaaksysteem").first.click()
    second = page.locator("#nieuwe-sleutel").inner_text()
    assert first != second and second.startswith("sluis_")
    expect(page.get_by_role("cell", name=re.compile("^verloopt"))).to_be_visible()
    admin.check("13-beheer-sleutels")

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Adres (https)").fill("https://zaaksysteem.kredietbank.example/sluis")
    page.get_by_label("Ondertekengeheim").fill("een-lang-ondertekengeheim")
    page.get_by_label("Nieuwe match").check()
    page.get_by_role("button", name="Webhook opslaan").click()
    expect(
        page.get_by_role("cell", name="https://zaaksysteem.kredietbank.example/sluis", exact=True)
    ).to_be_visible()
    admin.check("14-beheer-webhooks")

    page.get_by_role("link", name="Statistieken").click()
    # Carla (Kredietbank) signalled in the test above: this month shows up.
    month = time.strftime("%Y-%m", time.gmtime())
    expect(page.locator("#tabel-signalen").get_by_role("row", name=month)).to_contain_text("<10")
    expect(page.get_by_role("img").first).to_be_visible()
    admin.check("15-beheer-statistieken")


def test_login_page_is_accessible_and_refuses_a_wrong_code(platform: Any, portal: Any) -> None:
    visitor = portal()
    visitor.page.goto("/inloggen")
    visitor.check("00-inloggen")
    who = demo_person(platform, organisation="Kredietbank", index=1)
    visitor.page.get_by_label("E-mailadres").fill(who["email"])
    visitor.page.get_by_label("Wachtwoord").fill(who["password"])
    visitor.page.get_by_role("button", name="Volgende").click()
    visitor.check("00-inloggen-code")
    visitor.page.get_by_label("Code uit uw authenticator-app").fill("000000")
    visitor.page.get_by_role("button", name="Inloggen").click()
    expect(visitor.page.get_by_role("alert")).to_contain_text("Inloggen is niet gelukt")
