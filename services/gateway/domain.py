"""The gateway's rules as pure functions: request validation, keys, paging.

Over 500 lines on purpose: the checks that the OpenAPI schema cannot express (BSN 11-test,
informing and consent per age, form and bulk-row parsing that reuse the same checks) stay
together, next to each other's reason codes. No I/O here. Validation errors are InvalidArgument with a stable reason, a Dutch detail and
the offending field; a detail never repeats a submitted value (it could be a BSN).
"""

import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.common import clientref, processing_log
from services.common.domains import WORK_DOMAINS
from services.common.errors import InvalidArgument

INFORMED_PARTIES = ("person", "legalRepresentative", "both")
INFORMED_METHODS = ("inPerson", "phone", "letter", "email")
POSTPONE_REASONS = ("safety", "notReachable")
REPRESENTATIVE_REASONS = ("guardianship", "minor")
CONSENT_BY = ("person", "legalRepresentative", "both")
LEGAL_BASES = ("consent", "legalGround")
DOMAINS = WORK_DOMAINS  # the one list: the sluis.types.v1.WorkDomain enum
SIGNAL_STATUSES = ("active", "archived")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_PAGE = 1000


def invalid(field: str, detail: str, reason: str = "invalid_field") -> InvalidArgument:
    """A 400 about one field."""
    return InvalidArgument(reason, detail, field=field)


MAX_JSON_DEPTH = 32


def parse_json(raw: bytes) -> Any:
    """The request body as JSON; InvalidArgument for anything that is not JSON, nests deeper
    than MAX_JSON_DEPTH, or holds a lone surrogate (not text; it cannot be stored or sent)."""
    if not raw:
        raise InvalidArgument("invalid_json", "De body ontbreekt; verwacht een JSON-object.")
    if _depth_exceeds(raw, MAX_JSON_DEPTH):
        raise InvalidArgument("json_too_deep", f"De JSON is dieper genest dan {MAX_JSON_DEPTH} niveaus.")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidArgument("invalid_json", "De body is geen geldige JSON.") from None
    _check_text(value, "")
    return value


def _depth_exceeds(raw: bytes, limit: int) -> bool:
    """Nesting depth of JSON text, counted before parsing (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _check_text(value: Any, path: str) -> None:
    """Every string (and key) must be encodable as UTF-8: a lone surrogate is refused, by field."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise invalid(path or "body", f"Veld '{path or 'body'}' bevat ongeldige tekens.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid(path or "body", "Een veldnaam bevat ongeldige tekens.") from None
            _check_text(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_text(item, f"{path}[{i}]")


def expect_object(
    value: Any, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    """`value` must be an object with every required field and no unknown ones."""
    where = f"'{name}'" if name else "De body"
    if not isinstance(value, dict):
        raise invalid(name or "body", f"{where} moet een JSON-object zijn.")
    for key in value:
        if key not in required and key not in optional:
            path = f"{name}.{key}" if name else key
            raise invalid(path, f"Onbekend veld '{path}'.", "unknown_field")
    for key in required:
        if key not in value:
            path = f"{name}.{key}" if name else key
            raise invalid(path, f"Veld '{path}' ontbreekt.", "missing_field")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(value: str) -> bool:
    """NUL and other control characters: PostgreSQL text cannot hold NUL (a 500 otherwise)."""
    return bool(_CONTROL.search(value))


def expect_str(value: Any, field: str, *, max_len: int = 200, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise invalid(field, f"Veld '{field}' moet een tekst zijn.")
    if has_control_characters(value):
        raise invalid(field, f"Veld '{field}' bevat niet-toegestane tekens.")
    if not value.strip() and not allow_empty:
        raise invalid(field, f"Veld '{field}' mag niet leeg zijn.")
    if len(value) > max_len:
        raise invalid(field, f"Veld '{field}' is te lang (maximaal {max_len} tekens).")
    return value


def expect_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(field, f"Veld '{field}' moet true of false zijn.")
    return value


def expect_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise invalid(field, f"Veld '{field}' moet een van deze waarden zijn: {', '.join(choices)}.")
    return value


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Exactly nine ASCII digits: no spaces, no newline, no other digits (fullmatch, not `$`).
_BSN = re.compile(r"[0-9]{9}")
# What SMTP and notify accept: one @, no quotes or spaces, a dotted domain.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def looks_like_phone(value: str) -> bool:
    return _PHONE.fullmatch(value) is not None


def looks_like_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{0,24}")


def expect_date(value: Any, field: str) -> date:
    """An ISO calendar date YYYY-MM-DD only (Python also reads week dates like 2024-W01-1)."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise invalid(field, f"Veld '{field}' moet een datum zijn (JJJJ-MM-DD).")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(field, f"Veld '{field}' moet een datum zijn (JJJJ-MM-DD).") from None


def expect_str_list(value: Any, field: str, *, max_items: int = 100) -> list[str]:
    if not isinstance(value, list) or len(value) > max_items:
        raise invalid(field, f"Veld '{field}' moet een lijst van teksten zijn (maximaal {max_items}).")
    return [expect_str(v, f"{field}[{i}]") for i, v in enumerate(value)]


@dataclass(frozen=True)
class Informed:
    """Who was informed of a signal, how and when; or why informing was postponed.

    Either one record for the party set (party, method, informed_on / postpone_reason) or,
    per party, `person` and `legal_representative` (each itself an Informed without party).
    """

    party: str = ""
    method: str = ""
    informed_on: date | None = None
    postpone_reason: str = ""
    person: "Informed | None" = None
    legal_representative: "Informed | None" = None
    representative_reason: str = ""


@dataclass(frozen=True)
class SignalRegistration:
    bsn: str
    birth_date: date
    informed: Informed
    multi_problem_attested: bool
    consent_given: bool
    consent_by: str = ""
    under_guardianship: bool = False
    client_reference: str = ""


_PER_PARTY = ("person", "legalRepresentative", "representativeReason")


def parse_informed_on(value: Any, field: str, today: date) -> date:
    informed_on = expect_date(value, field)
    if informed_on > today:
        raise invalid(field, "De datum van informeren mag niet in de toekomst liggen.", "date_in_future")
    return informed_on


def _party_informed(value: Any, name: str, today: date) -> Informed:
    if isinstance(value, dict) and "postponeReason" in value:
        obj = expect_object(value, name, ("postponeReason",))
        return Informed(
            postpone_reason=expect_choice(obj["postponeReason"], f"{name}.postponeReason", POSTPONE_REASONS)
        )
    obj = expect_object(value, name, ("method", "informedOn"))
    return Informed(
        method=expect_choice(obj["method"], f"{name}.method", INFORMED_METHODS),
        informed_on=parse_informed_on(obj["informedOn"], f"{name}.informedOn", today),
    )


def parse_informed(value: Any, today: date) -> Informed:
    if isinstance(value, dict) and any(k in value for k in _PER_PARTY):
        obj = expect_object(value, "informed", (), _PER_PARTY)
        if "person" not in obj and "legalRepresentative" not in obj:
            raise invalid(
                "informed",
                "Leg vast of de persoon, de wettelijk vertegenwoordiger of beiden zijn geïnformeerd.",
            )
        reason = obj.get("representativeReason")
        return Informed(
            person=_party_informed(obj["person"], "informed.person", today) if "person" in obj else None,
            legal_representative=(
                _party_informed(obj["legalRepresentative"], "informed.legalRepresentative", today)
                if "legalRepresentative" in obj
                else None
            ),
            representative_reason=(
                ""
                if reason is None
                else expect_choice(reason, "informed.representativeReason", REPRESENTATIVE_REASONS)
            ),
        )
    if isinstance(value, dict) and "postponeReason" in value:
        return _party_informed(value, "informed", today)
    obj = expect_object(value, "informed", ("party", "method", "informedOn"))
    return Informed(
        party=expect_choice(obj["party"], "informed.party", INFORMED_PARTIES),
        method=expect_choice(obj["method"], "informed.method", INFORMED_METHODS),
        informed_on=parse_informed_on(obj["informedOn"], "informed.informedOn", today),
    )


@dataclass(frozen=True)
class InformingCompleted:
    party: str
    method: str
    informed_on: date


def parse_informing_completed(body: Any, today: date) -> InformingCompleted:
    """POST /v1/signals/{id}/informed: a postponed party informed after all."""
    obj = expect_object(body, "", ("party", "method", "informedOn"))
    return InformingCompleted(
        party=expect_choice(obj["party"], "party", INFORMED_PARTIES),
        method=expect_choice(obj["method"], "method", INFORMED_METHODS),
        informed_on=parse_informed_on(obj["informedOn"], "informedOn", today),
    )


def check_bsn(value: str) -> str:
    """The shape of a BSN (the eleven-test is identity's): exactly 9 ASCII digits."""
    if not _BSN.fullmatch(value):
        raise InvalidArgument("bsn_format", "Het BSN moet uit 9 cijfers bestaan.", field="bsn")
    return value


def parse_signal_registration(body: Any, today: date) -> SignalRegistration:
    """Validate POST /v1/signals. The BSN itself is checked by the identity service."""
    obj = expect_object(
        body,
        "",
        ("bsn", "birthDate", "informed"),
        ("multiProblemAttested", "consentGiven", "consentBy", "underGuardianship", "clientReference"),
    )
    if not isinstance(obj["bsn"], str):
        raise invalid("bsn", "Veld 'bsn' moet een tekst van 9 cijfers zijn.")
    check_bsn(obj["bsn"])
    birth_date = expect_date(obj["birthDate"], "birthDate")
    if birth_date > today:
        raise invalid("birthDate", "De geboortedatum mag niet in de toekomst liggen.", "birth_date_in_future")
    if birth_date.year < 1900:
        raise invalid("birthDate", "De geboortedatum ligt te ver in het verleden.")
    return SignalRegistration(
        bsn=obj["bsn"],
        birth_date=birth_date,
        informed=parse_informed(obj["informed"], today),
        multi_problem_attested=expect_bool(obj.get("multiProblemAttested", False), "multiProblemAttested"),
        consent_given=expect_bool(obj.get("consentGiven", False), "consentGiven"),
        consent_by=expect_choice(obj["consentBy"], "consentBy", CONSENT_BY) if "consentBy" in obj else "",
        under_guardianship=expect_bool(obj.get("underGuardianship", False), "underGuardianship"),
        client_reference=parse_client_reference(obj.get("clientReference")),
    )


def parse_client_reference(value: Any) -> str:
    """The optional own case or file number ('' for none or null): the one rule in clientref."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(clientref.FIELD, f"Veld '{clientref.FIELD}' moet een tekst zijn.")
    return clientref.normalise(value)


def parse_client_reference_change(body: Any) -> str:
    """PATCH /v1/signals/{id}: {"clientReference": "..." | null} (null or "" clears it)."""
    obj = expect_object(body, "", (clientref.FIELD,))
    return parse_client_reference(obj[clientref.FIELD])


# A page to return to after login: a path on this site only (no scheme, host, "//" or "\\",
# which a browser would read as another site), of the characters our own URLs use.
_NEXT_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%=&?#-]{0,500}")


def safe_next(value: str | None) -> str | None:
    """The `next=` of the login page if it is a same-site relative path, else None."""
    if not value or not _NEXT_PATH.fullmatch(value):
        return None
    if value.startswith("/inloggen") or value.startswith("/uitloggen"):
        return None
    return value


_PATH_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_path_id(value: str) -> bool:
    """Ids in a URL path of an impossible shape are unknown, exactly like unknown ids."""
    return bool(_PATH_ID.fullmatch(value))


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Page:
    number: int
    size: int


def parse_page(args: Mapping[str, str]) -> Page:
    """`page` (1-based) and `pageSize` query parameters."""
    return Page(
        number=_int_param(args, "page", 1, 1, MAX_PAGE),
        size=_int_param(args, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    )


def _int_param(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise invalid(name, f"Parameter '{name}' moet een geheel getal van {low} tot en met {high} zijn.")
    return int(raw)


def parse_int_param(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _int_param(args, name, default, low, high)


def parse_bool_param(args: Mapping[str, str], name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise invalid(name, f"Parameter '{name}' moet true of false zijn.")
    return raw == "true"


def parse_choice_param(args: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = args.get(name)
    if raw is None:
        return ""
    return expect_choice(raw, name, choices)


def check_query(args: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    """Unknown query parameters are refused, so a typo is not silently ignored."""
    for name in args:
        if name not in allowed:
            raise invalid(name, f"Onbekende parameter '{name}'.", "unknown_parameter")


# -- API keys ------------------------------------------------------------------------------


def new_api_key() -> str:
    """A fresh API key: 32 random bytes, URL-safe, with a recognisable prefix."""
    return "sluis_" + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_bearer(header: str | None) -> str | None:
    """The key in 'Authorization: Bearer <key>', or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


# The key of the request fingerprint, derived from the processing log key (issue 14): a plain
# hash of a POST /v1/signals body could be brute-forced back to its BSN.
REQUEST_FINGERPRINT_LABEL = b"sluis gateway idempotency request fingerprint"


def request_hash(method: str, path: str, body: bytes) -> bytes:
    """What an Idempotency-Key is bound to: the same key with another request is refused.
    An HMAC, never a plain hash of the body."""
    key = processing_log.derived_key(REQUEST_FINGERPRINT_LABEL)
    return hmac.new(key, method.encode() + b" " + path.encode() + b"\n" + body, hashlib.sha256).digest()


# -- admin bodies ---------------------------------------------------------------------------

CREDENTIAL_SCOPES = ("signals", "bulkLoads")


@dataclass(frozen=True)
class OrganisationProfileInput:
    name: str | None = None
    legal_basis: str | None = None
    legal_ground: str | None = None
    domains: list[str] | None = None
    may_coordinate: bool | None = None
    covenant_date: date | None = None

    def changes(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def parse_organisation(body: Any, *, partial: bool) -> OrganisationProfileInput:
    """POST (all of name, legalBasis, domains, mayCoordinate) or PATCH (any) of an organisation."""
    fields = ("name", "legalBasis", "legalGround", "domains", "mayCoordinate", "covenantDate")
    required = () if partial else ("name", "legalBasis", "domains", "mayCoordinate")
    obj = expect_object(body, "", required, tuple(f for f in fields if f not in required))
    if partial and not obj:
        raise invalid("body", "Geef minstens één veld om te wijzigen.", "missing_field")
    domains = None
    if "domains" in obj:
        domains = expect_str_list(obj["domains"], "domains", max_items=len(DOMAINS))
        for i, d in enumerate(domains):
            expect_choice(d, f"domains[{i}]", DOMAINS)
    out = OrganisationProfileInput(
        name=expect_str(obj["name"], "name") if "name" in obj else None,
        legal_basis=expect_choice(obj["legalBasis"], "legalBasis", LEGAL_BASES)
        if "legalBasis" in obj
        else None,
        legal_ground=expect_str(obj["legalGround"], "legalGround", allow_empty=True)
        if "legalGround" in obj
        else None,
        domains=domains,
        may_coordinate=expect_bool(obj["mayCoordinate"], "mayCoordinate") if "mayCoordinate" in obj else None,
        covenant_date=parse_covenant_date(obj["covenantDate"]) if "covenantDate" in obj else None,
    )
    if out.legal_basis == "legalGround" and not (out.legal_ground or "").strip():
        raise invalid(
            "legalGround", "Noem de wettelijke grondslag bij legalBasis 'legalGround'.", "missing_field"
        )
    return out


def parse_covenant_date(value: Any) -> date:
    """The date the organisation signed the region's covenant (convenant): ISO, not in the future
    is not checked (a covenant may be signed ahead of the start)."""
    text = expect_str(value, "covenantDate", max_len=10)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid("covenantDate", "Veld 'covenantDate' moet een datum zijn (JJJJ-MM-DD).") from None


def parse_professional(body: Any, *, partial: bool) -> dict[str, Any]:
    """POST (name, email; role, phone optional) or PATCH (any, plus active) of a professional."""
    fields = ("name", "role", "phone", "email") + (("active",) if partial else ())
    required = () if partial else ("name", "email")
    obj = expect_object(body, "", required, tuple(f for f in fields if f not in required))
    if partial and not obj:
        raise invalid("body", "Geef minstens één veld om te wijzigen.", "missing_field")
    out: dict[str, Any] = {}
    for key in ("name", "role", "phone"):
        if key in obj:
            out[key] = expect_str(obj[key], key, allow_empty=key != "name")
    if out.get("phone") and not _PHONE.fullmatch(out["phone"].strip()):
        raise invalid(
            "phone", "Veld 'phone' moet een telefoonnummer zijn (cijfers, spaties, +, - en haakjes)."
        )
    if "email" in obj:
        email = expect_str(obj["email"], "email", max_len=254).strip()
        if not _EMAIL.fullmatch(email):
            raise invalid("email", "Veld 'email' moet een e-mailadres zijn.")
        out["email"] = email.lower()
    if "active" in obj:
        out["active"] = expect_bool(obj["active"], "active")
    return out


def parse_credential(body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """A system credential's name and scopes (the body fits the contract's NewApiCredential)."""
    name = expect_str(body["name"], "name", max_len=100)
    return name, sorted(set(body.get("scopes", CREDENTIAL_SCOPES)))


def parse_rotation(body: Mapping[str, Any]) -> int:
    """How long the old key keeps working after a rotation (seconds, default 1 day)."""
    return int(body.get("graceSeconds", 86400))


def parse_coordinator_rules(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Priorities of organisations and domains (the body fits NewCoordinatorRules): each at most once."""
    orgs = [str(uuid.UUID(o)) for o in body["organisationPriority"]]
    domains = list(body["domainPriority"])
    if len(set(orgs)) != len(orgs) or len(set(domains)) != len(domains):
        raise invalid("organisationPriority", "Een organisatie of domein mag maar één keer voorkomen.")
    return orgs, domains


def check_webhook(url: str, secret: str) -> None:
    """A webhook needs an https address and a signing secret of at least 16 characters."""
    if not url.startswith("https://") or len(url) > 2000 or " " in url:
        raise invalid("url", "Geef een https-adres op voor de webhook.")
    if len(secret) < 16:
        raise invalid("secret", "Het ondertekengeheim moet minstens 16 tekens lang zijn.")


# -- bulk rows -------------------------------------------------------------------------------

BULK_MAX_ROWS = 1_000_000
BULK_CSV_COLUMNS = (
    "bsn",
    "birthDate",
    "professionalId",
    "informedParty",
    "informedMethod",
    "informedOn",
    "postponeReason",
    "multiProblemAttested",
    "consentGiven",
)
# Columns a file may add (issue 17: the organisation's own case number per row).
BULK_CSV_OPTIONAL = ("clientReference",)
BULK_FORMATS = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl"}


@dataclass(frozen=True)
class BulkRow:
    """One valid row of a bulk file (the BSN still unchecked: identity checks it)."""

    number: int
    registration: SignalRegistration
    professional_id: str


@dataclass(frozen=True)
class BulkRowError:
    number: int
    reason: str
    field: str = ""


def check_csv_header(header: list[str]) -> list[str]:
    """The header of a bulk CSV: known columns only, bsn and birthDate required."""
    names = [h.strip() for h in header]
    for name in names:
        if name not in BULK_CSV_COLUMNS and name not in BULK_CSV_OPTIONAL:
            raise invalid(name, f"Onbekende kolom '{name[:50]}' in het bestand.", "unknown_column")
    for required in ("bsn", "birthDate"):
        if required not in names:
            raise invalid(required, f"Kolom '{required}' ontbreekt in het bestand.", "missing_column")
    if len(set(names)) != len(names):
        raise invalid("header", "Een kolom komt twee keer voor.", "duplicate_column")
    return names


def _csv_bool(value: str, field: str) -> bool:
    if value in ("", "false", "0", "nee"):
        return False
    if value in ("true", "1", "ja"):
        return True
    raise invalid(field, f"Kolom '{field}' moet true of false zijn.")


def csv_row_body(names: list[str], values: list[str]) -> tuple[dict[str, Any], str]:
    """A CSV row as the JSON body of POST /v1/signals, plus its professionalId ('' if none)."""
    if len(values) != len(names):
        raise InvalidArgument("column_count", "Deze regel heeft een ander aantal kolommen dan de kop.")
    row = dict(zip(names, (v.strip() for v in values), strict=True))
    if row.get("postponeReason"):
        informed: dict[str, Any] = {"postponeReason": row["postponeReason"]}
    else:
        informed = {
            "party": row.get("informedParty", ""),
            "method": row.get("informedMethod", ""),
            "informedOn": row.get("informedOn", ""),
        }
    body = {
        "bsn": row["bsn"],
        "birthDate": row["birthDate"],
        "informed": informed,
        "multiProblemAttested": _csv_bool(row.get("multiProblemAttested", ""), "multiProblemAttested"),
        "consentGiven": _csv_bool(row.get("consentGiven", ""), "consentGiven"),
    }
    if row.get("clientReference"):
        body["clientReference"] = row["clientReference"]
    return body, row.get("professionalId", "")


def jsonl_row_body(line: str) -> tuple[Any, str]:
    """A JSON-lines row: the POST /v1/signals body, optionally with professionalId."""
    body = parse_json(line.encode())
    if not isinstance(body, dict):
        raise invalid("body", "Elke regel moet een JSON-object zijn.")
    body = dict(body)
    pid = body.pop("professionalId", "")
    if not isinstance(pid, str):
        raise invalid("professionalId", "Veld 'professionalId' moet een id (uuid) zijn.")
    return body, pid


def parse_bulk_row(
    number: int, body: Any, professional_id: str, default_professional: str, today: date
) -> BulkRow:
    """Validate one row; a bulk row is refused for the same reasons as a single registration."""
    reg = parse_signal_registration(body, today)
    pid = professional_id or default_professional
    if not pid:
        raise invalid("professionalId", "Geef per regel een professionalId.", "missing_field")
    return BulkRow(number, reg, pid)
