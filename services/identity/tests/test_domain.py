import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from services.common.errors import FailedPrecondition, InvalidArgument
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


@pytest.mark.parametrize(
    "text", ["", "abc", "1.", "x.AAAA", "0." + "A" * 43, "1." + "A" * 10, "1." + "A" * 43]
)
def test_decode_rejects_malformed_pseudonyms(text: str) -> None:
    with pytest.raises(InvalidArgument):
        domain.Pseudonym.decode(text)


def test_key_wrapping_round_trip() -> None:
    kek = b"k" * 32
    scalar = domain.new_scalar()
    assert domain.unwrap_key(kek, domain.wrap_key(kek, scalar)) == scalar
    with pytest.raises(RuntimeError):
        domain.unwrap_key(b"x" * 32, domain.wrap_key(kek, scalar))


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROTATION = domain.Rotation("r", 4, 5, domain.IN_PROGRESS, T0, T0 + timedelta(seconds=30))


@pytest.mark.parametrize(
    ("versions", "rotation", "now", "expected"),
    [
        ([1], None, T0, 1),
        ([1, 2], None, T0, 2),  # never happens outside a rotation, but the newest wins
        ([4, 5], ROTATION, T0, 4),  # announced: the old key until the switch
        ([4, 5], ROTATION, T0 + timedelta(seconds=29), 4),
        ([4, 5], ROTATION, T0 + timedelta(seconds=30), 5),
        ([5], dataclasses.replace(ROTATION, state=domain.FINISHED), T0, 5),
    ],
)
def test_active_version(versions, rotation, now, expected) -> None:
    assert domain.active_version(versions, rotation, now) == expected


@pytest.mark.parametrize(
    ("rotation", "now", "reason"),
    [
        (ROTATION, T0, "rotation_not_switched"),
        (ROTATION, T0 + timedelta(seconds=30), None),
        (dataclasses.replace(ROTATION, state=domain.FINISHED), T0 + timedelta(days=1), "rotation_finished"),
    ],
)
def test_check_can_finish(rotation, now, reason) -> None:
    if reason is None:
        domain.check_can_finish(rotation, now)
    else:
        with pytest.raises(FailedPrecondition) as exc:
            domain.check_can_finish(rotation, now)
        assert exc.value.reason == reason


def test_rekey_batch_refuses_other_versions_and_finished_rotations() -> None:
    k4, k5 = domain.new_scalar(), domain.new_scalar()
    stray = domain.pseudonymise("111222333", 3, k4).encode()
    with pytest.raises(InvalidArgument):
        domain.rekey_batch(ROTATION, k4, k5, [stray], include_previous=False)
    with pytest.raises(FailedPrecondition):
        finished = dataclasses.replace(ROTATION, state=domain.FINISHED)
        domain.rekey_batch(finished, k4, k5, [], include_previous=False)


def test_exchange_keys_agree() -> None:
    a, b = domain.new_scalar(), domain.new_scalar()
    pa, pb = domain.exchange_public_key(a), domain.exchange_public_key(b)
    s = domain.pair_secret(a, pb, "rotterdam", "gelderland-midden")
    assert s == domain.pair_secret(b, pa, "gelderland-midden", "rotterdam")
    assert s != domain.pair_secret(a, pb, "rotterdam", "utrecht")  # bound to the pair of names


@pytest.mark.parametrize("text", ["", "x.", "1.AAAA", "x." + "A" * 43, "x.!!!!"])
def test_decode_token_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidArgument):
        domain.decode_token(text)
