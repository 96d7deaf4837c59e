"""The one rule for a client reference (issue 17): the signalling organisation's own case or
file number. Checked by the gateway (400 with the field) and again by the signal service.

Short and of a fixed alphabet so that it cannot carry free text about the person; a run of
nine digits that passes the BSN eleven-test is refused, because a BSN may exist only in
identity.
"""

import re

from services.common.errors import InvalidArgument

MAX_LENGTH = 40
FIELD = "clientReference"
_ALPHABET = re.compile(r"[A-Za-z0-9\-/._ ]+")
_NINE_DIGITS = re.compile(r"(?<![0-9])[0-9]{9}(?![0-9])")


def _passes_eleven_test(digits: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 == 0


def refused() -> InvalidArgument:
    """The refusal of a reference of the wrong length or alphabet (never repeats the value)."""
    return InvalidArgument(
        "client_reference_invalid",
        f"Het eigen kenmerk mag maximaal {MAX_LENGTH} tekens hebben: letters, cijfers, spaties en - / . _",
        field=FIELD,
    )


def normalise(raw: str) -> str:
    """The reference as stored ('' for none), or InvalidArgument (reason client_reference_invalid)."""
    text = raw.strip()
    if not text:
        return ""
    if len(text) > MAX_LENGTH or not _ALPHABET.fullmatch(text):
        raise refused()
    if any(_passes_eleven_test(m) for m in _NINE_DIGITS.findall(text)):
        raise InvalidArgument(
            "client_reference_invalid",
            "Het eigen kenmerk lijkt op een BSN; gebruik het dossiernummer van uw organisatie.",
            field=FIELD,
        )
    return text
