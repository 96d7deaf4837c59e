import pytest

from services.common.errors import InvalidArgument
from services.identity import domain

VALID = ["111222333", "123456782", "999999990"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("111222333", None),
        ("123456782", None),
        (" 123456782 ", None),
        ("12345678", "bsn_checksum"),  # leading zero added, then checked
        ("012345672", None),
        ("12345672", None),
        ("123456789", "bsn_checksum"),
        ("000000000", "bsn_checksum"),
        ("1234567", "bsn_format"),
        ("1234567890", "bsn_format"),
        ("12345678a", "bsn_format"),
        ("", "bsn_format"),
        ("١٢٣٤٥٦٧٨٢", "bsn_format"),  # non-ASCII digits
    ],
)
def test_bsn_validation(raw: str, reason: str | None) -> None:
    assert domain.bsn_error_reason(raw) == reason


def test_invalid_bsn_error_does_not_echo_input() -> None:
    with pytest.raises(InvalidArgument) as exc:
        domain.normalise_bsn("123456789")
    assert "123456789" not in str(exc.value)
    assert exc.value.reason == "bsn_checksum"


def test_pseudonym_is_stable_and_versioned() -> None:
    k = domain.new_scalar()
    a = domain.pseudonymise("123456782", 3, k)
    b = domain.pseudonymise("123456782", 3, k)
    assert a == b
    assert a.encode().startswith("3.")
    assert domain.Pseudonym.decode(a.encode()) == a


def test_eight_digits_get_a_leading_zero() -> None:
    k = domain.new_scalar()
    assert domain.pseudonymise("12345672", 1, k) == domain.pseudonymise("012345672", 1, k)


def test_rekey_equals_pseudonymising_under_the_new_key() -> None:
    k1, k2 = domain.new_scalar(), domain.new_scalar()
    old = domain.pseudonymise("111222333", 1, k1)
    assert domain.rekey(old, domain.ratio(k2, k1), 2) == domain.pseudonymise("111222333", 2, k2)


@pytest.mark.parametrize("text", ["", "abc", "1.", "x.AAAA", "0." + "A" * 43, "1." + "A" * 10])
def test_decode_rejects_malformed_pseudonyms(text: str) -> None:
    with pytest.raises(InvalidArgument):
        domain.Pseudonym.decode(text)


def test_key_wrapping_round_trip() -> None:
    kek = b"k" * 32
    scalar = domain.new_scalar()
    assert domain.unwrap_key(kek, domain.wrap_key(kek, scalar)) == scalar
    with pytest.raises(RuntimeError):
        domain.unwrap_key(b"x" * 32, domain.wrap_key(kek, scalar))
