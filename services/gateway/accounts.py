"""Account rules without I/O: invitation tokens, password strength, recovery codes.

Tokens are 256-bit random strings in the link; only their SHA-256 is stored (like API keys:
long random secrets need no slow hash). Recovery codes are short, so they get scrypt
(werkzeug) like passwords. Password strength: at least 12 characters and not guessable by
zxcvbn (score 3 or more), and not mostly the person's own name or address; zxcvbn ships its own frequency lists of leaked and common
passwords, names and words (offline: no password leaves the gateway).
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MIN_ZXCVBN_SCORE = 3
RECOVERY_CODES = 10
# 10 characters of an alphabet without look-alikes, shown as XXXXX-XXXXX.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def expires_at(now: datetime, hours: float) -> datetime:
    return now + timedelta(hours=hours)


@dataclass(frozen=True)
class PasswordProblem:
    field: str
    detail: str


def check_password(
    password: str, repeated: str, *, email: str = "", name: str = ""
) -> PasswordProblem | None:
    """None when the password may be used, else what is wrong (in Dutch, for the form)."""
    if password != repeated:
        return PasswordProblem("password2", "De twee wachtwoorden zijn niet gelijk.")
    if len(password) < MIN_PASSWORD_LENGTH:
        return PasswordProblem("password", f"Kies een wachtwoord van minstens {MIN_PASSWORD_LENGTH} tekens.")
    if len(password) > MAX_PASSWORD_LENGTH:
        return PasswordProblem("password", f"Kies een wachtwoord van hoogstens {MAX_PASSWORD_LENGTH} tekens.")
    hints = [
        h.lower() for h in (email, *re.split(r"[@._+-]", email), *name.split(), "sluis", "verwijsindex") if h
    ]
    if zxcvbn(password, user_inputs=hints)["score"] < MIN_ZXCVBN_SCORE or _mostly_personal(password, hints):
        return PasswordProblem(
            "password",
            "Dit wachtwoord is te makkelijk te raden (het komt voor in lijsten van veelgebruikte of"
            " gelekte wachtwoorden, of lijkt op uw naam). Kies bijvoorbeeld vier losse woorden.",
        )
    return None


def _mostly_personal(password: str, hints: list[str]) -> bool:
    """Little is left once the person's name and address parts are taken out."""
    rest = password.lower()
    for hint in sorted((h for h in hints if len(h) >= 3), key=len, reverse=True):
        rest = rest.replace(hint, "")
    return len(rest) < MIN_PASSWORD_LENGTH - 4


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    codes = []
    for _ in range(n):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_recovery_code(code: str) -> str | None:
    """The canonical form of a typed recovery code, or None if it cannot be one."""
    raw = "".join(c for c in code.strip().lower() if c not in " -")
    if len(raw) != 10 or any(c not in _RECOVERY_ALPHABET for c in raw):
        return None
    return f"{raw[:5]}-{raw[5:]}"
