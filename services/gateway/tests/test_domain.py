"""The gateway's pure rules, table-driven (no network, no database)."""

from datetime import date

import pytest

from services.common.errors import InvalidArgument
from services.gateway import auth, domain
from services.gateway.openapi import check_body

TODAY = date(2026, 11, 23)
GOOD = {
    "bsn": "123456782",
    "birthDate": "2010-05-01",
    "informed": {"party": "both", "method": "phone", "informedOn": "2026-11-23"},
}


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({}, None, None),
        ({"informed": {"postponeReason": "notReachable"}}, None, None),
        ({"birthDate": "2026-11-24"}, "birth_date_in_future", "birthDate"),
        ({"birthDate": "2026-11-23"}, None, None),
        ({"birthDate": "1899-12-31"}, "invalid_field", "birthDate"),
        ({"birthDate": "2010-02-30"}, "invalid_field", "birthDate"),
        ({"birthDate": "20100501"}, "invalid_field", "birthDate"),
        ({"bsn": ["123456782"]}, "invalid_field", "bsn"),
        ({"bsn": "1" * 21}, "bsn_format", "bsn"),
        (
            {"informed": {"party": "both", "method": "phone", "informedOn": "2026-11-24"}},
            "date_in_future",
            "informed.informedOn",
        ),
        (
            {"informed": {"party": "both", "method": "fax", "informedOn": "2026-11-01"}},
            "invalid_field",
            "informed.method",
        ),
        ({"informed": {"postponeReason": "safety", "party": "both"}}, "unknown_field", "informed.party"),
        ({"informed": {}}, "missing_field", "informed.party"),
        ({"multiProblemAttested": 1}, "invalid_field", "multiProblemAttested"),
        ({"reason": "x"}, "unknown_field", "reason"),
    ],
)
def test_signal_registration(change, reason, field) -> None:
    body = {**GOOD, **change}
    if reason is None:
        reg = domain.parse_signal_registration(body, TODAY)
        assert reg.bsn == body["bsn"]
        return
    with pytest.raises(InvalidArgument) as exc:
        domain.parse_signal_registration(body, TODAY)
    assert exc.value.reason == reason
    assert exc.value.metadata.get("field") == field
    assert "123456782" not in exc.value.detail


@pytest.mark.parametrize(
    ("args", "page", "size", "ok"),
    [
        ({}, 1, 20, True),
        ({"page": "3", "pageSize": "100"}, 3, 100, True),
        ({"pageSize": "101"}, 0, 0, False),
        ({"page": "0"}, 0, 0, False),
        ({"page": "-1"}, 0, 0, False),
        ({"page": "١"}, 0, 0, False),
        ({"page": "1001"}, 0, 0, False),
    ],
)
def test_paging(args, page, size, ok) -> None:
    if ok:
        assert domain.parse_page(args) == domain.Page(page, size)
    else:
        with pytest.raises(InvalidArgument):
            domain.parse_page(args)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        (None, None),
        ("", None),
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer " + "x" * 201, None),
    ],
)
def test_bearer(header, key) -> None:
    assert domain.parse_bearer(header) == key


def test_api_keys_are_random_and_hashed() -> None:
    a, b = domain.new_api_key(), domain.new_api_key()
    assert a != b and a.startswith("sluis_") and len(a) > 40
    assert domain.hash_api_key(a) == domain.hash_api_key(a) != domain.hash_api_key(b)
    assert a.encode() not in domain.hash_api_key(a)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (["bsn", "birthDate"], None),
        ([" bsn ", "birthDate", "consentGiven"], None),
        (["bsn"], "missing_column"),
        (["bsn", "birthDate", "name"], "unknown_column"),
        (["bsn", "birthDate", "bsn"], "duplicate_column"),
    ],
)
def test_bulk_csv_header(header, reason) -> None:
    if reason is None:
        assert domain.check_csv_header(header)[0] == "bsn"
    else:
        with pytest.raises(InvalidArgument) as exc:
            domain.check_csv_header(header)
        assert exc.value.reason == reason


@pytest.mark.parametrize(
    ("values", "reason", "field"),
    [
        (["123456782", "1990-01-01", "", "person", "letter", "2026-01-02", "", "true", "ja"], None, None),
        (["123456782", "1990-01-01", "", "", "", "", "safety", "", ""], None, None),
        (
            ["123456782", "1990-01-01", "", "person", "letter", "2026-01-02", "", "maybe", ""],
            "invalid_field",
            "multiProblemAttested",
        ),
        (["123456782", "1990-01-01"], "column_count", None),
        (["123456782", "2999-01-01", "", "", "", "", "safety", "", ""], "birth_date_in_future", "birthDate"),
    ],
)
def test_bulk_csv_rows(values, reason, field) -> None:
    def parse():
        body, pid = domain.csv_row_body(list(domain.BULK_CSV_COLUMNS), values)
        return domain.parse_bulk_row(1, body, pid, "p-1", TODAY)

    if reason is None:
        assert parse().professional_id == "p-1"
    else:
        with pytest.raises(InvalidArgument) as exc:
            parse()
        assert exc.value.reason == reason
        assert exc.value.metadata.get("field") == field


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        ({"organisationPriority": [], "domainPriority": ["youth", "debt"]}, True),
        ({"organisationPriority": ["not-a-uuid"], "domainPriority": []}, False),
        ({"organisationPriority": [], "domainPriority": ["debt", "debt"]}, False),
        ({"organisationPriority": [], "domainPriority": ["cooking"]}, False),
        ({"organisationPriority": []}, False),
    ],
)
def test_coordinator_rules(body, ok) -> None:
    """The contract checks the shape, the domain that nothing comes twice."""

    def parse(body):
        check_body("PUT", "/v1/coordinator-rules", body)
        return domain.parse_coordinator_rules(body)

    if ok:
        assert parse(body)[1] == body["domainPriority"]
    else:
        with pytest.raises(InvalidArgument):
            parse(body)


def test_control_characters_are_refused() -> None:
    with pytest.raises(InvalidArgument):
        domain.parse_professional({"name": "a\x00b", "email": "a@b.nl"}, partial=False)


def test_matrix_roles_are_known_and_public_is_small() -> None:
    for endpoint, roles in auth.MATRIX.items():
        assert roles <= set(auth.ROLES), endpoint
    public = {e for e, r in auth.MATRIX.items() if not r}
    assert {e for e in public if not e.startswith("web.")} == {
        "meta.healthz",
        "meta.readyz",
        "meta.openapi",
        "meta.processing_activities",  # the register of processing activities is public
    }
    # The portal: only logging in and out, the stylesheet, and following a one-time link
    # (invitation, reset, e-mail confirmation: the token is the credential; issue 16).
    assert {e for e in public if e.startswith("web.")} == {
        "web.static",
        "web.login",
        "web.login_password",
        "web.login_code",
        "web.login_code_check",
        "web.logout",
        "web.invitation",
        "web.accept_invitation",
        "web.confirm_email",
    }
