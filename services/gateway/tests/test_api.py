"""The core flow over HTTP (Flask test client) against real gRPC fakes and a real database."""

import json

import pytest
from sluis.match.v1 import match_pb2 as mpb

BSN = "123456782"
BODY = {
    "bsn": BSN,
    "birthDate": "2010-05-01",
    "informed": {"party": "person", "method": "inPerson", "informedOn": "2026-11-20"},
    "multiProblemAttested": False,
    "consentGiven": True,
}


def register(client, auth, who="anna", body=None):
    return client.post("/v1/signals", json=body or BODY, headers=auth(who))


def assert_problem(resp, status, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    doc = resp.get_json()
    assert {"type", "title", "status", "detail", "code"} <= set(doc)
    assert doc["status"] == status
    if code:
        assert doc["code"] == code, doc
    assert BSN not in resp.get_data(as_text=True)
    assert resp.headers["API-Version"] == "1.0.0"
    return doc


def test_register_signal_returns_201_with_location_and_no_bsn_or_pseudonym(client, auth, fakes) -> None:
    resp = register(client, auth)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert resp.headers["Location"] == f"/v1/signals/{doc['id']}"
    assert resp.headers["API-Version"] == "1.0.0"
    assert doc["status"] == "active"
    assert doc["birthDate"] == "2010-05-01"
    assert doc["organisation"]["name"] == "Wijkteam Noord"
    assert doc["legalBasis"] == "consent"
    assert doc["informed"] == BODY["informed"]
    assert doc["_links"]["involvement"]["href"] == f"/v1/signals/{doc['id']}/involvement"
    text = resp.get_data(as_text=True)
    assert BSN not in text
    sent = fakes.signal.requests[-1]
    assert sent.pseudonym.startswith("1.") and sent.pseudonym not in text
    # The contact snapshot and the organisation profile come from the gateway database.
    assert sent.professional.name == "Anna de Vries" and sent.professional.email
    assert sent.organisation.name == "Wijkteam Noord" and sent.organisation.may_coordinate
    assert list(sent.organisation.domains) == ["care"]


def test_police_signals_under_its_legal_ground(client, auth, fakes) -> None:
    body = {**BODY, "consentGiven": False}
    resp = register(client, auth, "eva", body)
    assert resp.status_code == 201
    assert resp.get_json()["legalBasis"] == "legalGround"
    assert resp.get_json()["legalGround"] == "Politiewet art. 3"
    assert fakes.signal.requests[-1].organisation.may_coordinate is False


def test_postponed_informing(client, auth) -> None:
    resp = register(client, auth, body={**BODY, "informed": {"postponeReason": "safety"}})
    assert resp.status_code == 201
    assert resp.get_json()["informed"] == {"postponeReason": "safety"}


def test_duplicate_active_signal_is_409_with_existing_signal(client, auth) -> None:
    first = register(client, auth).get_json()
    doc = assert_problem(register(client, auth), 409, "signal_exists")
    assert doc["existingSignal"]["href"] == f"/v1/signals/{first['id']}"


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"bsn": "123456789"}, "bsn_checksum", None),
        ({"bsn": "12ab"}, "bsn_format", None),
        ({"bsn": 123456782}, "invalid_field", "bsn"),
        ({"birthDate": "2999-01-01"}, "birth_date_in_future", "birthDate"),
        ({"birthDate": "01-05-2010"}, "invalid_field", "birthDate"),
        ({"birthDate": None}, "invalid_field", "birthDate"),
        ({"extra": 1}, "unknown_field", "extra"),
        ({"consentGiven": "yes"}, "invalid_field", "consentGiven"),
        ({"informed": {"party": "person"}}, "missing_field", "informed.method"),
        ({"informed": {"postponeReason": "bored"}}, "invalid_field", "informed.postponeReason"),
        (
            {"informed": {"party": "x", "method": "phone", "informedOn": "2026-01-01"}},
            "invalid_field",
            "informed.party",
        ),
        ({"informed": "yes"}, "invalid_field", "informed"),
        ({"consentGiven": False}, "consent_required", None),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(
    client, auth, fakes, change, code, field
) -> None:
    body = {**BODY, **change}
    doc = assert_problem(client.post("/v1/signals", json=body, headers=auth("anna")), 400, code)
    if field:
        assert doc["invalidParams"][0]["name"] == field
    assert not fakes.signal.signals
    assert "123456789" not in json.dumps(doc)


def test_missing_field_is_named(client, auth) -> None:
    body = {k: v for k, v in BODY.items() if k != "birthDate"}
    doc = assert_problem(client.post("/v1/signals", json=body, headers=auth("anna")), 400, "missing_field")
    assert doc["invalidParams"] == [{"name": "birthDate", "reason": doc["detail"]}]


@pytest.mark.parametrize("raw", [b"{", b"", b"[1,2]", b"null", b"\xff\xfe"])
def test_malformed_json_is_400(client, auth, raw) -> None:
    resp = client.post("/v1/signals", data=raw, headers={**auth("anna"), "Content-Type": "application/json"})
    assert_problem(resp, 400)


def test_wrong_content_type_is_415(client, auth) -> None:
    resp = client.post(
        "/v1/signals", data="bsn=123456782", headers={**auth("anna"), "Content-Type": "text/plain"}
    )
    assert_problem(resp, 415, "unsupported_media_type")


def test_too_large_body_is_413(client, auth) -> None:
    resp = client.post(
        "/v1/signals",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**auth("anna"), "Content-Type": "application/json"},
    )
    assert_problem(resp, 413, "request_too_large")


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "unauthenticated"), ("Bearer nope", "invalid_credentials"), ("Basic abc", "unauthenticated")],
)
def test_missing_or_invalid_key_is_401_with_www_authenticate(client, header, code) -> None:
    headers = {"Authorization": header} if header else {}
    resp = client.post("/v1/signals", json=BODY, headers=headers)
    assert_problem(resp, 401, code)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_get_list_renew_end(client, auth) -> None:
    sig = register(client, auth).get_json()
    got = client.get(f"/v1/signals/{sig['id']}", headers=auth("anna"))
    assert got.status_code == 200 and got.get_json()["id"] == sig["id"]
    mine = client.get("/v1/signals?status=active&pageSize=10", headers=auth("anna")).get_json()
    assert [s["id"] for s in mine["signals"]] == [sig["id"]]
    assert client.get("/v1/signals", headers=auth("bram")).get_json()["signals"] == []
    renewed = client.post(f"/v1/signals/{sig['id']}/renew", headers=auth("anna"))
    assert renewed.status_code == 200
    ended = client.post(f"/v1/signals/{sig['id']}/end", json={"reason": "goalReached"}, headers=auth("anna"))
    assert ended.status_code == 200 and ended.get_json()["status"] == "archived"
    assert ended.get_json()["endReason"] == "goalReached"
    archived = client.get("/v1/signals?status=archived", headers=auth("anna")).get_json()
    assert [s["id"] for s in archived["signals"]] == [sig["id"]]
    assert_problem(
        client.post(f"/v1/signals/{sig['id']}/renew", headers=auth("anna")), 409, "signal_not_active"
    )


def test_end_unjustified_is_204(client, auth) -> None:
    sig = register(client, auth).get_json()
    resp = client.post(f"/v1/signals/{sig['id']}/end", json={"reason": "unjustified"}, headers=auth("anna"))
    assert resp.status_code == 204 and resp.data == b""
    assert_problem(client.get(f"/v1/signals/{sig['id']}", headers=auth("anna")), 404, "signal_not_found")


def test_end_needs_a_valid_reason(client, auth) -> None:
    sig = register(client, auth).get_json()
    assert_problem(
        client.post(f"/v1/signals/{sig['id']}/end", json={"reason": "bored"}, headers=auth("anna")), 400
    )
    assert_problem(
        client.post(f"/v1/signals/{sig['id']}/end", json={}, headers=auth("anna")), 400, "missing_field"
    )


def test_paging_links(client, auth) -> None:
    for bsn in ("123456782", "111222333", "999999990"):
        assert register(client, auth, body={**BODY, "bsn": bsn}).status_code == 201
    first = client.get("/v1/signals?pageSize=2", headers=auth("anna")).get_json()
    assert len(first["signals"]) == 2 and "next" in first["_links"]
    second = client.get(first["_links"]["next"]["href"], headers=auth("anna")).get_json()
    assert len(second["signals"]) == 1 and "next" not in second["_links"]
    assert client.get("/v1/signals?page=9", headers=auth("anna")).get_json()["signals"] == []
    assert_problem(client.get("/v1/signals?pageSize=0", headers=auth("anna")), 400)
    assert_problem(client.get("/v1/signals?status=gone", headers=auth("anna")), 400)
    assert_problem(client.get("/v1/signals?page_size=2", headers=auth("anna")), 400, "unknown_parameter")


def test_another_professionals_signal_is_404_like_an_unknown_one(client, auth) -> None:
    sig = register(client, auth).get_json()
    for path in (f"/v1/signals/{sig['id']}", f"/v1/signals/{sig['id']}/involvement"):
        other = assert_problem(client.get(path, headers=auth("carla")), 404)
        unknown = assert_problem(
            client.get(
                path.replace(sig["id"], "00000000-0000-0000-0000-000000000000"), headers=auth("carla")
            ),
            404,
        )
        bad = assert_problem(client.get(path.replace(sig["id"], "not-an-id!"), headers=auth("carla")), 404)
        assert other == unknown
        assert bad["detail"] == other["detail"]


def test_involvement_and_match_flow(client, auth, fakes) -> None:
    anna = register(client, auth, "anna").get_json()
    alone = client.get(f"/v1/signals/{anna['id']}/involvement", headers=auth("anna"))
    assert alone.status_code == 200 and alone.get_json() == {
        "others": [],
        "match": None,
        "_links": alone.get_json()["_links"],
    }
    register(client, auth, "carla")
    inv = client.get(f"/v1/signals/{anna['id']}/involvement", headers=auth("anna")).get_json()
    assert [o["name"] for o in inv["others"]] == ["Carla Bakker"]
    assert inv["others"][0]["organisation"]["name"] == "Kredietbank"
    assert inv["match"]["coordinator"]["name"] == "Anna de Vries"
    sent = fakes.match.involvement_requests[-1]
    assert sent.purpose == "api" and sent.pseudonym.startswith("1.")
    assert sent.pseudonym not in json.dumps(inv)

    matches = client.get("/v1/matches", headers=auth("carla")).get_json()["matches"]
    assert len(matches) == 1
    match_id = matches[0]["id"]
    assert client.get(f"/v1/matches/{match_id}", headers=auth("carla")).status_code == 200
    assert_problem(client.get(f"/v1/matches/{match_id}", headers=auth("eva")), 404, "match_not_found")
    carla_id = next(m["professionalId"] for m in matches[0]["members"] if m["name"] == "Carla Bakker")
    assert_problem(
        client.post(
            f"/v1/matches/{match_id}/coordinator/hand-over",
            json={"professionalId": carla_id},
            headers=auth("carla"),
        ),
        409,
        "not_coordinator",
    )
    handed = client.post(
        f"/v1/matches/{match_id}/coordinator/hand-over",
        json={"professionalId": carla_id},
        headers=auth("anna"),
    )
    assert handed.status_code == 200 and handed.get_json()["pendingCoordinatorProfessionalId"] == carla_id
    accepted = client.post(f"/v1/matches/{match_id}/coordinator/accept", headers=auth("carla"))
    assert accepted.get_json()["coordinator"]["name"] == "Carla Bakker"
    taken = client.post(f"/v1/matches/{match_id}/coordinator", headers=auth("anna"))
    assert taken.get_json()["coordinator"]["name"] == "Anna de Vries"
    assert_problem(
        client.post(
            f"/v1/matches/{match_id}/coordinator/hand-over",
            json={"professionalId": "x"},
            headers=auth("anna"),
        ),
        400,
    )


def test_inbox(client, auth, fakes, demo) -> None:
    anna_id = next(p["id"] for p in demo["professionals"] if p["name"].startswith("Anna"))
    item = fakes.notify.add(anna_id)
    inbox = client.get("/v1/inbox?unreadOnly=true", headers=auth("anna")).get_json()
    assert inbox["unreadCount"] == 1 and inbox["items"][0]["id"] == item.item_id
    read = client.post(f"/v1/inbox/{item.item_id}/read", headers=auth("anna"))
    assert read.status_code == 200 and read.get_json()["readAt"]
    assert client.get("/v1/inbox?unreadOnly=true", headers=auth("anna")).get_json()["items"] == []
    assert_problem(client.post(f"/v1/inbox/{item.item_id}/read", headers=auth("bram")), 404)
    assert_problem(client.get("/v1/inbox?unreadOnly=maybe", headers=auth("anna")), 400)


def test_inbox_item_of_a_match_no_longer_mine(client, auth, fakes, demo) -> None:
    """Issue 22: once Anna's signal ended, her old items about the match answer as unknown."""
    anna_id = next(p["id"] for p in demo["professionals"] if p["name"].startswith("Anna"))
    item = fakes.notify.add(anna_id)
    fakes.match.matches[item.match_id] = mpb.Match(match_id=item.match_id, status=mpb.MATCH_STATUS_OPEN)
    (listed,) = client.get("/v1/inbox", headers=auth("anna")).get_json()["items"]
    assert listed["available"] is False and listed["_links"] == {} and listed["matchId"] is None
    assert listed["title"] == "Deze match is niet meer beschikbaar voor u"
    assert_problem(client.post(f"/v1/inbox/{item.item_id}/read", headers=auth("anna")), 404)
    assert_problem(client.get(f"/v1/matches/{item.match_id}", headers=auth("anna")), 404)


def test_routing_errors_are_problems(client, auth) -> None:
    assert_problem(client.get("/v1/nothing", headers=auth("anna")), 404, "not_found")
    assert_problem(client.get("/v1/signals/", headers=auth("anna")), 404)
    resp = client.delete("/v1/signals", headers=auth("anna"))
    assert_problem(resp, 405, "method_not_allowed")
    assert "POST" in resp.headers["Allow"]


def test_probes_and_openapi_without_auth(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    spec = client.get("/v1/openapi.json")
    assert spec.status_code == 200 and spec.headers["API-Version"] == "1.0.0"
    assert spec.get_json()["openapi"].startswith("3.")


def test_backend_down_is_503(client, auth, run_service, settings, demo) -> None:
    from services.gateway.app import create_app
    from services.gateway.backends import Backends
    from services.gateway.tests.conftest import replace

    down = replace(settings, identity_addr="127.0.0.1:1", signal_addr="127.0.0.1:1", rpc_timeout_seconds=1.0)
    app = create_app(down, Backends.from_settings(down))
    try:
        resp = app.test_client().post("/v1/signals", json=BODY, headers=auth("anna"))
        doc = assert_problem(resp, 503, "service_unavailable")
        assert resp.headers["Retry-After"]
        assert doc["detail"]
    finally:
        app.extensions["sluis_gateway"].store.pool.close()


def test_coordination_by_agreement_endpoints(client, auth, fakes) -> None:
    """Issue 17: the coordinator answers a take-over request; a proposed member declines."""
    anna = register(client, auth, "anna").get_json()
    register(client, auth, "carla")
    client.get(f"/v1/signals/{anna['id']}/involvement", headers=auth("anna"))  # the fake makes the match
    match = client.get("/v1/matches", headers=auth("carla")).get_json()["matches"][0]
    match_id = match["id"]
    carla_id = next(m["professionalId"] for m in match["members"] if m["name"] == "Carla Bakker")
    assert match["coordinatorOffered"] is False and match["takeoverRequestedBy"] is None
    # The fake records a take-over request the way match does.
    fakes.match.matches[match_id].takeover_professional_id = carla_id
    assert_problem(
        client.post(f"/v1/matches/{match_id}/coordinator/takeover/accept", headers=auth("carla")),
        409,
        "no_takeover",
    )
    declined = client.post(f"/v1/matches/{match_id}/coordinator/takeover/decline", headers=auth("anna"))
    assert declined.status_code == 200 and declined.get_json()["coordinator"]["name"] == "Anna de Vries"
    fakes.match.matches[match_id].takeover_professional_id = carla_id
    allowed = client.post(f"/v1/matches/{match_id}/coordinator/takeover/accept", headers=auth("anna"))
    assert allowed.get_json()["coordinator"]["name"] == "Carla Bakker"
    anna_id = next(m["professionalId"] for m in match["members"] if m["name"] == "Anna de Vries")
    client.post(
        f"/v1/matches/{match_id}/coordinator/hand-over",
        json={"professionalId": anna_id},
        headers=auth("carla"),
    )
    refused = client.post(f"/v1/matches/{match_id}/coordinator/decline", headers=auth("anna"))
    assert refused.status_code == 200 and refused.get_json()["pendingCoordinatorProfessionalId"] is None
    assert_problem(client.post(f"/v1/matches/{match_id}/coordinator/decline", headers=auth("anna")), 409)
    assert_problem(client.post(f"/v1/matches/{match_id}/coordinator/decline", headers=auth("eva")), 404)


def test_notification_preferences(client, auth) -> None:
    assert client.get("/v1/notification-preferences", headers=auth("anna")).get_json() == {
        "digest": "immediate"
    }
    put = client.put("/v1/notification-preferences", json={"digest": "daily"}, headers=auth("anna"))
    assert put.status_code == 200 and put.get_json() == {"digest": "daily"}
    assert client.get("/v1/notification-preferences", headers=auth("anna")).get_json() == {"digest": "daily"}
    assert client.get("/v1/notification-preferences", headers=auth("bram")).get_json() == {
        "digest": "immediate"
    }
    bad = assert_problem(
        client.put("/v1/notification-preferences", json={"digest": "weekly"}, headers=auth("anna")), 400
    )
    assert bad.get("invalidParams")
