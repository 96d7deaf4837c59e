"""Issue 22: consent by profile and informing per party, at the age boundaries.

Birth dates relative to NOW (2026-01-15): each pair is the last day of one regime and the
first day of the next (11/12, 15/16, 17/18, 22/23), with and without guardianship, for a
consent-based and a legal-ground organisation.
"""

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.signal import domain
from services.signal.domain import ConsentBy, InformedInput, OrganisationInput, PartyInput, Registration
from services.signal.tests.helpers import registration

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
AGE_11 = "2014-01-16"
AGE_12 = "2014-01-15"
AGE_15 = "2010-01-16"
AGE_16 = "2010-01-15"
AGE_17 = "2008-01-16"
AGE_18 = "2008-01-15"
AGE_22 = "2003-01-16"
AGE_23 = "2003-01-15"

CONSENT = OrganisationInput(organisation_id="org-1", legal_basis="consent")
LEGAL_GROUND = OrganisationInput(
    organisation_id="org-1", legal_basis="legal_ground", legal_ground="Jeugdwet art. 7.1.3.1"
)
INFORMED = PartyInput(method="phone", informed_on="2026-01-14")
SAFETY = PartyInput(postpone_reason="safety")


def person_and_rep(person: PartyInput | None, rep: PartyInput | None, reason: str = "") -> InformedInput:
    return InformedInput(person=person, representative=rep, representative_reason=reason)


def outcome(reg: Registration) -> str | None:
    try:
        domain.new_signal(reg, "00000000-0000-0000-0000-000000000001", NOW)
    except DomainError as exc:
        return exc.reason
    return None


def _informed_for(birth: str) -> InformedInput:
    """An informing record that fits the age, so a table about consent tests only consent."""
    age = domain.age_on(date.fromisoformat(birth), NOW.date())
    if age < 12:
        return person_and_rep(None, INFORMED)
    if age < 16:
        return person_and_rep(INFORMED, INFORMED)
    return person_and_rep(INFORMED, None)


@pytest.mark.parametrize(
    ("birth", "guardianship", "org", "consent_by", "expected"),
    [
        # Consent-based organisation: whose consent, per regime.
        (AGE_11, False, CONSENT, "", "consent_missing"),
        (AGE_11, False, CONSENT, "legal_representative", None),
        (AGE_11, False, CONSENT, "person", "consent_wrong_party"),
        (AGE_11, False, CONSENT, "both", "consent_wrong_party"),
        (AGE_12, False, CONSENT, "legal_representative", None),
        (AGE_12, False, CONSENT, "both", None),
        (AGE_12, False, CONSENT, "person", "consent_wrong_party"),
        (AGE_15, False, CONSENT, "legal_representative", None),
        (AGE_15, False, CONSENT, "person", "consent_wrong_party"),
        (AGE_16, False, CONSENT, "person", None),
        (AGE_16, False, CONSENT, "legal_representative", "consent_wrong_party"),
        (AGE_16, False, CONSENT, "", "consent_missing"),
        (AGE_17, True, CONSENT, "legal_representative", "guardianship_minor"),
        (AGE_18, False, CONSENT, "person", None),
        (AGE_18, True, CONSENT, "legal_representative", None),
        (AGE_18, True, CONSENT, "both", None),
        (AGE_18, True, CONSENT, "person", "consent_wrong_party"),
        (AGE_22, False, CONSENT, "", "consent_missing"),
        (AGE_22, False, CONSENT, "person", None),
        (AGE_22, True, CONSENT, "legal_representative", None),
        (AGE_23, False, CONSENT, "person", None),
        (AGE_23, False, CONSENT, "", "consent_missing"),
        (AGE_23, True, CONSENT, "legal_representative", None),
        (AGE_23, True, CONSENT, "person", "consent_wrong_party"),
        (AGE_23, False, CONSENT, "?4", "consent_by_unknown"),
        # Legal ground: the ground is recorded, consent is not required at any age.
        (AGE_11, False, LEGAL_GROUND, "", None),
        (AGE_15, False, LEGAL_GROUND, "", None),
        (AGE_16, False, LEGAL_GROUND, "", None),
        (AGE_22, False, LEGAL_GROUND, "", None),
        (AGE_23, False, LEGAL_GROUND, "", None),
        (AGE_23, True, LEGAL_GROUND, "", None),
    ],
)
def test_consent_by_profile(
    birth: str, guardianship: bool, org: OrganisationInput, consent_by: str, expected: str | None
) -> None:
    reg = registration(
        birth_date=birth,
        organisation=org,
        informed=_informed_for(birth),
        consent_given=False,
        consent_by=consent_by,
        under_guardianship=guardianship,
        multi_problem_attested=True,
    )
    assert outcome(reg) == expected


def test_consent_flag_alone_records_the_consent_the_age_needs() -> None:
    """The original request shape (consent_given only) still works and records whose consent."""
    for birth, whose in ((AGE_15, ConsentBy.LEGAL_REPRESENTATIVE), (AGE_16, ConsentBy.PERSON)):
        reg = registration(birth_date=birth, informed=_informed_for(birth), consent_given=True)
        assert domain.new_signal(reg, "s", NOW).consent_by is whose


def test_refusal_names_whose_consent_is_needed() -> None:
    reg = registration(birth_date=AGE_15, informed=_informed_for(AGE_15), consent_given=False)
    with pytest.raises(InvalidArgument) as exc:
        domain.new_signal(reg, "s", NOW)
    assert exc.value.reason == "consent_missing"
    assert "wettelijk vertegenwoordiger" in exc.value.detail
    assert exc.value.metadata == {"required_consent_by": "legal_representative"}


def test_legal_ground_is_recorded_on_the_signal() -> None:
    reg = registration(birth_date=AGE_15, organisation=LEGAL_GROUND, consent_given=False)
    signal = domain.new_signal(reg, "s", NOW)
    assert signal.organisation.legal_ground == "Jeugdwet art. 7.1.3.1"
    assert signal.consent_by is None and not signal.consent_given


P, R = INFORMED, SAFETY


@pytest.mark.parametrize(
    ("birth", "guardianship", "informed", "expected"),
    [
        # Under 12: the legal representative only.
        (AGE_11, False, person_and_rep(None, P), None),
        (AGE_11, False, person_and_rep(None, R), None),
        (AGE_11, False, person_and_rep(P, P), "informed_party_wrong_for_age"),
        (AGE_11, False, person_and_rep(P, None), "informed_party_wrong_for_age"),
        # 12 to 15: both, each informed or postponed on its own.
        (AGE_12, False, person_and_rep(P, P), None),
        (AGE_12, False, person_and_rep(P, R), None),  # child informed, parent postponed (safety)
        (AGE_12, False, person_and_rep(R, P), None),
        (AGE_12, False, person_and_rep(None, P), "informed_party_wrong_for_age"),
        (AGE_15, False, person_and_rep(P, R), None),
        (AGE_15, False, person_and_rep(P, None), "informed_party_wrong_for_age"),
        # 16 and 17: the person; the parents may be informed too (reason minor).
        (AGE_16, False, person_and_rep(P, None), None),
        (AGE_16, False, person_and_rep(P, P), None),
        (AGE_16, False, person_and_rep(P, P, "minor"), None),
        (AGE_16, False, person_and_rep(None, P), "informed_party_wrong_for_age"),
        (AGE_17, False, person_and_rep(P, P, "guardianship"), "guardianship_minor"),
        (AGE_17, True, person_and_rep(P, None), "guardianship_minor"),
        # 18 and older: the person; the representative only under guardianship.
        (AGE_18, False, person_and_rep(P, None), None),
        (AGE_18, False, person_and_rep(P, P), "informed_party_wrong_for_age"),
        (AGE_18, False, person_and_rep(P, P, "minor"), "representative_reason_wrong_for_age"),
        (AGE_18, True, person_and_rep(None, P), None),
        (AGE_18, False, person_and_rep(None, P, "guardianship"), None),
        (AGE_22, True, person_and_rep(R, P), None),
        (AGE_22, False, person_and_rep(None, P), "informed_party_wrong_for_age"),
        (AGE_23, True, person_and_rep(P, P, "guardianship"), None),
        (AGE_23, True, person_and_rep(None, R), None),
        (AGE_23, False, person_and_rep(P, None), None),
        (AGE_23, False, person_and_rep(None, P), "informed_party_wrong_for_age"),
        # Per party and the one-record shape together: refused.
        (
            AGE_16,
            False,
            InformedInput(party="person", method="phone", informed_on="2026-01-14", person=P),
            "informed_conflicting",
        ),
        (AGE_16, False, person_and_rep(PartyInput(method="phone"), None), "informed_on_missing"),
        (
            AGE_16,
            False,
            person_and_rep(
                PartyInput(method="phone", informed_on="2026-01-14", postpone_reason="safety"), None
            ),
            "informed_conflicting",
        ),
        (AGE_16, False, person_and_rep(P, None, "?3"), "representative_reason_unknown"),
    ],
)
def test_informing_per_party(
    birth: str, guardianship: bool, informed: InformedInput, expected: str | None
) -> None:
    reg = registration(
        birth_date=birth,
        organisation=LEGAL_GROUND,
        informed=informed,
        under_guardianship=guardianship,
        multi_problem_attested=True,
    )
    assert outcome(reg) == expected


def test_representative_reason_is_recorded() -> None:
    minor = domain.new_signal(
        registration(birth_date=AGE_16, organisation=LEGAL_GROUND, informed=person_and_rep(P, P)), "s", NOW
    )
    assert minor.informed.representative_reason is domain.RepresentativeReason.MINOR
    adult = domain.new_signal(
        registration(
            birth_date=AGE_23,
            organisation=LEGAL_GROUND,
            informed=person_and_rep(None, P, "guardianship"),
            multi_problem_attested=True,
        ),
        "s",
        NOW,
    )
    assert adult.under_guardianship
    assert adult.informed.representative_reason is domain.RepresentativeReason.GUARDIANSHIP
    assert adult.informed.party is domain.InformedParty.LEGAL_REPRESENTATIVE


def _postponed_parent() -> domain.Signal:
    reg = registration(birth_date=AGE_12, informed=person_and_rep(P, R))
    return domain.new_signal(reg, "s", NOW)


def test_completing_a_postponed_party() -> None:
    signal = _postponed_parent()
    assert signal.informed.postponed
    later = NOW + timedelta(days=20)
    done = domain.informing_completed(
        signal, "legal_representative", PartyInput(method="letter", informed_on="2026-02-03"), later
    )
    assert not done.informed.postponed
    assert done.informed.representative == domain.PartyInforming(
        method=domain.InformedMethod.LETTER, informed_on=date(2026, 2, 3)
    )
    assert done.informed.person == signal.informed.person
    assert done.version == signal.version + 1


@pytest.mark.parametrize(
    ("party", "record", "expected"),
    [
        ("person", PartyInput(method="letter", informed_on="2026-02-03"), "informed_already"),
        ("", PartyInput(method="letter", informed_on="2026-02-03"), "informed_party_missing"),
        ("legal_representative", PartyInput(method="letter"), "informed_on_missing"),
        (
            "legal_representative",
            PartyInput(method="letter", informed_on="2026-03-01"),
            "informed_on_in_future",
        ),
        ("legal_representative", PartyInput(postpone_reason="safety"), "informed_method_missing"),
    ],
)
def test_completing_refusals(party: str, record: PartyInput, expected: str) -> None:
    with pytest.raises(DomainError) as exc:
        domain.informing_completed(_postponed_parent(), party, record, NOW + timedelta(days=20))
    assert exc.value.reason == expected


def test_completing_a_party_that_was_not_recorded() -> None:
    adult = domain.new_signal(
        registration(birth_date=AGE_23, informed=person_and_rep(R, None), multi_problem_attested=True),
        "s",
        NOW,
    )
    with pytest.raises(InvalidArgument) as exc:
        domain.informing_completed(
            adult, "legal_representative", PartyInput(method="letter", informed_on="2026-01-15"), NOW
        )
    assert exc.value.reason == "informed_party_not_recorded"


def test_completing_an_ended_signal_is_refused() -> None:
    ended = domain.ended(_postponed_parent(), domain.EndReason.GOAL_REACHED, NOW)
    with pytest.raises(FailedPrecondition):
        domain.informing_completed(ended, "both", PartyInput(method="letter", informed_on="2026-01-15"), NOW)


def test_informing_reminder_after_fourteen_days_or_the_region_setting() -> None:
    signal = _postponed_parent()
    assert not domain.informing_reminder_due(signal, NOW + timedelta(days=13, hours=23))
    assert domain.informing_reminder_due(signal, NOW + timedelta(days=14))
    assert domain.informing_reminder_due(signal, NOW + timedelta(days=7), timedelta(days=7))
    done = dataclasses.replace(signal, informed=domain.Informed(person=P_DONE, representative=P_DONE))
    assert not domain.informing_reminder_due(done, NOW + timedelta(days=30))


P_DONE = domain.PartyInforming(method=domain.InformedMethod.PHONE, informed_on=date(2026, 1, 14))


# --- renewal takes consentBy like registration (issue 22), at the age boundaries -----------


def _renewal(
    birth: str,
    org: domain.LegalBasis,
    consent_by: str,
    consent_given: bool,
    attested: bool,
    guardianship: bool,
) -> str | domain.ConsentBy | None:
    """Renew at NOW a signal registered 650 days before: the reason it is refused, else whose
    consent the renewed signal records."""
    at = NOW - timedelta(days=650)
    informed = InformedInput(party="both", method="phone", informed_on=at.date().isoformat())
    registered = domain.new_signal(
        registration(informed=informed), "00000000-0000-0000-0000-000000000002", at
    )
    organisation = dataclasses.replace(
        registered.organisation,
        legal_basis=org,
        legal_ground="Jeugdwet art. 7.1.3.1" if org is domain.LegalBasis.LEGAL_GROUND else "",
    )
    signal = dataclasses.replace(
        registered,
        birth_date=date.fromisoformat(birth),
        organisation=organisation,
        under_guardianship=guardianship,
        multi_problem_attested=False,
    )
    try:
        renewed = domain.renewed(
            signal, NOW, multi_problem_attested=attested, consent_given=consent_given, consent_by=consent_by
        )
    except DomainError as exc:
        return exc.reason
    assert renewed.version == signal.version + 1
    return renewed.consent_by


C, G = domain.LegalBasis.CONSENT, domain.LegalBasis.LEGAL_GROUND
REP, PERSON, BOTH = ConsentBy.LEGAL_REPRESENTATIVE, ConsentBy.PERSON, ConsentBy.BOTH


@pytest.mark.parametrize(
    ("birth", "org", "consent_by", "given", "attested", "guardianship", "expected"),
    [
        # 11/12: the representative; "both" only from 12
        (AGE_11, C, "both", False, False, False, "consent_wrong_party"),
        (AGE_11, C, "legal_representative", False, False, False, REP),
        (AGE_12, C, "both", False, False, False, BOTH),
        # 15/16: representative under 16, the person from 16; nothing given is refused
        (AGE_15, C, "", False, False, False, "consent_missing"),
        (AGE_15, C, "person", False, False, False, "consent_wrong_party"),
        (AGE_15, C, "", True, False, False, REP),
        (AGE_16, C, "legal_representative", False, False, False, "consent_wrong_party"),
        (AGE_16, C, "person", False, False, False, PERSON),
        (AGE_16, C, "", True, False, False, PERSON),
        # 22/23: from 23 the attestation again, and the person's consent; a youth-regime
        # signal that would age out within the renewal window is re-attested already at 22
        (AGE_22, C, "person", False, False, False, "multi_problem_not_attested"),
        (AGE_22, C, "person", False, True, False, PERSON),
        (AGE_23, C, "person", False, False, False, "multi_problem_not_attested"),
        (AGE_23, C, "", False, True, False, "consent_missing"),
        (AGE_23, C, "person", False, True, False, PERSON),
        # an adult under guardianship: the representative
        (AGE_23, C, "person", False, True, True, "consent_wrong_party"),
        (AGE_23, C, "legal_representative", False, True, True, REP),
        # a legal ground needs no consent at any age (the attestation from 23 still)
        (AGE_15, G, "", False, False, False, None),
        (AGE_23, G, "", False, True, False, None),
        (AGE_23, G, "", False, False, False, "multi_problem_not_attested"),
    ],
)
def test_renewal_consent_by_age(
    birth: str,
    org: domain.LegalBasis,
    consent_by: str,
    given: bool,
    attested: bool,
    guardianship: bool,
    expected: object,
) -> None:
    assert _renewal(birth, org, consent_by, given, attested, guardianship) == expected
