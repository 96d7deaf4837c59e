"""The published OpenAPI 3.0 document of /v1, built from small pieces so it stays in step
with the routes (a test compares the two) and with the NL API Design Rules (another test)."""

from functools import cache
from typing import Any

from services.gateway.api import API_VERSION

JSON = "application/json"
PROBLEM = "application/problem+json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _string(**kw: Any) -> dict[str, Any]:
    return {"type": "string", **kw}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None], "nullable": True}
    return {**schema, "nullable": True}


_LINK = {"type": "object", "properties": {"href": _string()}, "required": ["href"]}
_LINKS = {"type": "object", "additionalProperties": ref("Link")}
_ORG_REF = {
    "type": "object",
    "properties": {"id": _string(), "name": _string()},
    "required": ["id", "name"],
}

SCHEMAS: dict[str, Any] = {
    "Link": _LINK,
    "Links": _LINKS,
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": _string(format="uri"),
            "title": _string(),
            "status": {"type": "integer"},
            "detail": _string(),
            "code": _string(),
            "invalidParams": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": _string(), "reason": _string()},
                    "required": ["name", "reason"],
                },
            },
            "existingSignal": _LINK,
        },
        "required": ["type", "title", "status", "detail", "code"],
    },
    "InformedDone": {
        "type": "object",
        "properties": {
            "party": _string(enum=["person", "legalRepresentative", "both"]),
            "method": _string(enum=["inPerson", "phone", "letter", "email"]),
            "informedOn": _string(format="date"),
        },
        "required": ["party", "method", "informedOn"],
        "additionalProperties": False,
    },
    "InformedPostponed": {
        "type": "object",
        "properties": {"postponeReason": _string(enum=["safety", "notReachable"])},
        "required": ["postponeReason"],
        "additionalProperties": False,
    },
    "Informed": {"oneOf": [ref("InformedDone"), ref("InformedPostponed")]},
    "SignalRegistration": {
        "type": "object",
        "properties": {
            "bsn": _string(
                pattern="^[0-9]{8,9}$", description="Burgerservicenummer; only ever in a POST body."
            ),
            "birthDate": _string(format="date"),
            "informed": ref("Informed"),
            "multiProblemAttested": {"type": "boolean", "default": False},
            "consentGiven": {"type": "boolean", "default": False},
        },
        "required": ["bsn", "birthDate", "informed"],
        "additionalProperties": False,
    },
    "Signal": {
        "type": "object",
        "properties": {
            "id": _string(),
            "status": _string(enum=["active", "archived"]),
            "birthDate": _string(format="date"),
            "registeredAt": _nullable(_string(format="date-time")),
            "activeUntil": _nullable(_string(format="date-time")),
            "endedAt": _nullable(_string(format="date-time")),
            "endReason": _nullable(
                _string(
                    enum=[
                        "goalReached",
                        "unjustified",
                        "other",
                        "expired",
                        "objectionUpheld",
                        "purged",
                        "deceased",
                    ]
                )
            ),
            "deleteAfter": _nullable(_string(format="date-time")),
            "organisation": _ORG_REF,
            "professional": {
                "type": "object",
                "properties": {"id": _string(), "name": _string()},
                "required": ["id", "name"],
            },
            "legalBasis": _string(enum=["consent", "legalGround"]),
            "legalGround": _string(),
            "informed": ref("Informed"),
            "multiProblemAttested": {"type": "boolean"},
            "consentGiven": {"type": "boolean"},
            "_links": _LINKS,
        },
        "required": ["id", "status", "birthDate", "organisation", "legalBasis", "informed", "_links"],
    },
    "SignalList": {
        "type": "object",
        "properties": {"signals": {"type": "array", "items": ref("Signal")}, "_links": _LINKS},
        "required": ["signals", "_links"],
    },
    "EndSignal": {
        "type": "object",
        "properties": {"reason": _string(enum=["goalReached", "unjustified", "other"])},
        "required": ["reason"],
        "additionalProperties": False,
    },
    "Contact": {
        "type": "object",
        "properties": {
            "professionalId": _string(),
            "name": _string(),
            "role": _string(),
            "organisation": _ORG_REF,
            "phone": _string(),
            "email": _string(),
            "isCoordinator": {"type": "boolean"},
        },
        "required": ["professionalId", "name", "role", "organisation", "phone", "email", "isCoordinator"],
    },
    "Member": {
        "allOf": [ref("Contact"), {"type": "object", "properties": {"joinedAt": _nullable(_string())}}]
    },
    "Involvement": {
        "type": "object",
        "properties": {
            "others": {"type": "array", "items": ref("Contact")},
            "match": _nullable(
                {
                    "type": "object",
                    "properties": {
                        "id": _string(),
                        "coordinator": _nullable(ref("Contact")),
                        "_links": _LINKS,
                    },
                    "required": ["id", "coordinator"],
                }
            ),
            "_links": _LINKS,
        },
        "required": ["others", "match"],
    },
    "Match": {
        "type": "object",
        "properties": {
            "id": _string(),
            "status": _string(enum=["open", "closed", "unknown"]),
            "members": {"type": "array", "items": ref("Member")},
            "coordinator": _nullable(ref("Member")),
            "pendingCoordinatorProfessionalId": _nullable(_string()),
            "createdAt": _nullable(_string(format="date-time")),
            "closedAt": _nullable(_string(format="date-time")),
            "_links": _LINKS,
        },
        "required": ["id", "status", "members", "coordinator", "_links"],
    },
    "MatchList": {
        "type": "object",
        "properties": {"matches": {"type": "array", "items": ref("Match")}, "_links": _LINKS},
        "required": ["matches", "_links"],
    },
    "HandOver": {
        "type": "object",
        "properties": {"professionalId": _string(format="uuid")},
        "required": ["professionalId"],
        "additionalProperties": False,
    },
    "InboxItem": {
        "type": "object",
        "properties": {
            "id": _string(),
            "kind": _string(),
            "title": _string(),
            "body": _string(),
            "matchId": _nullable(_string()),
            "signalId": _nullable(_string()),
            "createdAt": _nullable(_string(format="date-time")),
            "readAt": _nullable(_string(format="date-time")),
            "_links": _LINKS,
        },
        "required": ["id", "kind", "title", "body", "_links"],
    },
    "Inbox": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref("InboxItem")},
            "unreadCount": {"type": "integer"},
            "_links": _LINKS,
        },
        "required": ["items", "unreadCount", "_links"],
    },
    "Empty": {
        "type": "object",
        "additionalProperties": False,
        "description": "An empty object (or no body).",
    },
}

API_VERSION_HEADER = {
    "API-Version": {
        "description": "Semantic version of this API.",
        "schema": {"type": "string", "example": API_VERSION},
    }
}
LOCATION_HEADER = {"Location": {"description": "URL of the created resource.", "schema": {"type": "string"}}}


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": API_VERSION_HEADER,
        "content": {PROBLEM: {"schema": ref("Problem")}},
    }


RESPONSES: dict[str, Any] = {
    "BadRequest": problem_response("Ongeldig verzoek (veld, waarde of JSON)."),
    "Unauthorized": problem_response("Geen of een ongeldige API-sleutel."),
    "Forbidden": problem_response("Uw rol mag dit niet."),
    "NotFound": problem_response("Niet gevonden (of niet van u: hetzelfde antwoord)."),
    "Conflict": problem_response("Conflict met de huidige toestand."),
    "PayloadTooLarge": problem_response("Het verzoek is te groot."),
    "UnsupportedMediaType": problem_response("Stuur application/json."),
    "Unprocessable": problem_response("Idempotency-Key hergebruikt voor een ander verzoek."),
    "TooManyRequests": problem_response("Te veel verzoeken; zie Retry-After."),
    "ServiceUnavailable": problem_response("Een onderdeel is tijdelijk niet bereikbaar."),
    "InternalError": problem_response("Interne fout."),
}

PARAMETERS: dict[str, Any] = {
    "page": {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
    },
    "pageSize": {
        "name": "pageSize",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    },
    "signalStatus": {"name": "status", "in": "query", "schema": _string(enum=["active", "archived"])},
    "unreadOnly": {"name": "unreadOnly", "in": "query", "schema": {"type": "boolean", "default": False}},
    "signalId": {
        "name": "signalId",
        "in": "path",
        "required": True,
        "schema": _string(pattern="^[A-Za-z0-9_-]{1,64}$"),
    },
    "matchId": {
        "name": "matchId",
        "in": "path",
        "required": True,
        "schema": _string(pattern="^[A-Za-z0-9_-]{1,64}$"),
    },
    "itemId": {
        "name": "itemId",
        "in": "path",
        "required": True,
        "schema": _string(pattern="^[A-Za-z0-9_-]{1,64}$"),
    },
    "organisationId": {
        "name": "organisationId",
        "in": "path",
        "required": True,
        "schema": _string(format="uuid"),
    },
    "professionalId": {
        "name": "professionalId",
        "in": "path",
        "required": True,
        "schema": _string(format="uuid"),
    },
    "credentialId": {
        "name": "credentialId",
        "in": "path",
        "required": True,
        "schema": _string(format="uuid"),
    },
    "bulkLoadId": {"name": "bulkLoadId", "in": "path", "required": True, "schema": _string(format="uuid")},
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "description": "Makes a POST safe to retry: the first answer is stored and repeated.",
        "schema": {"type": "string", "maxLength": 200},
    },
    "ProfessionalIdHeader": {
        "name": "X-Professional-Id",
        "in": "header",
        "description": "Organisation systems: the professional of the organisation this call is made for.",
        "schema": {"type": "string", "format": "uuid"},
    },
}


def p(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def json_response(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {**API_VERSION_HEADER, **(headers or {})},
        "content": {JSON: {"schema": ref(schema)}},
    }


def operation(
    op_id: str,
    summary: str,
    tag: str,
    ok: dict[str, Any],
    *,
    params: tuple[str, ...] = (),
    body: str | None = None,
    body_optional: bool = False,
    errors: tuple[int, ...] = (400, 401, 403, 404),
    public: bool = False,
    post: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = dict(ok)
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        413: "PayloadTooLarge",
        415: "UnsupportedMediaType",
        422: "Unprocessable",
        429: "TooManyRequests",
        503: "ServiceUnavailable",
    }
    codes = set(errors) | ({413, 415, 422} if post else set())
    if not public:
        codes |= {401, 403, 429, 503}
    for code in sorted(codes):
        responses[str(code)] = {"$ref": f"#/components/responses/{names[code]}"}
    responses["500"] = {"$ref": "#/components/responses/InternalError"}
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [tag],
        "parameters": [p(n) for n in params] + ([p("IdempotencyKey")] if post else []),
        "responses": responses,
    }
    if public:
        op["security"] = []
    elif tag in ("signals", "matches", "inbox"):
        op["parameters"].append(p("ProfessionalIdHeader"))
    if body is not None:
        op["requestBody"] = {"required": not body_optional, "content": {JSON: {"schema": ref(body)}}}
    return op


def _paths() -> dict[str, Any]:
    ok200 = lambda schema, d="OK": {"200": json_response(d, schema)}  # noqa: E731
    return {
        "/signals": {
            "post": operation(
                "registerSignal",
                "Registreer een signaal",
                "signals",
                {"201": json_response("Geregistreerd", "Signal", LOCATION_HEADER)},
                body="SignalRegistration",
                errors=(400, 409),
                post=True,
            ),
            "get": operation(
                "listSignals",
                "Mijn signalen",
                "signals",
                ok200("SignalList"),
                params=("signalStatus", "page", "pageSize"),
                errors=(400,),
            ),
        },
        "/signals/{signalId}": {
            "get": operation(
                "getSignal", "Een signaal van mij", "signals", ok200("Signal"), params=("signalId",)
            ),
        },
        "/signals/{signalId}/renew": {
            "post": operation(
                "renewSignal",
                "Verleng een signaal",
                "signals",
                ok200("Signal"),
                params=("signalId",),
                body="Empty",
                body_optional=True,
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/signals/{signalId}/end": {
            "post": operation(
                "endSignal",
                "Beëindig een signaal",
                "signals",
                {
                    **ok200("Signal", "Gearchiveerd"),
                    "204": {"description": "Verwijderd (onterecht)", "headers": API_VERSION_HEADER},
                },
                params=("signalId",),
                body="EndSignal",
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/signals/{signalId}/involvement": {
            "get": operation(
                "getInvolvement",
                "Wie is er nog meer betrokken",
                "signals",
                ok200("Involvement"),
                params=("signalId",),
            ),
        },
        "/matches": {
            "get": operation(
                "listMatches",
                "Mijn matches",
                "matches",
                ok200("MatchList"),
                params=("page", "pageSize"),
                errors=(400,),
            ),
        },
        "/matches/{matchId}": {
            "get": operation("getMatch", "Een match", "matches", ok200("Match"), params=("matchId",)),
        },
        "/matches/{matchId}/coordinator": {
            "post": operation(
                "takeCoordinator",
                "Neem de rol van matchregisseur",
                "matches",
                ok200("Match"),
                params=("matchId",),
                body="Empty",
                body_optional=True,
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/matches/{matchId}/coordinator/hand-over": {
            "post": operation(
                "handOverCoordinator",
                "Draag de regie over",
                "matches",
                ok200("Match"),
                params=("matchId",),
                body="HandOver",
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/matches/{matchId}/coordinator/accept": {
            "post": operation(
                "acceptCoordinator",
                "Aanvaard de regie",
                "matches",
                ok200("Match"),
                params=("matchId",),
                body="Empty",
                body_optional=True,
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/inbox": {
            "get": operation(
                "listInbox",
                "Mijn berichten",
                "inbox",
                ok200("Inbox"),
                params=("unreadOnly", "page", "pageSize"),
                errors=(400,),
            ),
        },
        "/inbox/{itemId}/read": {
            "post": operation(
                "markInboxItemRead",
                "Markeer een bericht als gelezen",
                "inbox",
                ok200("InboxItem"),
                params=("itemId",),
                body="Empty",
                body_optional=True,
                errors=(400, 404),
                post=True,
            ),
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "Dit document",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0",
                        "headers": API_VERSION_HEADER,
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


_ORG_PROPS = {
    "name": _string(maxLength=200),
    "legalBasis": _string(enum=["consent", "legalGround"]),
    "legalGround": _string(maxLength=200),
    "domains": {
        "type": "array",
        "items": _string(enum=["care", "youth", "education", "work_income", "housing", "safety", "debt"]),
    },
    "mayCoordinate": {"type": "boolean"},
}
_PRO_PROPS = {
    "name": _string(maxLength=200),
    "role": _string(maxLength=200),
    "phone": _string(maxLength=200),
    "email": _string(format="email", maxLength=254),
}

ADMIN_SCHEMAS: dict[str, Any] = {
    "Organisation": {
        "type": "object",
        "properties": {
            "id": _string(format="uuid"),
            **_ORG_PROPS,
            "createdAt": _nullable(_string(format="date-time")),
            "_links": _LINKS,
        },
        "required": ["id", "name", "legalBasis", "legalGround", "domains", "mayCoordinate", "_links"],
    },
    "OrganisationList": {
        "type": "object",
        "properties": {"organisations": {"type": "array", "items": ref("Organisation")}, "_links": _LINKS},
        "required": ["organisations"],
    },
    "NewOrganisation": {
        "type": "object",
        "properties": _ORG_PROPS,
        "required": ["name", "legalBasis", "domains", "mayCoordinate"],
        "additionalProperties": False,
    },
    "OrganisationChanges": {
        "type": "object",
        "properties": _ORG_PROPS,
        "additionalProperties": False,
        "minProperties": 1,
    },
    "Professional": {
        "type": "object",
        "properties": {
            "id": _string(format="uuid"),
            "organisationId": _string(format="uuid"),
            **_PRO_PROPS,
            "active": {"type": "boolean"},
            "createdAt": _nullable(_string(format="date-time")),
            "_links": _LINKS,
        },
        "required": ["id", "organisationId", "name", "email", "active", "_links"],
    },
    "ProfessionalList": {
        "type": "object",
        "properties": {"professionals": {"type": "array", "items": ref("Professional")}, "_links": _LINKS},
        "required": ["professionals"],
    },
    "NewProfessional": {
        "type": "object",
        "properties": _PRO_PROPS,
        "required": ["name", "email"],
        "additionalProperties": False,
    },
    "ProfessionalChanges": {
        "type": "object",
        "properties": {**_PRO_PROPS, "active": {"type": "boolean"}},
        "additionalProperties": False,
        "minProperties": 1,
    },
    "ApiCredential": {
        "type": "object",
        "properties": {
            "id": _string(format="uuid"),
            "name": _string(),
            "scopes": {"type": "array", "items": _string(enum=["signals", "bulkLoads"])},
            "createdAt": _nullable(_string(format="date-time")),
            "lastUsedAt": _nullable(_string(format="date-time")),
            "revokedAt": _nullable(_string(format="date-time")),
            "expiresAt": _nullable(_string(format="date-time")),
            "apiKey": _string(description="Only in the answer to create and rotate: store it now."),
            "_links": _LINKS,
        },
        "required": ["id", "name", "scopes", "_links"],
    },
    "ApiCredentialList": {
        "type": "object",
        "properties": {"apiCredentials": {"type": "array", "items": ref("ApiCredential")}, "_links": _LINKS},
        "required": ["apiCredentials"],
    },
    "NewApiCredential": {
        "type": "object",
        "properties": {
            "name": _string(maxLength=100),
            "scopes": {"type": "array", "items": _string(enum=["signals", "bulkLoads"]), "minItems": 1},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
    "Rotation": {
        "type": "object",
        "properties": {"graceSeconds": {"type": "integer", "minimum": 0, "maximum": 2592000}},
        "additionalProperties": False,
    },
    "CoordinatorRules": {
        "type": "object",
        "properties": {
            "organisationPriority": {"type": "array", "items": _string(format="uuid")},
            "domainPriority": {"type": "array", "items": _string()},
            "version": {"type": "integer"},
            "createdAt": _nullable(_string(format="date-time")),
            "createdBy": _nullable(_string()),
            "_links": _LINKS,
        },
        "required": ["organisationPriority", "domainPriority", "version"],
    },
    "NewCoordinatorRules": {
        "type": "object",
        "properties": {
            "organisationPriority": {"type": "array", "items": _string(format="uuid"), "maxItems": 500},
            "domainPriority": {
                "type": "array",
                "items": _string(
                    enum=["care", "youth", "education", "work_income", "housing", "safety", "debt"]
                ),
            },
        },
        "required": ["organisationPriority", "domainPriority"],
        "additionalProperties": False,
    },
    "AccessRequest": {
        "type": "object",
        "properties": {"bsn": _string(pattern="^[0-9]{8,9}$")},
        "required": ["bsn"],
        "additionalProperties": False,
    },
    "AccessDocument": {
        "type": "object",
        "description": "Everything SluiS holds on the person (inzage), for the citizen.",
        "properties": {
            "generatedAt": _string(format="date-time"),
            "region": _string(),
            "signals": {"type": "array", "items": {"type": "object"}},
            "matches": {"type": "array", "items": {"type": "object"}},
            "accessLog": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["generatedAt", "region", "signals", "matches", "accessLog"],
    },
    "Objection": {
        "type": "object",
        "properties": {"signalId": _string(maxLength=64), "decision": _string(enum=["upheld"])},
        "required": ["signalId", "decision"],
        "additionalProperties": False,
    },
    "ObjectionDecision": {
        "type": "object",
        "properties": {"signalId": _string(), "decision": _string(enum=["upheld"]), "_links": _LINKS},
        "required": ["signalId", "decision"],
    },
}


BULK_SCHEMAS: dict[str, Any] = {
    "BulkLoad": {
        "type": "object",
        "properties": {
            "id": _string(format="uuid"),
            "state": _string(enum=["queued", "running", "matching", "done", "failed"]),
            "format": _string(enum=["csv", "jsonl"]),
            "rowsTotal": {"type": "integer"},
            "rowsDone": {"type": "integer"},
            "rowsFailed": {"type": "integer"},
            "rowsPending": {"type": "integer"},
            "createdAt": _nullable(_string(format="date-time")),
            "startedAt": _nullable(_string(format="date-time")),
            "finishedAt": _nullable(_string(format="date-time")),
            "_links": _LINKS,
        },
        "required": ["id", "state", "rowsTotal", "rowsDone", "rowsFailed", "_links"],
    },
}


def _bulk_paths() -> dict[str, Any]:
    upload = {
        "required": True,
        "description": (
            "CSV with header (columns: "
            + ", ".join(
                (
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
            )
            + ") or JSON lines (one POST /signals body per line, plus professionalId). At most"
            " 1,000,000 rows. Re-uploading the same file returns the existing job."
        ),
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
        },
    }
    create = operation(
        "createBulkLoad",
        "Laad een klantenbestand",
        "bulk",
        {
            "202": json_response("Aangenomen", "BulkLoad", LOCATION_HEADER),
            "200": json_response(
                "Dit bestand is al geladen: de bestaande lading", "BulkLoad", LOCATION_HEADER
            ),
        },
        errors=(400,),
        post=True,
    )
    create["requestBody"] = upload
    create["parameters"] = [
        p for p in create["parameters"] if p["$ref"] != "#/components/parameters/IdempotencyKey"
    ]
    create["parameters"].append(p("ProfessionalIdHeader"))
    return {
        "/bulk-loads": {"post": create},
        "/bulk-loads/{bulkLoadId}": {
            "get": operation(
                "getBulkLoad",
                "Voortgang van een lading",
                "bulk",
                {"200": json_response("OK", "BulkLoad")},
                params=("bulkLoadId",),
            ),
        },
        "/bulk-loads/{bulkLoadId}/errors": {
            "get": operation(
                "getBulkLoadErrors",
                "Geweigerde regels (regelnummer, reden, veld)",
                "bulk",
                {
                    "200": {
                        "description": "CSV: row,reason,field",
                        "headers": API_VERSION_HEADER,
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    }
                },
                params=("bulkLoadId",),
            ),
        },
    }


def _admin_paths() -> dict[str, Any]:
    ok200 = lambda schema, d="OK": {"200": json_response(d, schema)}  # noqa: E731
    created = lambda schema: {"201": json_response("Aangemaakt", schema, LOCATION_HEADER)}  # noqa: E731
    org = ("organisationId",)
    return {
        "/organisations": {
            "get": operation(
                "listOrganisations", "Organisaties", "admin", ok200("OrganisationList"), errors=()
            ),
            "post": operation(
                "createOrganisation",
                "Sluit een organisatie aan",
                "admin",
                created("Organisation"),
                body="NewOrganisation",
                errors=(400,),
                post=True,
            ),
        },
        "/organisations/{organisationId}": {
            "get": operation(
                "getOrganisation", "Een organisatie", "admin", ok200("Organisation"), params=org
            ),
            "patch": operation(
                "updateOrganisation",
                "Wijzig het organisatieprofiel",
                "admin",
                ok200("Organisation"),
                params=org,
                body="OrganisationChanges",
                errors=(400, 404, 415),
            ),
        },
        "/organisations/{organisationId}/professionals": {
            "get": operation(
                "listProfessionals", "Professionals", "admin", ok200("ProfessionalList"), params=org
            ),
            "post": operation(
                "createProfessional",
                "Voeg een professional toe",
                "admin",
                created("Professional"),
                params=org,
                body="NewProfessional",
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/organisations/{organisationId}/professionals/{professionalId}": {
            "get": operation(
                "getProfessional",
                "Een professional",
                "admin",
                ok200("Professional"),
                params=(*org, "professionalId"),
            ),
            "patch": operation(
                "updateProfessional",
                "Wijzig of deactiveer een professional",
                "admin",
                ok200("Professional"),
                params=(*org, "professionalId"),
                body="ProfessionalChanges",
                errors=(400, 404, 409, 415),
            ),
        },
        "/organisations/{organisationId}/api-credentials": {
            "get": operation(
                "listApiCredentials", "API-sleutels", "admin", ok200("ApiCredentialList"), params=org
            ),
            "post": operation(
                "createApiCredential",
                "Maak een API-sleutel",
                "admin",
                created("ApiCredential"),
                params=org,
                body="NewApiCredential",
                errors=(400, 404),
                post=True,
            ),
        },
        "/organisations/{organisationId}/api-credentials/{credentialId}/rotate": {
            "post": operation(
                "rotateApiCredential",
                "Vervang een API-sleutel",
                "admin",
                created("ApiCredential"),
                params=(*org, "credentialId"),
                body="Rotation",
                body_optional=True,
                errors=(400, 404, 409),
                post=True,
            ),
        },
        "/organisations/{organisationId}/api-credentials/{credentialId}/revoke": {
            "post": operation(
                "revokeApiCredential",
                "Trek een API-sleutel in",
                "admin",
                ok200("ApiCredential"),
                params=(*org, "credentialId"),
                body="Empty",
                body_optional=True,
                errors=(400, 404),
                post=True,
            ),
        },
        "/coordinator-rules": {
            "get": operation(
                "getCoordinatorRules", "Regels voor matchregie", "admin", ok200("CoordinatorRules"), errors=()
            ),
            "put": operation(
                "setCoordinatorRules",
                "Stel de regels voor matchregie vast",
                "admin",
                ok200("CoordinatorRules"),
                body="NewCoordinatorRules",
                errors=(400, 415),
            ),
        },
        "/access-requests": {
            "post": operation(
                "createAccessRequest",
                "Inzageverzoek van een burger",
                "admin",
                ok200("AccessDocument"),
                body="AccessRequest",
                errors=(400,),
                post=True,
            ),
        },
        "/objections": {
            "post": operation(
                "upholdObjection",
                "Gegrond bezwaar: verwijder het signaal",
                "admin",
                {"201": json_response("Verwerkt", "ObjectionDecision")},
                body="Objection",
                errors=(400, 404),
                post=True,
            ),
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at /v1/openapi.json."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "SluiS API",
            "version": API_VERSION,
            "description": (
                "Verwijsindex SluiS: signalen, matches en matchregie. Een BSN reist alleen in de body"
                " van een POST, nooit in een URL."
            ),
            "contact": {"name": "SluiS", "url": "https://sluis.example", "email": "beheer@sluis.example"},
            "license": {"name": "EUPL-1.2", "url": "https://eupl.eu/1.2/nl/"},
        },
        "servers": [{"url": "/v1", "description": "Deze regio"}],
        "tags": [
            {"name": n, "description": d}
            for n, d in (
                ("signals", "Signalen van de professional"),
                ("matches", "Matches en matchregie"),
                ("inbox", "Berichten"),
                ("admin", "Beheer (organisatie- en regiobeheerders)"),
                ("bulk", "Bulkladingen"),
                ("meta", "Dit document"),
            )
        ],
        "security": [{"apiKey": []}],
        "paths": {**_paths(), **_admin_paths(), **_bulk_paths()},
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API-sleutel van een professional, organisatiesysteem of beheerder.",
                }
            },
            "schemas": {**SCHEMAS, **ADMIN_SCHEMAS, **BULK_SCHEMAS},
            "responses": RESPONSES,
            "parameters": PARAMETERS,
        },
    }
