"""Issue 17 in a real headless Chromium: a professional with three clients of the same birth
date tells their matches apart by their own reference (match list, match page, Mijn signalen,
inbox), edits a reference on the signal page, and a mail's deep link survives the login."""

import re
import time
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.test_portal import demo_person
from tests.helpers import Api, valid_bsns

BIRTH = "1984-02-29"
REFS = ["DOS-2026/101", "DOS-2026/102", "DOS-2026/103"]


def register_with_reference(portal: Any, bsn: str, reference: str) -> None:
    page = portal.page
    page.goto("/signalen/nieuw")
    page.get_by_label("BSN").fill(bsn)
    page.get_by_label("Uw eigen kenmerk (niet verplicht)").fill(reference)
    page.get_by_label("Geboortedatum").fill(BIRTH)
    page.get_by_label("Wie is geïnformeerd").select_option("person")
    page.get_by_label("Hoe").select_option("inPerson")
    page.get_by_label("Er is sprake van meervoudige problematiek").check()
    consent = page.get_by_label("De persoon (of vertegenwoordiger) heeft toestemming gegeven")
    if consent.count():
        consent.check()
    page.get_by_role("button", name="Signaal registreren").click()
    expect(page.get_by_role("status").first).to_contain_text("Het signaal is geregistreerd")


def test_three_clients_of_one_birth_date_are_told_apart(platform: Any, portal: Any) -> None:
    bsns = valid_bsns(3, start=733_000_000)
    anna_who = demo_person(platform, organisation="Wijkteam Noord")
    anna = portal()
    anna.login(anna_who)

    # The first registration is refused (birth date in the future): every value comes back.
    page = anna.page
    page.goto("/signalen/nieuw")
    page.get_by_label("BSN").fill(bsns[0])
    page.get_by_label("Uw eigen kenmerk (niet verplicht)").fill(REFS[0])
    page.get_by_label("Geboortedatum").fill("2999-01-01")
    page.get_by_role("button", name="Signaal registreren").click()
    expect(page.locator("#fout-birthDate")).to_be_visible()
    expect(page.get_by_label("BSN")).to_have_value(bsns[0])
    expect(page.get_by_label("Uw eigen kenmerk (niet verplicht)")).to_have_value(REFS[0])
    anna.check("17-01-formulier-behouden")

    for bsn, ref in zip(bsns, REFS, strict=True):
        register_with_reference(anna, bsn, ref)
    page.goto("/signalen")
    for ref in REFS:
        expect(page.get_by_role("link", name=f"Uw cliënt: {ref}, geboren 29-02-1984")).to_be_visible()
    anna.check("17-02-mijn-signalen")

    # Carla (another organisation) signals the same three people through her case system.
    carla = Api(platform.url, demo_person(platform, organisation="Kredietbank")["apiKey"])
    for bsn in bsns:
        assert carla.signal(bsn, birth_date=BIRTH).status_code == 201

    for _ in range(120):
        page.goto("/matches")
        if page.locator("a", has_text="Uw cliënt: DOS-2026").count() == 3:
            break
        page.wait_for_timeout(500)
    for ref in REFS:
        expect(page.get_by_role("link", name=f"Uw cliënt: {ref}, geboren 29-02-1984")).to_be_visible()
    anna.check("17-03-mijn-matches")

    page.get_by_role("link", name=f"Uw cliënt: {REFS[1]}, geboren 29-02-1984").click()
    expect(page.locator("#uw-client")).to_contain_text(f"Uw cliënt: {REFS[1]}, geboren 29-02-1984")
    # Job title and coordinator apart: both job titles stay visible.
    expect(page.get_by_role("columnheader", name="Functie")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Matchregisseur")).to_be_visible()
    expect(page.get_by_role("cell", name="schuldhulpverlener")).to_be_visible()
    expect(page.get_by_role("cell", name="wijkteammedewerker")).to_be_visible()
    match_path = urlsplit(page.url).path
    anna.check("17-04-match")

    # The inbox: dates and which client (notify fills it after match, asynchronously).
    for _ in range(120):
        page.goto("/inbox")
        if page.get_by_text(f"Uw cliënt: {REFS[1]}, geboren 29-02-1984").count():
            break
        page.wait_for_timeout(500)
    expect(page.get_by_text(f"Uw cliënt: {REFS[1]}, geboren 29-02-1984").first).to_be_visible()
    expect(page.locator("time").first).to_have_text(re.compile(r"^\d\d-\d\d-\d{4} \d\d:\d\d$"))
    anna.check("17-05-berichten")

    # A reference is changed on the signal page; the match follows.
    page.goto(match_path)
    page.get_by_role("link", name="uw signaal", exact=True).click()
    page.get_by_label("Uw eigen kenmerk (dossier- of zaaknummer)").fill("DOS-2026/102-B")
    page.get_by_role("button", name="Kenmerk opslaan").click()
    expect(page.locator("#uw-client")).to_contain_text("Uw cliënt: DOS-2026/102-B, geboren 29-02-1984")
    anna.check("17-06-signaal-kenmerk")
    page.get_by_role("link", name="Naar de match over deze cliënt").click()
    expect(page.locator("#uw-client")).to_contain_text("DOS-2026/102-B")

    # The mail's deep link survives the login.
    fresh = portal()
    fresh.page.goto(match_path)
    assert urlsplit(fresh.page.url).path == "/inloggen"
    fresh.page.get_by_label("E-mailadres").fill(anna_who["email"])
    fresh.page.get_by_label("Wachtwoord").fill(anna_who["password"])
    fresh.page.get_by_role("button", name="Volgende").click()
    from services.gateway import totp

    for at in (time.time(), time.time() + 30):
        fresh.page.get_by_label("Code uit uw authenticator-app").fill(
            totp.code_at(anna_who["totpSecret"], at)
        )
        fresh.page.get_by_role("button", name="Inloggen").click()
        fresh.page.wait_for_load_state()
        if urlsplit(fresh.page.url).path != "/inloggen/code":
            break
    assert urlsplit(fresh.page.url).path == match_path
    expect(fresh.page.locator("#uw-client")).to_contain_text("DOS-2026/102-B")
