"""TOTP second factor (RFC 6238) through pyotp: 30-second steps, 6 digits, +-1 step, and a
code works only once (the step it matched is remembered per account)."""

import base64

import pyotp
from pyotp.utils import strings_equal

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding (what authenticator apps read)."""
    return pyotp.random_base32(32)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP value of `counter` for a raw key."""
    return pyotp.HOTP(base64.b32encode(key).decode(), digits=digits).at(counter)


def time_step(unix_seconds: float) -> int:
    return int(unix_seconds // STEP_SECONDS)


def _totp(secret_b32: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret_b32.replace(" ", "").upper(), digits=DIGITS, interval=STEP_SECONDS)


def code_at(secret_b32: str, unix_seconds: float) -> str:
    """The code an authenticator app shows at this moment."""
    return _totp(secret_b32).generate_otp(time_step(unix_seconds))


def matching_step(secret_b32: str, code: str, unix_seconds: float, last_step: int = 0) -> int | None:
    """The time step (now, one before or one after) whose code this is, or None.

    Steps at or before `last_step` (already used) never match: a code works only once."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit() or not secret_b32:
        return None
    otp = _totp(secret_b32)
    now = time_step(unix_seconds)
    for step in (now - 1, now, now + 1):
        if step > last_step and strings_equal(otp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret_b32: str, account: str, issuer: str = "SluiS") -> str:
    """otpauth:// URI for authenticator apps."""
    return _totp(secret_b32).provisioning_uri(name=account, issuer_name=issuer)
