"""TOTP second factor (RFC 6238 over RFC 4226 HOTP): 30-second steps, 6 digits, +-1 step."""

import base64
import hmac
import secrets
import struct

STEP_SECONDS = 30
DIGITS = 6


def new_secret() -> str:
    """A random 160-bit secret, base32 without padding (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret_b32: str) -> bytes:
    cleaned = secret_b32.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """RFC 4226 HOTP value of `counter` (dynamic truncation)."""
    mac = hmac.new(key, struct.pack(">Q", counter), algorithm).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % (10**digits)
    return str(code).zfill(digits)


def time_step(unix_seconds: float) -> int:
    return int(unix_seconds // STEP_SECONDS)


def code_at(secret_b32: str, unix_seconds: float) -> str:
    """The code an authenticator app shows at this moment."""
    return hotp(_key(secret_b32), time_step(unix_seconds))


def matching_step(secret_b32: str, code: str, unix_seconds: float, last_step: int = 0) -> int | None:
    """The time step (now, one before or one after) whose code this is, or None.

    Steps at or before `last_step` (already used) never match: a code works only once."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit() or not secret_b32:
        return None
    key = _key(secret_b32)
    now = time_step(unix_seconds)
    for step in (now - 1, now, now + 1):
        if step > last_step and hmac.compare_digest(hotp(key, step), code):
            return step
    return None


def provisioning_uri(secret_b32: str, account: str, issuer: str = "SluiS") -> str:
    """otpauth:// URI for authenticator apps."""
    from urllib.parse import quote

    return f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret_b32}&issuer={quote(issuer)}&digits=6&period=30"
