"""The REST contract: docs/api/openapi.yaml, THE one definition of /v1 (served at
/v1/openapi.json). Tests check it against the routes, the NL API Design Rules and, with
schemathesis, against the running app."""

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

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
