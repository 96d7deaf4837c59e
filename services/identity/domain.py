"""BSN validation and regional pseudonyms. Pure functions: no I/O, no logging of inputs.

Construction: hash the BSN to a point of the prime-order group ristretto255 and multiply
it by the region's secret scalar k (per key version). pseudonym = k * H(bsn).
- Region separation: other regions use other scalars, so pseudonyms are unrelated.
- Rotation without BSNs: k2 * H = (k2 / k1) * (k1 * H).
- Translation between regions without BSNs: kB * H = (kB / kA) * (kA * H).
A stolen signal database yields points that cannot be inverted to BSNs without k; with k an
attacker can test guessed BSNs (the BSN space is small), which is why k never leaves this
service unwrapped and is stored encrypted under a key-encryption key.
"""

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import rbcl

from services.common.errors import FailedPrecondition, InvalidArgument

_DOMAIN_TAG = b"sluis/bsn-to-ristretto255/v1:"
_IDENTITY_POINT = bytes(32)  # the group's neutral element: valid encoding, never a pseudonym
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def bsn_error_reason(raw: str) -> str | None:
    """Why `raw` is not a valid BSN (a reason code), or None when it is valid."""
    digits = raw.strip()
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return "bsn_format"
    if digits == "000000000" or sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11:
        return "bsn_checksum"
    return None


BSN_MESSAGES = {
    "bsn_format": "Het BSN moet uit 9 cijfers bestaan.",
    "bsn_checksum": "Het BSN is ongeldig: het voldoet niet aan de elfproef.",
}


def normalise_bsn(raw: str) -> str:
    """The 9-digit BSN; InvalidArgument (never echoing the input) when it is not valid."""
    reason = bsn_error_reason(raw)
    if reason is not None:
        raise InvalidArgument(reason, BSN_MESSAGES[reason])
    digits = raw.strip()
    return digits if len(digits) == 9 else "0" + digits


def hash_to_group(bsn: str) -> bytes:
    """The BSN as a ristretto255 point (hash-to-group, uniform, no known discrete log)."""
    return bytes(rbcl.crypto_core_ristretto255_from_hash(hashlib.sha512(_DOMAIN_TAG + bsn.encode()).digest()))


def new_scalar() -> bytes:
    return bytes(rbcl.crypto_core_ristretto255_scalar_random())


def multiply(scalar: bytes, point: bytes) -> bytes:
    return bytes(rbcl.crypto_scalarmult_ristretto255(scalar, point))


def ratio(numerator: bytes, denominator: bytes) -> bytes:
    """numerator / denominator as a scalar: the factor that re-keys or translates."""
    inverse = rbcl.crypto_core_ristretto255_scalar_invert(denominator)
    return bytes(rbcl.crypto_core_ristretto255_scalar_mul(numerator, inverse))


def is_group_element(point: bytes) -> bool:
    """A canonical ristretto255 encoding other than the neutral element."""
    return (
        len(point) == 32
        and point != _IDENTITY_POINT
        and bool(rbcl.crypto_core_ristretto255_is_valid_point(point))
    )


@dataclass(frozen=True)
class Pseudonym:
    key_version: int
    point: bytes

    def encode(self) -> str:
        return f"{self.key_version}.{base64.urlsafe_b64encode(self.point).rstrip(b'=').decode()}"

    @staticmethod
    def decode(text: str) -> "Pseudonym":
        try:
            version_text, body = text.split(".", 1)
            point = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            version = int(version_text)
        except (ValueError, binascii.Error):
            raise InvalidArgument("pseudonym_format", "Ongeldig pseudoniem.") from None
        if version < 1 or not is_group_element(point):
            raise InvalidArgument("pseudonym_format", "Ongeldig pseudoniem.")
        return Pseudonym(version, point)


def pseudonymise(bsn: str, key_version: int, scalar: bytes) -> Pseudonym:
    """The region's pseudonym of a (validated) BSN under one key version."""
    return Pseudonym(key_version, multiply(scalar, hash_to_group(normalise_bsn(bsn))))


def pseudonymise_many(
    bsns: Iterable[str], key_version: int, scalar: bytes
) -> list[tuple[str | None, str | None]]:
    """(encoded pseudonym, None) or (None, error reason) per BSN, in order (bulk path).

    The same computation as `pseudonymise`, with the per-item Python work kept to the
    minimum: this loop is what the batched benchmark measures against raw libsodium.
    """
    prefix = f"{key_version}."
    from_hash = rbcl.crypto_core_ristretto255_from_hash
    scalarmult = rbcl.crypto_scalarmult_ristretto255
    sha512 = hashlib.sha512
    b64 = base64.urlsafe_b64encode
    out: list[tuple[str | None, str | None]] = []
    for raw in bsns:
        reason = bsn_error_reason(raw)
        if reason is not None:
            out.append((None, reason))
            continue
        digits = raw.strip()
        if len(digits) == 8:
            digits = "0" + digits
        point = scalarmult(scalar, from_hash(sha512(_DOMAIN_TAG + digits.encode()).digest()))
        out.append((prefix + b64(point).rstrip(b"=").decode(), None))
    return out


def rekey(pseudonym: Pseudonym, factor: bytes, to_version: int) -> Pseudonym:
    """Move a pseudonym to another key (or region) by a ratio of scalars."""
    return Pseudonym(to_version, multiply(factor, pseudonym.point))


def wrap_key(kek: bytes, scalar: bytes) -> bytes:
    """Encrypt a key scalar under the key-encryption key (XSalsa20-Poly1305, random nonce)."""
    from nacl.secret import SecretBox

    return bytes(SecretBox(kek).encrypt(scalar))


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    try:
        return bytes(SecretBox(kek).decrypt(wrapped))
    except CryptoError:
        raise RuntimeError("a pseudonym key cannot be unwrapped: wrong SLUIS_IDENTITY_KEK?") from None


def unwrap_any(keks: dict[int, bytes], wrapped: bytes) -> tuple[int, bytes]:
    """(KEK version, scalar): try the known KEK versions, newest first."""
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    for version in sorted(keks, reverse=True):
        try:
            return version, bytes(SecretBox(keks[version]).decrypt(wrapped))
        except CryptoError:
            continue
    raise RuntimeError("a pseudonym key cannot be unwrapped by any known KEK version: wrong KEK Secret?")


# --- Key rotation -------------------------------------------------------------------------
# A rotation moves the region from key version `from_version` to `to_version`. It is
# announced at `started_at` and takes effect at `switch_at` (started_at + grace): until then
# every replica keeps issuing the old version, so all identity replicas and all stores learn
# of the rotation before any pseudonym changes. After the switch Pseudonymise issues the new
# version and the stores convert their rows (old -> new) with RekeyPseudonyms.

IN_PROGRESS = "in_progress"
FINISHED = "finished"


@dataclass(frozen=True)
class Rotation:
    rotation_id: str
    from_version: int
    to_version: int
    state: str
    started_at: datetime
    switch_at: datetime
    finished_at: datetime | None = None


def active_version(versions: Iterable[int], rotation: Rotation | None, now: datetime) -> int:
    """The key version Pseudonymise uses now.

    During a rotation: the old version before `switch_at`, the new one from then on.
    Otherwise the newest version that still has a key.
    """
    if rotation is not None and rotation.state == IN_PROGRESS:
        return rotation.to_version if now >= rotation.switch_at else rotation.from_version
    available = list(versions)
    if not available:
        raise FailedPrecondition("no_active_key", "Er is geen actieve pseudonimiseringssleutel.")
    return max(available)


def check_can_finish(rotation: Rotation, now: datetime) -> None:
    """A rotation can be finished once it is in progress and has switched to the new key."""
    if rotation.state != IN_PROGRESS:
        raise FailedPrecondition("rotation_finished", "Deze sleutelrotatie is al afgerond.")
    if now < rotation.switch_at:
        raise FailedPrecondition(
            "rotation_not_switched",
            "De nieuwe sleutel is nog niet in gebruik; rond de rotatie later af.",
        )


def rekey_batch(
    rotation: Rotation, k_from: bytes, k_to: bytes, pseudonyms: Sequence[str], *, include_previous: bool
) -> tuple[list[str], list[str]]:
    """Each pseudonym under the rotation's new version (and, if asked, under its old one).

    Old-version input is multiplied by k_to/k_from; new-version input comes back unchanged
    (its old form is k_from/k_to times it). Any other version is refused for the whole batch,
    so a store never half-applies a batch it misunderstood.
    """
    if rotation.state != IN_PROGRESS:
        raise FailedPrecondition("rotation_finished", "Deze sleutelrotatie is al afgerond.")
    forward = ratio(k_to, k_from)
    backward = ratio(k_from, k_to) if include_previous else b""
    current: list[str] = []
    previous: list[str] = []
    for text in pseudonyms:
        p = Pseudonym.decode(text)
        if p.key_version == rotation.from_version:
            current.append(rekey(p, forward, rotation.to_version).encode())
            if include_previous:
                previous.append(text)
        elif p.key_version == rotation.to_version:
            current.append(text)
            if include_previous:
                previous.append(rekey(p, backward, rotation.from_version).encode())
        else:
            raise InvalidArgument(
                "pseudonym_key_version", "Een pseudoniem hoort niet bij deze sleutelrotatie."
            )
    return current, previous


# --- Translation between regions ----------------------------------------------------------
# Regions A and B each hold an exchange key pair (a, a*G), (b, b*G) and publish only the
# public halves to each other. Both derive the same pair secret s = KDF(a*b*G, {A, B}) by
# Diffie-Hellman. A turns its pseudonym kA*H into the exchange token s*H = (s/kA)*(kA*H);
# B turns s*H into kB*H = (kB/s)*(s*H). Neither side learns the other's pseudonym key, no
# secret is ever transported, and a token means nothing to anybody without s.

_EXCHANGE_TAG = b"sluis/region-exchange/v1:"
TOKEN_PREFIX = "x."  # noqa: S105 (a format prefix, not a secret)


def exchange_public_key(private: bytes) -> bytes:
    """The public half of a region's exchange key (safe to hand to peer operators)."""
    return bytes(rbcl.crypto_scalarmult_ristretto255_base(private))


def pair_secret(private: bytes, peer_public: bytes, region: str, peer_region: str) -> bytes:
    """The scalar shared by two regions: same value on both sides, nobody else can derive it."""
    if not is_group_element(peer_public):
        raise ValueError("peer exchange key is not a ristretto255 point")
    shared = bytes(rbcl.crypto_scalarmult_ristretto255(private, peer_public))
    low, high = sorted((region, peer_region))
    material = _EXCHANGE_TAG + low.encode() + b"\x00" + high.encode() + b"\x00" + shared
    return bytes(rbcl.crypto_core_ristretto255_scalar_reduce(hashlib.sha512(material).digest()))


def encode_token(point: bytes) -> str:
    return TOKEN_PREFIX + base64.urlsafe_b64encode(point).rstrip(b"=").decode()


def decode_token(text: str) -> bytes:
    if not text.startswith(TOKEN_PREFIX):
        raise InvalidArgument("token_format", "Ongeldig uitwisselingstoken.")
    body = text[len(TOKEN_PREFIX) :]
    try:
        point = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, binascii.Error):
        raise InvalidArgument("token_format", "Ongeldig uitwisselingstoken.") from None
    if not is_group_element(point):
        raise InvalidArgument("token_format", "Ongeldig uitwisselingstoken.")
    return point


def to_exchange_tokens(pseudonyms: Sequence[str], keys: Mapping[int, bytes], secret: bytes) -> list[str]:
    """Own-region pseudonyms (any version whose key is still held) -> exchange tokens."""
    factors: dict[int, bytes] = {}
    out = []
    for text in pseudonyms:
        p = Pseudonym.decode(text)
        scalar = keys.get(p.key_version)
        if scalar is None:
            raise InvalidArgument("pseudonym_key_version", "Dit pseudoniem hoort bij een vervallen sleutel.")
        if p.key_version not in factors:
            factors[p.key_version] = ratio(secret, scalar)
        out.append(encode_token(multiply(factors[p.key_version], p.point)))
    return out


def from_exchange_tokens(tokens: Sequence[str], version: int, scalar: bytes, secret: bytes) -> list[str]:
    """Exchange tokens from a peer -> this region's pseudonyms under the active key."""
    factor = ratio(scalar, secret)
    return [Pseudonym(version, multiply(factor, decode_token(t))).encode() for t in tokens]
