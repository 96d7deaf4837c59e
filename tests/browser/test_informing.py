"""Issue 22 in the browser: the signal form explains whose consent and who to inform in plain
Dutch; a child informed and the parent postponed for safety is one registration; the
postponed informing is completed later from Mijn signalen. Every page checked with axe-core."""

from datetime import date
from typing import Any

from playwright.sync_api import expect

from tests.browser.test_portal import demo_person
from tests.helpers import valid_bsns


def test_child_informed_parent_postponed_then_completed(platform: Any, portal: Any) -> None:
    bsn = valid_bsns(1, start=613_000_000)[0]
    today = date.today()
    thirteen = today.replace(year=today.year - 13, day=min(today.day, 28)).isoformat()
    anna = portal()
    anna.login(demo_person(platform, organisation="Wijkteam Noord"))
    page = anna.page
    page.get_by_role("link", name="Nieuw signaal", exact=True).click()
    # The plain-words explanation of every case.
    hints = page.locator("#leeftijd-uitleg").inner_text()
    assert "jonger dan 12 jaar: de ouder of voogd" in hints
    assert "stel het informeren van de" in hints and "ouder uit" in hints
    assert "16 en 17 jaar: de jongere zelf" in hints
    assert "curatele of mentorschap" in hints
    # Wijkteam Noord signals with consent: whose consent, per age.
    consent_hints = page.locator("#toestemming-wie-uitleg").inner_text()
    assert "jonger dan 16 jaar: de ouder of voogd" in consent_hints
    assert "16 jaar en ouder: de persoon zelf" in consent_hints
    assert "curatele of mentorschap: de curator of mentor" in consent_hints
    anna.check("20-nieuw-signaal-uitleg")

    page.get_by_label("BSN").fill(bsn)
    page.get_by_label("Geboortedatum").fill(thirteen)
    page.get_by_label("Wie is geïnformeerd").select_option("both")
    page.get_by_label("Hoe", exact=True).select_option("inPerson")
    page.get_by_label("Of: informeren uitgesteld").select_option("safety")
    page.get_by_label("Uitstel geldt voor").select_option("legalRepresentative")
    page.get_by_label("De persoon (of vertegenwoordiger) heeft toestemming gegeven").check()
    # Whose consent: the child's alone is not enough under 16; the form says so.
    page.get_by_label("Wie gaf toestemming").select_option("person")
    page.get_by_role("button", name="Signaal registreren").click()
    expect(page.locator("#fout-consentBy")).to_contain_text("wettelijk vertegenwoordiger")
    anna.check("21-nieuw-signaal-toestemming-fout")
    page.get_by_label("BSN").fill(bsn)
    page.get_by_label("Wie gaf toestemming").select_option("legalRepresentative")
    page.get_by_role("button", name="Signaal registreren").click()
    expect(page.get_by_role("status").first).to_contain_text("Het signaal is geregistreerd")

    expect(
        page.get_by_text("Informeren is nog uitgesteld voor: De wettelijk vertegenwoordiger")
    ).to_be_visible()
    anna.check("22-mijn-signalen-uitgesteld")
    page.get_by_label("Wie is alsnog geïnformeerd").select_option("legalRepresentative")
    page.get_by_label("Hoe", exact=True).select_option("phone")
    page.get_by_role("button", name="Alsnog geïnformeerd").click()
    expect(page.get_by_role("status").first).to_contain_text("er is alsnog geïnformeerd")
    expect(page.get_by_role("button", name="Alsnog geïnformeerd")).to_have_count(0)
    anna.check("23-mijn-signalen-geinformeerd")
