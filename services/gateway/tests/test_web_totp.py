"""TOTP (RFC 6238) and HOTP (RFC 4226) against the RFCs' own test vectors."""

import base64

import pytest

from services.gateway import totp

RFC_KEY = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_KEY).decode()


@pytest.mark.parametrize(
    ("counter", "code"),
    list(
        enumerate(
            [
                "755224",
                "287082",
                "359152",
                "969429",
                "338314",
                "254676",
                "287922",
                "162583",
                "399871",
                "520489",
            ]
        )
    ),
)
def test_hotp_rfc4226_vectors(counter: int, code: str) -> None:
    assert totp.hotp(RFC_KEY, counter) == code


@pytest.mark.parametrize(
    ("unix", "code"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_totp_rfc6238_sha1_vectors(unix: int, code: str) -> None:
    assert totp.hotp(RFC_KEY, totp.time_step(unix), digits=8) == code


def test_six_digit_code_is_the_last_six_of_the_rfc_value() -> None:
    assert totp.code_at(RFC_SECRET, 59) == "287082"


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-60, False), (-30, True), (0, True), (30, True), (60, False)],
)
def test_one_step_either_side_is_accepted(offset: int, accepted: bool) -> None:
    now = 1_700_000_000
    code = totp.code_at(RFC_SECRET, now + offset)
    assert (totp.matching_step(RFC_SECRET, code, now) is not None) is accepted


def test_a_code_works_only_once() -> None:
    now = 1_700_000_000
    code = totp.code_at(RFC_SECRET, now)
    step = totp.matching_step(RFC_SECRET, code, now)
    assert step == totp.time_step(now)
    assert totp.matching_step(RFC_SECRET, code, now, last_step=step) is None


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(bad: str) -> None:
    assert totp.matching_step(RFC_SECRET, bad, 1_700_000_000) is None


def test_no_secret_never_matches() -> None:
    assert totp.matching_step("", "123456", 1_700_000_000) is None


def test_new_secrets_are_random_base32() -> None:
    a, b = totp.new_secret(), totp.new_secret()
    assert a != b and len(a) == 32
    assert len(totp.code_at(a, 0)) == 6
