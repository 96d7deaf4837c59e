"""Issue 16 in the browser: a region starts from nothing but the operator's command.

The operator creates the region admin; the region admin accepts the mailed invitation,
enrols TOTP from the QR code (decoded here from a screenshot with zxing-cpp), onboards an
organisation and invites its SluiS-wachter, who accepts and invites a professional, who logs
in and registers a signal. The coordinator-rule editor refuses an organisation that may not
coordinate and previews a proposal. Every new page is checked with axe-core."""

import io
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import ROOT
from tests.browser.test_portal import register_signal
from tests.helpers import valid_bsns

PASSWORD = "blauwe reiger zwemt traag 83"
LINK = re.compile(r"https?://\S+/uitnodiging/[A-Za-z0-9_-]+")


def mailed_link(platform: Any, email: str, count: int = 1) -> str:
    """The invitation link of the `count`-th mail to this address (notify delivers it over SMTP)."""
    for _ in range(200):
        mails = platform.mailbox.to(email)
        if len(mails) >= count:
            found = LINK.search(mails[count - 1].text())
            assert found, mails[count - 1].text()
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no invitation mail for {email}")


def totp_secret_from_qr(portal: Any) -> str:
    """Decode the QR code on the page as an authenticator app would: otpauth://...?secret=..."""
    import zxingcpp
    from PIL import Image

    png = portal.page.locator("#qr-code svg").screenshot()
    codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert codes, "no QR code found on the invitation page"
    uri = codes[0].text
    assert uri.startswith("otpauth://totp/")
    return parse_qs(urlsplit(uri).query)["secret"][0]


def accept_invitation(portal: Any, link: str, email: str, screenshot: str = "") -> dict[str, str]:
    """Open the mailed link, choose a password, enrol TOTP from the QR code; the login."""
    from services.gateway import totp

    page = portal.page
    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welkom bij SluiS")
    if screenshot:
        portal.check(screenshot)
    secret = totp_secret_from_qr(portal)
    page.get_by_label("Nieuw wachtwoord").fill(PASSWORD)
    page.get_by_label("Herhaal het wachtwoord").fill(PASSWORD)
    # The code of now (accepted one step either side); the next login uses the next step's.
    page.get_by_label("Code uit uw authenticator-app").fill(totp.code_at(secret, time.time()))
    page.get_by_role("button", name="Account activeren").click()
    expect(page.get_by_role("heading", name="Uw account is klaar")).to_be_visible()
    assert page.locator("#herstelcodes li").count() == 10
    if screenshot:
        portal.check(screenshot + "-herstelcodes")
    return {"email": email, "password": PASSWORD, "totpSecret": secret}


def test_a_region_starts_from_the_operator_command(platform: Any, portal: Any) -> None:
    # 1. The operator creates the first region admin.
    email = "rita@regio.example"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.gateway",
            "create-region-admin",
            "--email",
            email,
            "--name",
            "Rita Regio",
        ],
        cwd=ROOT,
        env=platform.env("gateway"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    printed = LINK.search(out.stdout)
    assert printed and "ook gemaild" in out.stdout
    assert mailed_link(platform, email) == printed.group(0)

    # 2. The region admin accepts, enrols TOTP from the QR code and onboards an organisation.
    rita = portal()
    login = accept_invitation(rita, printed.group(0), email, "onboarding-01-uitnodiging")
    rita.login(login)
    rita.check("onboarding-02-regio-home")
    page = rita.page
    page.get_by_role("link", name="Organisaties", exact=True).click()
    rita.check("onboarding-03-organisaties")
    page.get_by_label("Naam").fill("Buurtzorg Zuid")
    page.get_by_label("Datum convenant").fill("2026-01-15")
    page.get_by_label("Grondslag", exact=True).select_option("consent")
    page.get_by_label("Zorg").check()
    page.get_by_label("Mag matchregisseur zijn").check()
    page.get_by_role("button", name="Organisatie aansluiten").click()
    expect(page.get_by_role("status").first).to_contain_text("Buurtzorg Zuid is aangesloten")
    org_url = urlsplit(page.url).path

    # 3. ... invites its SluiS-wachter, who accepts and invites a professional.
    page.get_by_label("Naam").fill("Wim Wachter")
    page.get_by_label("E-mailadres").fill("wim@buurtzorg.example")
    page.get_by_role("button", name="SluiS-wachter uitnodigen").click()
    expect(page.get_by_role("status").first).to_contain_text("uitgenodigd als SluiS-wachter")
    expect(page.get_by_role("cell", name="open", exact=True)).to_be_visible()
    rita.check("onboarding-04-organisatie")

    wim = portal()
    wim.login(accept_invitation(wim, mailed_link(platform, "wim@buurtzorg.example"), "wim@buurtzorg.example"))
    wim.page.get_by_role("link", name="Professionals", exact=True).click()
    wim.page.get_by_label("Naam").fill("Pien Professional")
    wim.page.get_by_label("Functie").fill("wijkverpleegkundige")
    wim.page.get_by_label("Telefoon").fill("010-5550101")
    wim.page.get_by_label("E-mailadres").fill("pien@buurtzorg.example")
    wim.page.get_by_role("button", name="Uitnodigen").click()
    expect(wim.page.get_by_role("status").first).to_contain_text("de uitnodiging is gemaild")
    wim.check("onboarding-05-wachter-professionals")

    # 4. The professional accepts, logs in and registers a signal.
    pien = portal()
    pien.login(
        accept_invitation(pien, mailed_link(platform, "pien@buurtzorg.example"), "pien@buurtzorg.example")
    )
    register_signal(pien, valid_bsns(1, start=614_000_000)[0])
    pien.page.get_by_role("link", name="Mijn account").click()
    pien.check("onboarding-06-mijn-account")

    # The region admin sees both invitations accepted.
    page.goto(org_url)
    expect(page.get_by_role("cell", name="geaccepteerd")).to_have_count(2)

    # The coordinator-rule editor: refuses an organisation that may not coordinate, previews.
    page.get_by_role("link", name="Matchregie").click()
    rita.check("onboarding-07-matchregie")
    police = page.get_by_label(re.compile("^Politie"))
    police.fill("1")
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page.locator("#fout")).to_contain_text("mag geen matchregie voeren")
    page.get_by_label(re.compile("^Politie")).fill("")
    page.get_by_label("Buurtzorg Zuid").fill("1")
    page.get_by_label("Schulden").fill("1")
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page.locator("#voorbeeld")).to_contain_text("open matches")
    rita.check("onboarding-08-matchregie-voorbeeld")
    page.get_by_role("button", name="Regels opslaan").click()
    expect(page.get_by_role("status").first).to_contain_text("versie 1")

    # A suspended organisation registers no new signals; its existing one stays.
    page.goto(org_url)
    page.get_by_role("button", name="Organisatie schorsen").click()
    expect(page.locator("#status")).to_have_text("geschorst")
    pien.page.goto("/signalen")
    expect(pien.page.locator("main")).to_contain_text("12-04-1990")
    pien.page.get_by_role("link", name="Nieuw signaal", exact=True).click()
    pien.page.get_by_label("BSN").fill(valid_bsns(1, start=614_100_000)[0])
    pien.page.get_by_label("Geboortedatum").fill("1991-05-13")
    pien.page.get_by_label("Wie is geïnformeerd").select_option("person")
    pien.page.get_by_label("Hoe").select_option("inPerson")
    pien.page.get_by_label("Er is sprake van meervoudige problematiek").check()
    consent = pien.page.get_by_label("De persoon (of vertegenwoordiger) heeft toestemming gegeven")
    if consent.count():
        consent.check()
    pien.page.get_by_role("button", name="Signaal registreren").click()
    expect(pien.page.get_by_role("alert").first).to_contain_text("geschorst")
