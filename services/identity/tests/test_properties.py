"""Property tests of the pseudonym construction (hypothesis), and the collision test.

The collision property: pseudonym = k * H(bsn) with k a non-zero scalar of a prime-order
group, so multiplication by k is a bijection and two BSNs collide under k exactly when they
collide under H. The suite therefore checks H on many distinct BSNs (fast) and the full
pseudonymise on 1,000,000 only when SLUIS_SLOW_TESTS=1 (about 5 minutes on this shared machine).
"""

import os
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.identity import domain

_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)


def complete(eight: int) -> str | None:
    """The BSN whose first eight digits are `eight`, if a last digit passes the 11-test."""
    head = f"{eight:08d}"
    last = sum(int(d) * w for d, w in zip(head, _WEIGHTS, strict=True)) % 11
    bsn = head + str(last)
    return bsn if last < 10 and bsn != "000000000" else None


bsns = st.integers(min_value=1, max_value=99_999_999).map(complete).filter(lambda b: b is not None)
scalars = (
    st.binary(min_size=64, max_size=64).map(domain.rbcl.crypto_core_ristretto255_scalar_reduce).map(bytes)
)
scalars = scalars.filter(lambda s: s != bytes(32))
versions = st.integers(min_value=1, max_value=10_000)


def test_generator_makes_valid_bsns() -> None:
    assert all(domain.bsn_error_reason(b) is None for b in filter(None, map(complete, range(1, 2000))))


@settings(max_examples=60, deadline=None)
@given(bsn=bsns, k=scalars, version=versions)
def test_deterministic(bsn, k, version) -> None:
    a = domain.pseudonymise(bsn, version, k)
    assert a == domain.pseudonymise(bsn, version, k)
    assert domain.Pseudonym.decode(a.encode()) == a
    assert domain.pseudonymise_many([bsn], version, k) == [(a.encode(), None)]


@settings(max_examples=60, deadline=None)
@given(bsn=bsns, other=bsns, ka=scalars, kb=scalars)
def test_region_separation(bsn, other, ka, kb) -> None:
    """Same BSN, different regions: unrelated points. Knowing one person's pseudonyms in both
    regions does not let you link another person: the A->B factor is secret."""
    if ka == kb:
        return
    pa, pb = domain.pseudonymise(bsn, 1, ka).point, domain.pseudonymise(bsn, 1, kb).point
    assert pa != pb
    if other != bsn:
        qa, qb = domain.pseudonymise(other, 1, ka).point, domain.pseudonymise(other, 1, kb).point
        assert len({pa, pb, qa, qb}) == 4


@settings(max_examples=60, deadline=None)
@given(bsn=bsns, k1=scalars, k2=scalars, v=versions)
def test_rotation_correct(bsn, k1, k2, v) -> None:
    rotation = domain.Rotation("r", v, v + 1, domain.IN_PROGRESS, *(2 * [None]))  # type: ignore[arg-type]
    old = domain.pseudonymise(bsn, v, k1).encode()
    new = domain.pseudonymise(bsn, v + 1, k2).encode()
    current, previous = domain.rekey_batch(rotation, k1, k2, [old, new], include_previous=True)
    assert current == [new, new]
    assert previous == [old, old]


@settings(max_examples=40, deadline=None)
@given(bsn=bsns, ka=scalars, kb=scalars, sa=scalars)
def test_translation_correct(bsn, ka, kb, sa) -> None:
    pa = domain.pseudonymise(bsn, 3, ka).encode()
    tokens = domain.to_exchange_tokens([pa], {3: ka}, sa)
    assert domain.from_exchange_tokens(tokens, 7, kb, sa) == [domain.pseudonymise(bsn, 7, kb).encode()]


def distinct_bsns(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    heads = rng.sample(range(1, 100_000_000), int(count * 1.15) + 100)
    out = [b for b in map(complete, heads) if b is not None]
    assert len(out) >= count
    return out[:count]


def test_no_collisions_hash_to_group() -> None:
    """200,000 distinct BSNs give 200,000 distinct group elements (k then is a bijection)."""
    sample = distinct_bsns(200_000, seed=3)
    started = time.perf_counter()
    points = {domain.hash_to_group(b) for b in sample}
    assert len(points) == len(sample)
    assert time.perf_counter() - started < 60


@pytest.mark.skipif(os.environ.get("SLUIS_SLOW_TESTS") != "1", reason="set SLUIS_SLOW_TESTS=1 (about 5 min)")
def test_no_collisions_one_million_pseudonyms() -> None:
    k = domain.new_scalar()
    sample = distinct_bsns(1_000_000, seed=11)
    encoded = {p for p, _ in domain.pseudonymise_many(sample, 1, k)}
    assert len(encoded) == len(sample)
