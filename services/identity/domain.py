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
from dataclasses import dataclass

import rbcl

from services.common.errors import InvalidArgument

_DOMAIN_TAG = b"sluis/bsn-to-ristretto255/v1:"
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
        if version < 1 or len(point) != 32 or not rbcl.crypto_core_ristretto255_is_valid_point(point):
            raise InvalidArgument("pseudonym_format", "Ongeldig pseudoniem.")
        return Pseudonym(version, point)


def pseudonymise(bsn: str, key_version: int, scalar: bytes) -> Pseudonym:
    """The region's pseudonym of a (validated) BSN under one key version."""
    return Pseudonym(key_version, multiply(scalar, hash_to_group(normalise_bsn(bsn))))


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
