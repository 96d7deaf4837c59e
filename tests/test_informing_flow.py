"""Issue 22 over REST against the real platform: whose consent is required per age, a child
informed with the parent postponed, and completing that informing later."""

from datetime import date
from typing import Any

from tests.helpers import Api, by_org, valid_bsns


def _consent_org_professional(professionals: list[dict[str, Any]]) -> dict[str, Any]:
    return by_org(professionals)["Wijkteam Noord"][0]


def test_consent_and_postponed_informing_over_rest(
    platform: Any, professionals: list[dict[str, Any]]
) -> None:
    anna = _consent_org_professional(professionals)
    api = Api(platform.url, anna["apiKey"])
    child, adult = valid_bsns(2, start=614_000_000)
    today = date.today()
    thirteen = today.replace(year=today.year - 13, day=min(today.day, 28)).isoformat()
    informed = {
        "person": {"method": "inPerson", "informedOn": today.isoformat()},
        "legalRepresentative": {"postponeReason": "safety"},
    }
    # No consent recorded: a consent-based organisation is refused, naming whose consent.
    refused = api.signal(child, thirteen, consentGiven=False, informed=informed)
    assert refused.status_code in (400, 422), refused.text
    problem = refused.json()
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert problem["code"] == "consent_missing" and "wettelijk vertegenwoordiger" in problem["detail"]
    # The child's consent alone is the wrong one under 16.
    wrong = api.signal(child, thirteen, consentGiven=False, consentBy="person", informed=informed)
    assert wrong.status_code in (400, 422) and wrong.json()["code"] == "consent_wrong_party", wrong.text

    created = api.signal(
        child, thirteen, consentGiven=False, consentBy="legalRepresentative", informed=informed
    )
    assert created.status_code == 201, created.text
    signal = created.json()
    assert signal["consentBy"] == "legalRepresentative"
    assert signal["informedParties"] == {
        "person": {"method": "inPerson", "informedOn": today.isoformat()},
        "legalRepresentative": {"postponeReason": "safety"},
    }

    path = f"/v1/signals/{signal['id']}/informed"
    bad = api.post(path, {"party": "legalRepresentative", "method": "phone"})
    assert bad.status_code == 400 and bad.json()["invalidParams"][0]["name"] == "informedOn", bad.text
    done = api.post(
        path, {"party": "legalRepresentative", "method": "phone", "informedOn": today.isoformat()}
    )
    assert done.status_code == 200, done.text
    assert done.json()["informedParties"]["legalRepresentative"] == {
        "method": "phone",
        "informedOn": today.isoformat(),
    }
    again = api.post(
        path, {"party": "legalRepresentative", "method": "phone", "informedOn": today.isoformat()}
    )
    assert again.status_code in (409, 422) and again.json()["code"] == "informed_already", again.text
    # Somebody else's signal: the one 404.
    other = Api(platform.url, by_org(professionals)["Kredietbank"][0]["apiKey"])
    assert (
        other.post(path, {"party": "person", "method": "phone", "informedOn": today.isoformat()}).status_code
        == 404
    )

    # An adult under guardianship: the curator informed and consenting.
    ward = api.signal(
        adult,
        "1950-05-05",
        consentGiven=False,
        consentBy="legalRepresentative",
        underGuardianship=True,
        informed={
            "legalRepresentative": {"method": "letter", "informedOn": today.isoformat()},
            "representativeReason": "guardianship",
        },
    )
    assert ward.status_code == 201, ward.text
    assert ward.json()["underGuardianship"] is True
