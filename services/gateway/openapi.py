"""The REST contract: docs/api/openapi.yaml, THE one definition of /v1. Served at
/v1/openapi.json, and every JSON request body is validated against it here (jsonschema)
before a handler sees it; rules a schema cannot express stay in domain.py. Tests check the
contract against the routes, the NL API Design Rules and, with schemathesis, the running app."""

import copy
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker, ValidationError

from services.common import clientref
from services.common.errors import InvalidArgument

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


@cache
def _loaded() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as f:
        doc: dict[str, Any] = yaml.safe_load(f)
    return doc


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (a copy: callers may not change the one loaded)."""
    return copy.deepcopy(_loaded())


def api_version() -> str:
    """The contract's version, sent as the API-Version header on every response."""
    return str(_loaded()["info"]["version"])


# -- request validation against the contract ----------------------------------------------------

_TEMPLATE = re.compile(r"\{[^}]+\}|<[^>]+>")
_FORMATS = FormatChecker(["date", "email", "uuid"])
_BSN_TEXT = "Het BSN moet uit 9 cijfers bestaan."


def _route_key(method: str, path: str) -> tuple[str, str]:
    """'/signals/{signalId}/end' and Flask's '/v1/signals/<signal_id>/end' give the same key."""
    return method.lower(), _TEMPLATE.sub("{}", path.removeprefix("/v1"))


@cache
def _validators() -> dict[tuple[str, str], Draft7Validator]:
    """A validator per operation with a JSON request body (the contract's own schema)."""
    doc = _loaded()
    out: dict[tuple[str, str], Draft7Validator] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                # The $refs resolve inside the same document (#/components/schemas/...).
                root = {**schema, "components": doc["components"]}
                out[_route_key(method, path)] = Draft7Validator(root, format_checker=_FORMATS)
    return out


def _name(path: Iterable[Any]) -> str:
    """The JSON path as the API names fields: informed.method, domains[0]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _branch(error: ValidationError) -> list[ValidationError]:
    """Of a oneOf, the errors of the alternative the body meant: the one naming most of its keys."""
    instance = error.instance if isinstance(error.instance, dict) else {}
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    alternatives = error.validator_value

    def overlap(index: int) -> int:
        schema = alternatives[index]
        if "$ref" in schema:
            schema = _loaded()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return len(set(instance) & set(schema.get("properties", {})))

    best = max(sorted(branches), key=overlap) if branches else None
    return [] if best is None else branches[best]


_ORDER = {"type": 0, "additionalProperties": 1, "required": 2}


def _first(errors: Iterable[ValidationError]) -> ValidationError | None:
    """The error the caller hears about: the shallowest; unknown before missing before the rest."""
    ranked = sorted(errors, key=lambda e: (len(e.absolute_path), _ORDER.get(str(e.validator), 3)))
    if not ranked:
        return None
    first = ranked[0]
    if first.validator == "oneOf" and isinstance(first.instance, dict):
        return _first(_branch(first)) or first
    return first


def _refusal(error: ValidationError) -> InvalidArgument:
    field = _name(error.absolute_path)
    where = f"'{field}'" if field else "De body"
    kind = error.validator
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = next((k for k in error.instance if k not in known), "")
        path = f"{field}.{extra}" if field else str(extra)
        return InvalidArgument("unknown_field", f"Onbekend veld '{path}'.", field=path)
    if kind == "required":
        missing = next((k for k in error.validator_value if k not in error.instance), "")
        path = f"{field}.{missing}" if field else str(missing)
        return InvalidArgument("missing_field", f"Veld '{path}' ontbreekt.", field=path)
    if kind == "minProperties" and not field:
        return InvalidArgument("missing_field", "Geef minstens één veld om te wijzigen.", field="body")
    if kind == "type" and not field:
        return InvalidArgument("invalid_field", "De body moet een JSON-object zijn.", field="body")
    if field == "bsn" and kind in ("pattern", "maxLength", "minLength"):
        return InvalidArgument("bsn_format", _BSN_TEXT, field="bsn")
    if field == clientref.FIELD and kind in ("pattern", "maxLength"):
        return clientref.refused()
    if kind == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return InvalidArgument(
            "invalid_field", f"Veld {where} moet een van deze waarden zijn: {choices}.", field=field
        )
    if kind == "format" and error.validator_value == "date":
        return InvalidArgument(
            "invalid_field", f"Veld {where} moet een datum zijn (JJJJ-MM-DD).", field=field
        )
    return InvalidArgument(
        "invalid_field", f"Veld {where} heeft een ongeldige waarde.", field=field or "body"
    )


def check_body(method: str, rule: str, body: Any) -> None:
    """Refuse a JSON body that does not fit the operation's schema in the contract (400 naming
    the field; the message never repeats a submitted value). Domain rules follow in domain.py."""
    validator = _validators().get(_route_key(method, rule))
    if validator is None:
        return
    error = _first(validator.iter_errors(body))
    if error is not None:
        raise _refusal(error)
