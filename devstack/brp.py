"""A local BRP for development and tests: Haal Centraal BRP Bevragen `POST /personen`.

Speaks the contract in docs/reference/haal-centraal-brp-bevragen-openapi.yaml: every request
and every response is validated against that spec with openapi-core, so the identity client
and this server cannot drift from the real API unnoticed. Only RaadpleegMetBurgerservicenummer
is implemented, with the `fields` filter. The dataset (test BSNs 999990000-999999999) is
described in devstack/README.md. Dev-only admin endpoints change it: a move and a death.

    python -m devstack.brp [--port 8099] [--synthetic]
"""

import argparse
import copy
import hashlib
import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_schema_validator import OAS31Validator
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

SPEC_PATH = (
    Path(__file__).resolve().parent.parent / "docs" / "reference" / "haal-centraal-brp-bevragen-openapi.yaml"
)
BASE_PATH = "/haalcentraal/api/brp"
JSON = "application/json; charset=utf-8"
MUNICIPALITIES = {"0599": "Rotterdam", "0606": "Schiedam", "0228": "Ede", "0202": "Arnhem", "0344": "Utrecht"}


@dataclass
class TestPerson:
    bsn: str
    born: date
    municipality: str
    died: date | None = None
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    address: str = ""  # adresseerbaarObjectIdentificatie (household)


def _family(parents: list[TestPerson], children: list[TestPerson]) -> list[TestPerson]:
    for p in parents:
        p.children = [c.bsn for c in children]
    for c in children:
        c.parents = [p.bsn for p in parents]
    return [*parents, *children]


def dataset() -> dict[str, TestPerson]:
    """The test persons (all BSNs pass the 11-test and lie in the official test range)."""
    people = [
        # The official test person.
        TestPerson("999993653", date(1985, 12, 1), "0599", address="0599010000000001"),
        # Family De Boer, Rotterdam: two parents, two minors and one who turns 18 on 2026-12-10.
        *_family(
            [
                TestPerson("999990019", date(1980, 3, 15), "0599", address="0599010000000002"),
                TestPerson("999990020", date(1982, 7, 20), "0599", address="0599010000000002"),
            ],
            [
                TestPerson("999990032", date(2012, 5, 4), "0599", address="0599010000000002"),
                TestPerson("999990044", date(2015, 9, 30), "0599", address="0599010000000002"),
                TestPerson("999990056", date(2008, 12, 10), "0599", address="0599010000000002"),
            ],
        ),
        # Family Yilmaz, Ede: one parent, one minor.
        *_family(
            [TestPerson("999990068", date(1979, 1, 8), "0228", address="0228010000000003")],
            [TestPerson("999990081", date(2014, 2, 14), "0228", address="0228010000000003")],
        ),
        # Moves from Rotterdam to Ede (POST /admin/verhuizingen, or at startup with --moved).
        TestPerson("999990093", date(1990, 4, 12), "0599", address="0599010000000004"),
        # Deceased on 2026-10-01.
        TestPerson("999990111", date(1940, 1, 1), "0599", died=date(2026, 10, 1)),
        # Alive now; dies during a test (POST /admin/overlijdens).
        TestPerson("999990123", date(1950, 6, 6), "0599", address="0599010000000005"),
    ]
    return {p.bsn: p for p in people}


def synthetic(bsn: str) -> TestPerson:
    """A generated person for any BSN (bench): stable birth date, Rotterdam."""
    seed = int.from_bytes(hashlib.sha256(bsn.encode()).digest()[:4], "big")
    return TestPerson(bsn, date(1940, 1, 1) + timedelta(days=seed % 25_000), "0599")


_MONTHS = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
]


def _datum(d: date) -> dict[str, Any]:
    return {
        "type": "Datum",
        "datum": d.isoformat(),
        "langFormaat": f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
    }


def persoon(p: TestPerson) -> dict[str, Any]:
    """The full Haal Centraal `Persoon` of a test person (before the fields filter)."""
    doc: dict[str, Any] = {
        "burgerservicenummer": p.bsn,
        "geboorte": {"datum": _datum(p.born)},
        "gemeenteVanInschrijving": {
            "code": p.municipality,
            "omschrijving": MUNICIPALITIES.get(p.municipality, "Onbekend"),
        },
        "ouders": [
            {"burgerservicenummer": b, "ouderAanduiding": str(i + 1)} for i, b in enumerate(p.parents)
        ],
        "kinderen": [{"burgerservicenummer": b} for b in p.children],
    }
    if p.died:
        doc["overlijden"] = {"datum": _datum(p.died)}
    if p.address:
        doc["verblijfplaats"] = {"type": "Adres", "adresseerbaarObjectIdentificatie": p.address}
    return doc


def select(doc: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The `fields` filter: only the dotted paths asked for (lists are filtered per item)."""
    out: dict[str, Any] = {}
    for path in paths:
        _copy_path(doc, out, path.split("."))
    return out


def _copy_path(src: Any, dst: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not isinstance(src, dict) or head not in src:
        return
    value = src[head]
    if not rest:
        dst[head] = copy.deepcopy(value)
    elif isinstance(value, list):
        items = dst.setdefault(head, [{} for _ in value])
        for s, d in zip(value, items, strict=True):
            _copy_path(s, d, rest)
        if all(not d for d in items):
            dst.pop(head)
    else:
        _copy_path(value, dst.setdefault(head, {}), rest)
        if not dst[head]:
            dst.pop(head)
        elif isinstance(value, dict) and "type" in value:
            dst[head]["type"] = value["type"]  # a polymorphic object always says its type


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    spec["servers"] = [{"url": BASE_PATH}]
    return spec


@cache
def contract() -> OpenAPI:
    """The Haal Centraal spec, served at BASE_PATH on any host."""
    return OpenAPI.from_dict(cast("dict[Hashable, Any]", _spec()))


@cache
def _schema(name: str) -> OAS31Validator:
    return OAS31Validator({"$ref": f"#/components/schemas/{name}", "components": _spec()["components"]})


def contract_errors(name: str, doc: Any) -> list[str]:
    """Where `doc` breaks the spec's schema `name`.

    openapi-core checks the operation, media type and the base schema; the contract picks
    the concrete schema by a discriminator (`type`), which JSON Schema treats as a mere
    annotation, so the concrete query and answer schemas are checked here as well.
    """
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _schema(name).iter_errors(doc)]


QUERY_SCHEMA = "RaadpleegMetBurgerservicenummer"
ANSWER_SCHEMA = "RaadpleegMetBurgerservicenummerResponse"


class _Response(WerkzeugOpenAPIResponse):
    @property
    def content_type(self) -> str:
        # The contract's media type carries the charset parameter; keep it.
        return str(self.response.content_type)


def _problem(status: int, title: str, code: str) -> Response:
    body = {"type": "https://sluis.example/brp/" + code, "title": title, "status": status, "code": code}
    return Response(json.dumps(body), status=status, content_type="application/problem+json")


class LocalBrp:
    """The WSGI app: the dataset in memory, guarded by a lock (moves and deaths change it)."""

    def __init__(self, *, synthetic_people: bool = False, validate: bool = True) -> None:
        self.people = dataset()
        self.synthetic = synthetic_people
        self.validate = validate
        self.lock = threading.Lock()
        self.available = True  # tests switch it off to see a BRP outage
        self.requests = 0

    def move(self, bsn: str, municipality: str) -> None:
        with self.lock:
            self.people[bsn] = replace(self.people[bsn], municipality=municipality)

    def die(self, bsn: str, on: date) -> None:
        with self.lock:
            self.people[bsn] = replace(self.people[bsn], died=on)

    def lookup(self, bsn: str) -> TestPerson | None:
        with self.lock:
            found = self.people.get(bsn)
        if found is None and self.synthetic:
            return synthetic(bsn)
        return found

    def personen(self, body: dict[str, Any]) -> Response:
        if body.get("type") != "RaadpleegMetBurgerservicenummer":
            return _problem(400, "Niet ondersteund zoektype", "paramsValidation")
        include_dead = bool(body.get("inclusiefOverledenPersonen"))
        found = []
        for bsn in body.get("burgerservicenummer", []):
            p = self.lookup(bsn)
            if p is None or (p.died and not include_dead):
                continue
            found.append(select(persoon(p), body["fields"]))
        return Response(
            json.dumps({"type": "RaadpleegMetBurgerservicenummer", "personen": found}), content_type=JSON
        )

    def admin(self, request: Request) -> Response:
        data = request.get_json(silent=True) or {}
        bsn = str(data.get("burgerservicenummer", ""))
        if bsn not in self.people:
            return _problem(404, "Onbekende testpersoon", "notFound")
        if request.path == "/admin/verhuizingen":
            self.move(bsn, str(data.get("gemeente", "0228")))
        elif request.path == "/admin/overlijdens":
            self.die(bsn, date.fromisoformat(str(data.get("datum", date.today().isoformat()))))
        else:
            return _problem(404, "Niet gevonden", "notFound")
        return Response(json.dumps(persoon(self.people[bsn])), content_type=JSON)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/admin/") and request.method == "POST":
            return self.admin(request)
        if request.path != BASE_PATH + "/personen" or request.method != "POST":
            return _problem(404, "Niet gevonden", "notFound")
        self.requests += 1
        if not self.available:
            return _problem(503, "Dienst niet beschikbaar", "serviceUnavailable")
        if self.validate:
            result = contract().unmarshal_request(WerkzeugOpenAPIRequest(request))
            if result.errors or contract_errors(QUERY_SCHEMA, request.get_json(silent=True)):
                return _problem(400, "Ongeldig verzoek", "paramsValidation")
        response = self.personen(request.get_json(force=True))
        if self.validate:
            # The server's own answers are held to the contract too.
            contract().validate_response(WerkzeugOpenAPIRequest(request), _Response(response))
            errors = contract_errors(ANSWER_SCHEMA, json.loads(response.get_data()))
            if errors:
                raise AssertionError(f"local BRP answer breaks the contract: {errors}")
        return response


class BrpServer:
    """The local BRP on a port in a thread (tests, bench) or in the foreground (make run)."""

    def __init__(self, port: int = 0, **kwargs: Any) -> None:
        self.app = LocalBrp(**kwargs)
        if self.app.validate:
            contract()  # load the spec before the first request, not within a client's timeout
        self.server: BaseWSGIServer = make_server("127.0.0.1", port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{BASE_PATH}"

    def start(self) -> "BrpServer":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Lokale BRP (Haal Centraal BRP Bevragen) voor ontwikkeling")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--synthetic", action="store_true", help="elk BSN bestaat (benchmark)")
    parser.add_argument(
        "--no-validate", action="store_true", help="antwoorden niet tegen de spec controleren"
    )
    args = parser.parse_args()
    server = BrpServer(args.port, synthetic_people=args.synthetic, validate=not args.no_validate)
    print(f"Lokale BRP op {server.url}/personen", flush=True)
    server.server.serve_forever()


if __name__ == "__main__":
    main()
