"""Paging of list calls: one page-token format and one set of reason codes for every service.

A page token is opaque to clients: base64url (no padding) of "|"-joined text parts. Keyset
pages (signals, inbox) carry the sort key of the last row, (timestamp, id); offset pages
(matches, deliveries) carry the offset. Any token this module did not make is refused with
reason `page_token_invalid`; a negative page size with `page_size_invalid`. The gateway's
REST API pages by number (`page`, `pageSize`) and never shows these tokens.
"""

import base64
import binascii
import uuid
from datetime import datetime

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

TOKEN_INVALID = "page_token_invalid"  # noqa: S105 - a reason code, not a secret
SIZE_INVALID = "page_size_invalid"


def _invalid_token() -> InvalidArgument:
    return InvalidArgument(TOKEN_INVALID, "De paginatoken is ongeldig.")


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """The page size to use: the default for 0, at most `maximum`; negative is refused."""
    if requested < 0:
        raise InvalidArgument(SIZE_INVALID, "De paginagrootte mag niet negatief zijn.")
    return min(requested or default, maximum)


def _encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _decode(token: str, parts: int) -> list[str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise _invalid_token() from None
    fields = raw.split("|", parts - 1)
    if len(fields) != parts:
        raise _invalid_token()
    return fields


def keyset_token(at: datetime, row_id: str) -> str:
    """The token of the page after the row with sort key (at, row_id)."""
    return _encode(at.isoformat(), row_id)


def parse_keyset_token(token: str) -> tuple[datetime, str] | None:
    """(at, id) of the last row of the previous page; None for the first page.

    Keyset pages sort by (timestamp, UUID primary key), so the id must be a UUID.
    """
    if not token:
        return None
    moment, key = _decode(token, 2)
    try:
        at = datetime.fromisoformat(moment)
        row_id = str(uuid.UUID(key))
    except ValueError:
        raise _invalid_token() from None
    if at.tzinfo is None:
        raise _invalid_token()
    return at, row_id


def offset_token(offset: int) -> str:
    """The token of the page that starts at row `offset`."""
    return _encode("offset", str(offset))


def parse_offset_token(token: str) -> int:
    """The offset a token points at; 0 for the first page."""
    if not token:
        return 0
    tag, raw = _decode(token, 2)
    if tag != "offset" or not raw.isascii() or not raw.isdigit():
        raise _invalid_token()
    return int(raw)
