"""The rules of a signal, table-driven, without network or database."""

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from services.signal import domain
from services.signal.domain import (
    Contact,
    EndReason,
    InformedInput,
    InformedParty,
    OrganisationInput,
    Registration,
    Status,
)
from services.signal.tests.helpers import registration

NOW = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def informed(party: str = "", method: str = "", on: str = "", postpone: str = "") -> InformedInput:
    return InformedInput(party=party, method=method, informed_on=on, postpone_reason=postpone)


def reason(registration: Registration) -> str | None:
    try:
        domain.new_signal(registration, "00000000-0000-0000-0000-000000000001", NOW)
    except DomainError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2000, 1, 15), date(2026, 1, 15), 26),
        (date(2000, 1, 16), date(2026, 1, 15), 25),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2026, 1, 15), date(2026, 1, 15), 0),
    ],
)
def test_age_on(birth: date, day: date, age: int) -> None:
    assert domain.age_on(birth, day) == age


@pytest.mark.parametrize(
    ("age", "party"),
    [
        (0, InformedParty.LEGAL_REPRESENTATIVE),
        (11, InformedParty.LEGAL_REPRESENTATIVE),
        (12, InformedParty.BOTH),
        (15, InformedParty.BOTH),
        (16, InformedParty.PERSON),
        (22, InformedParty.PERSON),
        (23, InformedParty.PERSON),
        (80, InformedParty.PERSON),
    ],
)
def test_age_regimes_for_informing(age: int, party: InformedParty) -> None:
    assert domain.required_informed_party(age) is party


# Birth dates relative to NOW (2026-01-15): the birthday decides the regime to the day.
UNDER_12 = "2014-01-16"  # 11, turns 12 tomorrow
JUST_12 = "2014-01-15"
JUST_16 = "2010-01-15"
JUST_22 = "2003-06-01"
TURNS_23_TOMORROW = "2003-01-16"
JUST_23 = "2003-01-15"


@pytest.mark.parametrize(
    ("birth", "record", "expected"),
    [
        (UNDER_12, informed("legal_representative", "letter", "2026-01-10"), None),
        (UNDER_12, informed("both", "letter", "2026-01-10"), "informed_party_wrong_for_age"),
        (UNDER_12, informed("person", "letter", "2026-01-10"), "informed_party_wrong_for_age"),
        (JUST_12, informed("both", "in_person", "2026-01-15"), None),
        (
            JUST_12,
            informed("legal_representative", "in_person", "2026-01-15"),
            "informed_party_wrong_for_age",
        ),
        (JUST_16, informed("person", "email", "2026-01-15"), None),
        # Issue 22 changed this rule: at 16 and 17 the parents may be informed as well.
        (JUST_16, informed("both", "email", "2026-01-15"), None),
        (JUST_16, informed("legal_representative", "email", "2026-01-15"), "informed_party_wrong_for_age"),
        (JUST_22, informed("person", "phone", "2026-01-02"), None),
        # Postponed for a documented reason: no method or date, the party fits the regime.
        (UNDER_12, informed(postpone="safety"), None),
        (UNDER_12, informed("legal_representative", postpone="not_reachable"), None),
        (UNDER_12, informed("person", postpone="not_reachable"), "informed_party_wrong_for_age"),
        (JUST_16, informed("person", "phone", "2026-01-02", postpone="safety"), "informed_conflicting"),
        (JUST_16, informed(postpone="?7"), "postpone_reason_unknown"),
        # Incomplete or wrong records.
        (JUST_16, informed(), "informed_missing"),
        (JUST_16, informed("person"), "informed_method_missing"),
        (JUST_16, informed("person", "phone"), "informed_on_missing"),
        (JUST_16, informed("person", "phone", "15-01-2026"), "informed_on_invalid"),
        (JUST_16, informed("person", "phone", "2026-01-16"), "informed_on_in_future"),
        (JUST_16, informed("person", "phone", "2009-01-01"), "informed_on_before_birth"),
        (JUST_16, informed("?9", "phone", "2026-01-01"), "informed_party_unknown"),
        (JUST_16, informed("person", "?9", "2026-01-01"), "informed_method_unknown"),
    ],
)
def test_informed_record(birth: str, record: InformedInput, expected: str | None) -> None:
    reg = registration(birth_date=birth, informed=record)
    # Adults need the 23+ elements; they are not what this table is about.
    assert reason(dataclasses.replace(reg, multi_problem_attested=True, consent_given=True)) == expected


@pytest.mark.parametrize(
    ("birth", "legal_basis", "attested", "consent", "expected"),
    [
        # Youth regime (under 23): no attestation. Issue 22 changed the consent rule: an
        # organisation that signals with consent needs it at every age.
        (JUST_22, "consent", False, False, "consent_missing"),
        (JUST_22, "consent", False, True, None),
        (TURNS_23_TOMORROW, "consent", False, True, None),
        (TURNS_23_TOMORROW, "legal_ground", False, False, None),
        # From 23: multi-problem attestation always, consent when signalling with consent.
        (JUST_23, "consent", True, True, None),
        (JUST_23, "consent", False, True, "multi_problem_not_attested"),
        (JUST_23, "consent", True, False, "consent_missing"),
        (JUST_23, "legal_ground", True, False, None),
        (JUST_23, "legal_ground", False, False, "multi_problem_not_attested"),
        ("1950-05-05", "consent", True, True, None),
    ],
)
def test_adult_regime(
    birth: str, legal_basis: str, attested: bool, consent: bool, expected: str | None
) -> None:
    org = OrganisationInput(
        organisation_id="org-1",
        legal_basis=legal_basis,
        legal_ground="Wmo 2015 art. 5.2.1" if legal_basis == "legal_ground" else "",
    )
    reg = registration(
        birth_date=birth,
        organisation=org,
        informed=informed("person", "phone", "2026-01-15"),
        multi_problem_attested=attested,
        consent_given=consent,
    )
    assert reason(reg) == expected


def _contact(**kw: str) -> Contact:
    base = registration().professional
    return dataclasses.replace(base, **kw)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        ({"pseudonym": ""}, "pseudonym_missing"),
        ({"pseudonym": "   "}, "pseudonym_missing"),
        ({"pseudonym": "x" * 201}, "pseudonym_too_long"),
        ({"birth_date": ""}, "birth_date_missing"),
        ({"birth_date": "2012-3-1"}, "birth_date_invalid"),
        ({"birth_date": "20120301"}, "birth_date_invalid"),
        ({"birth_date": "2012-13-01"}, "birth_date_invalid"),
        ({"birth_date": "2026-01-16"}, "birth_date_in_future"),
        ({"birth_date": "1899-12-31"}, "birth_date_too_early"),
        ({"professional": _contact(professional_id="")}, "professional_id_missing"),
        ({"professional": _contact(name=" ")}, "contact_name_missing"),
        ({"professional": _contact(email="")}, "contact_email_missing"),
        ({"professional": _contact(email="anna@")}, "contact_email_invalid"),
        ({"professional": _contact(role="")}, None),
        ({"professional": _contact(phone="")}, None),
        ({"professional": _contact(organisation_id="org-2")}, "organisation_mismatch"),
        ({"professional": _contact(organisation_id="org-1")}, None),
        ({"organisation": OrganisationInput(legal_basis="consent")}, "organisation_missing"),
        ({"organisation": OrganisationInput(organisation_id="o")}, "legal_basis_missing"),
        ({"organisation": OrganisationInput(organisation_id="o", legal_basis="?5")}, "legal_basis_unknown"),
        (
            {"organisation": OrganisationInput(organisation_id="o", legal_basis="legal_ground")},
            "legal_ground_missing",
        ),
        (
            {
                "organisation": OrganisationInput(
                    organisation_id="o", legal_basis="legal_ground", legal_ground="Jw 7.1"
                )
            },
            None,
        ),
        (
            {
                "organisation": OrganisationInput(
                    organisation_id="o", legal_basis="consent", domains=("debt", "x")
                )
            },
            "domain_unknown",
        ),
    ],
)
def test_registration_refusals(change: dict, expected: str | None) -> None:
    assert reason(registration(**change)) == expected


def test_refusals_are_invalid_argument_without_personal_data() -> None:
    with pytest.raises(InvalidArgument) as exc:
        domain.new_signal(registration(birth_date="2030-02-02"), "id", NOW)
    assert "2030" not in exc.value.detail


def test_new_signal_snapshot() -> None:
    s = domain.new_signal(registration(), "sig", NOW)
    assert s.status is Status.ACTIVE and s.version == 1
    assert s.active_until == NOW + timedelta(days=730)
    assert s.professional.organisation_id == "org-1"
    assert s.professional.organisation_name == "Jeugdzorg Rijnmond"
    assert s.organisation.domains == ("youth", "care")
    assert s.informed.informed_on == date(2026, 1, 14)


def _signal(**kw: object) -> domain.Signal:
    return dataclasses.replace(domain.new_signal(registration(), "sig", NOW), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("days_after_registration", "allowed"),
    [
        (0, False),
        (639, False),  # 91 days left
        (640, True),  # 90 days left: the window opens
        (700, True),
        (729, True),
        (730, False),  # lapsed
        (800, False),
    ],
)
def test_renewal_window(days_after_registration: int, allowed: bool) -> None:
    s = _signal()
    now = NOW + timedelta(days=days_after_registration)
    assert domain.may_renew(s.active_until, now) is allowed
    if allowed:
        # The organisation signals with consent: renewal records it again (issue 22).
        r = domain.renewed(s, now, multi_problem_attested=False, consent_given=True)
        assert r.active_until == now + timedelta(days=730) and r.version == 2
    else:
        with pytest.raises(FailedPrecondition) as exc:
            domain.renewed(s, now, multi_problem_attested=False, consent_given=False)
        assert exc.value.reason == "renewal_window_closed"


def test_renewal_after_turning_23_needs_the_adult_elements() -> None:
    # Registered at 22 without attestation; 700 days later the person is 24. Without consent
    # too: since issue 22 only a signal registered before that rule can lack it.
    s = domain.new_signal(
        registration(birth_date="2003-06-01", informed=informed("person", "phone", "2026-01-15")), "sig", NOW
    )
    s = dataclasses.replace(s, consent_given=False, consent_by=None)
    later = NOW + timedelta(days=700)
    with pytest.raises(InvalidArgument) as exc:
        domain.renewed(s, later, multi_problem_attested=False, consent_given=False)
    assert exc.value.reason == "multi_problem_not_attested"
    with pytest.raises(InvalidArgument) as exc:
        domain.renewed(s, later, multi_problem_attested=True, consent_given=False)
    assert exc.value.reason == "consent_missing"
    r = domain.renewed(s, later, multi_problem_attested=True, consent_given=True)
    assert r.multi_problem_attested and r.consent_given


def test_renewing_an_archived_signal_is_refused() -> None:
    s = _signal(status=Status.ARCHIVED)
    with pytest.raises(FailedPrecondition) as exc:
        domain.renewed(s, NOW + timedelta(days=700), multi_problem_attested=False, consent_given=False)
    assert exc.value.reason == "signal_not_active"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("goal_reached", EndReason.GOAL_REACHED),
        ("unjustified", EndReason.UNJUSTIFIED),
        ("other", EndReason.OTHER),
        ("", "end_reason_missing"),
        ("expired", "end_reason_not_allowed"),
        ("objection_upheld", "end_reason_not_allowed"),
        ("purged", "end_reason_not_allowed"),
        ("?17", "end_reason_unknown"),
    ],
)
def test_ending_reasons(code: str, expected: object) -> None:
    if isinstance(expected, EndReason):
        assert domain.professional_end_reason(code) is expected
    else:
        with pytest.raises(InvalidArgument) as exc:
            domain.professional_end_reason(code)
        assert exc.value.reason == expected


def test_ending_archives_for_five_years() -> None:
    later = NOW + timedelta(days=100)
    e = domain.ended(_signal(), EndReason.GOAL_REACHED, later)
    assert e.status is Status.ARCHIVED and e.end_reason is EndReason.GOAL_REACHED
    assert e.ended_at == later and e.delete_after == later + timedelta(days=1825)
    assert e.version == 2
    with pytest.raises(FailedPrecondition):
        domain.ended(e, EndReason.OTHER, later)


@pytest.mark.parametrize(
    ("reason", "archived"),
    [(EndReason.GOAL_REACHED, True), (EndReason.OTHER, True), (EndReason.UNJUSTIFIED, False)],
)
def test_end_archives_or_deletes(reason: EndReason, archived: bool) -> None:
    after = domain.end(_signal(), reason, NOW)
    assert (after is not None) is archived
    if after is not None:
        assert after.status is Status.ARCHIVED and after.end_reason is reason
    with pytest.raises(FailedPrecondition):
        domain.end(_signal(status=Status.ARCHIVED), reason, NOW)


def test_delete_at_once_reasons() -> None:
    assert {EndReason.UNJUSTIFIED, EndReason.OBJECTION_UPHELD} == domain.DELETE_AT_ONCE


@pytest.mark.parametrize(
    ("days_left", "reminder", "lapsed"),
    [(31, False, False), (30, True, False), (1, True, False), (0, False, True), (-5, False, True)],
)
def test_reminder_and_expiry(days_left: int, reminder: bool, lapsed: bool) -> None:
    until = NOW + timedelta(days=days_left)
    assert domain.reminder_due(until, NOW) is reminder
    assert domain.expired(until, NOW) is lapsed


def test_only_the_owner_sees_a_signal_and_others_get_not_found() -> None:
    signal = domain.new_signal(registration(), "00000000-0000-0000-0000-000000000001", NOW)
    assert domain.owned(signal, "prof-1") is signal
    for other in (None, signal):
        with pytest.raises(DomainError) as exc:
            domain.owned(other, "prof-2")
        assert exc.value.reason == "signal_not_found"


@pytest.mark.parametrize(
    ("code", "allowed"), [("", True), ("objection_upheld", True), ("goal_reached", False), ("expired", False)]
)
def test_removal_only_after_an_upheld_objection(code: str, allowed: bool) -> None:
    if allowed:
        assert domain.removal_reason(code) is EndReason.OBJECTION_UPHELD
    else:
        with pytest.raises(InvalidArgument):
            domain.removal_reason(code)


def test_lifecycle_cutoffs_match_the_rules() -> None:
    cut = domain.lifecycle_cutoffs(NOW)
    for days in (-1, 0, 1, 29, 30, 31):
        active_until = NOW + timedelta(days=days)
        assert (active_until <= cut.expire_until) == domain.expired(active_until, NOW)
        assert (cut.remind_after < active_until <= cut.remind_until) == domain.reminder_due(active_until, NOW)


def test_renewal_carries_no_attestation_over() -> None:
    """Issue 12: an adult signal attested at registration must be attested again at renewal."""
    s = domain.new_signal(
        registration(
            birth_date="1980-06-01",
            informed=informed("person", "phone", "2026-01-15"),
            multi_problem_attested=True,
            consent_given=True,
        ),
        "sig",
        NOW,
    )
    later = NOW + timedelta(days=700)
    with pytest.raises(InvalidArgument) as exc:
        domain.renewed(s, later, multi_problem_attested=False, consent_given=False)
    assert exc.value.reason == "multi_problem_not_attested"
    r = domain.renewed(s, later, multi_problem_attested=True, consent_given=True)
    assert r.multi_problem_attested and r.consent_given and r.registered_at == s.registered_at


@pytest.mark.parametrize(
    ("birth", "day", "adult"),
    [
        ("2003-03-01", "2026-02-28", False),
        ("2003-03-01", "2026-03-01", True),
        ("2004-02-29", "2027-02-28", False),  # a 29 February birthday is on 1 March
        ("2004-02-29", "2027-03-01", True),
        ("2005-03-01", "2028-02-29", False),
        ("2005-02-28", "2028-02-29", True),
    ],
)
def test_the_age_cutoff_agrees_with_age_on(birth: str, day: str, adult: bool) -> None:
    b, d = date.fromisoformat(birth), date.fromisoformat(day)
    assert (b <= domain.adult_born_on_or_before(d)) is adult
    assert (domain.age_on(b, d) >= domain.ADULT_REGIME_AGE) is adult


def test_youth_signal_ages_out_and_is_reminded_30_days_before() -> None:
    s = domain.new_signal(
        registration(birth_date="2003-03-01", informed=informed("person", "phone", "2026-01-14")), "sig", NOW
    )
    assert domain.youth_regime(s)
    turns_23 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert not domain.age_reminder_due(s, turns_23 - timedelta(days=31))
    assert domain.age_reminder_due(s, turns_23 - timedelta(days=30))
    assert not domain.aged_out(s, turns_23 - timedelta(days=1)) and domain.aged_out(s, turns_23)
    cut = domain.lifecycle_cutoffs(turns_23)
    assert s.birth_date <= cut.aged_out_born_until
    # Re-attested (a renewal under the adult regime, allowed before the renewal window): stays.
    with pytest.raises(InvalidArgument):
        domain.renewed(s, turns_23 - timedelta(days=20), multi_problem_attested=False, consent_given=True)
    r = domain.renewed(s, turns_23 - timedelta(days=20), multi_problem_attested=True, consent_given=True)
    assert not domain.youth_regime(r) and not domain.aged_out(r, turns_23)
