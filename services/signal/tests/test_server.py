"""The signal service over real gRPC with a real PostgreSQL and recording fakes of match/notify."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
import pytest
from sluis.signal.v1 import signal_pb2 as pb

from devstack.redis import free_port
from services.common.errors import from_rpc_error, http_status, problem
from services.signal.tests.helpers import (
    START,
    Recorder,
    SignalHarness,
    adult_request,
    metadata_of,
    reason_of,
    request,
    start_fake,
)

T = 5  # seconds: deadline of every call in these tests


def register(h: SignalHarness, req: pb.RegisterSignalRequest) -> pb.Signal:
    return h.stub.RegisterSignal(req, timeout=T).signal


def test_register_stores_and_tells_match(signals: SignalHarness) -> None:
    signal = register(signals, request())
    assert signal.status == pb.SIGNAL_STATUS_ACTIVE
    assert signal.version == 1
    assert signal.birth_date == "2012-03-01"
    assert signal.professional.name == "Anna de Vries"
    assert signal.professional.organisation_id == "org-1"
    assert signal.informed.party == pb.INFORMED_PARTY_BOTH
    assert signal.registered_at.ToDatetime().isoformat() == START.replace(tzinfo=None).isoformat()
    assert signal.active_until.ToSeconds() - signal.registered_at.ToSeconds() == 730 * 86400

    event = signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED)
    assert event.event_id and event.signal_version == 1
    assert event.pseudonym == "1.pseudonymA"
    assert event.professional.professional_id == "prof-1"
    assert event.professional.email == "anna@jeugdzorg.example"
    assert event.professional.organisation_name == "Jeugdzorg Rijnmond"
    assert event.may_coordinate is True
    assert list(event.domains) == ["youth", "care"]
    assert event.registered_at == signal.registered_at
    assert event.active_until == signal.active_until
    assert event.occurred_at == signal.registered_at
    assert not event.bulk
    # Registration events are for match only.
    assert signals.notify.of(signal.signal_id) == []


def test_get_signal_only_for_its_professional(signals: SignalHarness) -> None:
    signal = register(signals, request())
    got = signals.stub.GetSignal(
        pb.GetSignalRequest(signal_id=signal.signal_id, professional_id="prof-1"), timeout=T
    )
    assert got.signal == signal
    errors = []
    for signal_id, professional_id in [
        (signal.signal_id, "prof-2"),
        ("7a0d2c43-8f6b-4f55-9a53-1c3a4f5e6d7c", "prof-1"),
        ("not-a-uuid", "prof-1"),
    ]:
        with pytest.raises(grpc.RpcError) as exc:
            signals.stub.GetSignal(
                pb.GetSignalRequest(signal_id=signal_id, professional_id=professional_id), timeout=T
            )
        errors.append((exc.value.code(), exc.value.details(), reason_of(exc.value)))
    # No existence leak: somebody else's signal looks exactly like an unknown one.
    assert len(set(errors)) == 1
    assert errors[0][0] == grpc.StatusCode.NOT_FOUND


def test_second_active_signal_is_refused_with_pointer(signals: SignalHarness) -> None:
    first = register(signals, request())
    with pytest.raises(grpc.RpcError) as exc:
        register(signals, request())
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    meta = metadata_of(exc.value)
    assert meta["sluis-reason"] == "signal_exists"
    assert meta["sluis-meta-existing-signal-id"] == first.signal_id
    assert signals.count("signals") == 1
    # Another professional, or another person, is fine.
    register(signals, request(professional_id="prof-2"))
    register(signals, request("1.pseudonymOther"))
    assert signals.count("signals") == 3


def test_concurrent_duplicates_make_exactly_one_signal(signals: SignalHarness) -> None:
    def attempt(_: int) -> str:
        try:
            return register(signals, request("1.race")).signal_id
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.ALREADY_EXISTS
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert len([o for o in outcomes if o != "refused"]) == 1
    assert signals.count("signals") == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pseudonym": ""}, "pseudonym_missing"),
        ({"birth_date": ""}, "birth_date_missing"),
        ({"birth_date": "01-03-2012"}, "birth_date_invalid"),
        ({"birth_date": "2012-02-30"}, "birth_date_invalid"),
        ({"birth_date": "2030-01-01"}, "birth_date_in_future"),
        ({"birth_date": "1899-12-31"}, "birth_date_too_early"),
        ({"professional_id": ""}, "professional_id_missing"),
        ({"organisation_id": ""}, "organisation_missing"),
        ({"informed": pb.InformedRecord()}, "informed_missing"),
        (
            {
                "informed": pb.InformedRecord(
                    party=pb.INFORMED_PARTY_PERSON, method=pb.INFORMED_METHOD_PHONE, informed_on="2026-01-01"
                )
            },
            "informed_party_wrong_for_age",
        ),
        (
            {
                "informed": pb.InformedRecord(
                    party=99,  # type: ignore[arg-type]
                    method=pb.INFORMED_METHOD_PHONE,
                    informed_on="2026-01-01",
                )
            },
            "informed_party_unknown",
        ),
    ],
)
def test_refusals_are_precise_and_write_nothing(signals: SignalHarness, change: dict, reason: str) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        register(signals, request(**change))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(exc.value) == reason
    assert exc.value.details()
    assert signals.count("signals") == 0
    assert signals.count("outbox") == 0


def test_refused_contact_and_organisation_fields(signals: SignalHarness) -> None:
    cases = []
    req = request()
    req.professional.name = ""
    cases.append((req, "contact_name_missing"))
    req = request()
    req.professional.email = ""
    cases.append((req, "contact_email_missing"))
    req = request()
    req.professional.email = "anna-at-example"
    cases.append((req, "contact_email_invalid"))
    req = request()
    req.organisation.legal_basis = pb.LEGAL_BASIS_UNSPECIFIED
    cases.append((req, "legal_basis_missing"))
    req = request()
    req.organisation.legal_basis = 42  # type: ignore[assignment]
    cases.append((req, "legal_basis_unknown"))
    req = request()
    req.organisation.legal_basis = pb.LEGAL_BASIS_LEGAL_GROUND
    cases.append((req, "legal_ground_missing"))
    req = request()
    req.organisation.domains.append("astrology")
    cases.append((req, "domain_unknown"))
    cases.append((adult_request(multi_problem_attested=False), "multi_problem_not_attested"))
    cases.append((adult_request(consent_by=pb.CONSENT_BY_UNSPECIFIED), "consent_missing"))
    cases.append((adult_request(consent_by=pb.CONSENT_BY_LEGAL_REPRESENTATIVE), "consent_wrong_party"))
    cases.append((request(consent_by=pb.CONSENT_BY_UNSPECIFIED), "consent_missing"))
    for req, reason in cases:
        with pytest.raises(grpc.RpcError) as exc:
            register(signals, req)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, reason
        assert reason_of(exc.value) == reason
    assert signals.count("signals") == 0
    assert signals.count("outbox") == 0


def test_list_signals_pages_newest_first_with_status_filter(signals: SignalHarness) -> None:
    ids = []
    for i in range(7):
        ids.append(register(signals, request(f"1.person{i}")).signal_id)
        signals.clock.advance(timedelta(minutes=1))
    register(signals, request("1.someoneElse", professional_id="prof-2"))
    signals.stub.EndSignal(
        pb.EndSignalRequest(signal_id=ids[0], professional_id="prof-1", reason=pb.END_REASON_GOAL_REACHED),
        timeout=T,
    )

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = signals.stub.ListSignals(
            pb.ListSignalsRequest(professional_id="prof-1", page_size=3, page_token=token), timeout=T
        )
        seen += [s.signal_id for s in page.signals]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(ids))
    assert pages == 3

    active = signals.stub.ListSignals(
        pb.ListSignalsRequest(professional_id="prof-1", status=pb.SIGNAL_STATUS_ACTIVE), timeout=T
    )
    assert [s.signal_id for s in active.signals] == list(reversed(ids[1:]))
    archived = signals.stub.ListSignals(
        pb.ListSignalsRequest(professional_id="prof-1", status=pb.SIGNAL_STATUS_ARCHIVED), timeout=T
    )
    assert [s.signal_id for s in archived.signals] == [ids[0]]

    for bad, reason in [
        (pb.ListSignalsRequest(professional_id="prof-1", page_token="garbage!"), "page_token_invalid"),
        (pb.ListSignalsRequest(professional_id="prof-1", page_size=-1), "page_size_invalid"),
        (pb.ListSignalsRequest(professional_id=""), "professional_id_missing"),
        (pb.ListSignalsRequest(professional_id="prof-1", status=9), "status_unknown"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(grpc.RpcError) as exc:
            signals.stub.ListSignals(bad, timeout=T)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert reason_of(exc.value) == reason


def test_page_size_is_capped(signals: SignalHarness) -> None:
    page = signals.stub.ListSignals(
        pb.ListSignalsRequest(professional_id="prof-1", page_size=10_000), timeout=T
    )
    assert list(page.signals) == [] and page.next_page_token == ""


def test_events_arrive_after_match_was_down(make_signal_service, run_service) -> None:
    match_port = free_port()
    h = make_signal_service(match_port=match_port, start_match=False)
    signal = register(h, request())
    # Match is down: the event waits in the outbox while the relay retries.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert h.count("outbox") == 1
        time.sleep(0.2)
    recorder = Recorder()
    start_fake(run_service, "match", recorder, match_port)
    event = recorder.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_REGISTERED, timeout=60)
    assert event.pseudonym == "1.pseudonymA" and event.signal_version == 1
    deadline = time.monotonic() + 10
    while h.count("outbox") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert h.count("outbox") == 0


def test_refusals_become_precise_problem_documents(signals: SignalHarness) -> None:
    """What the gateway will render: status, Dutch detail and the stable code (RFC 9457)."""
    first = register(signals, request())
    cases = [
        (lambda: register(signals, request(birth_date="2030-01-01")), 400, "birth_date_in_future"),
        (lambda: register(signals, request()), 409, "signal_exists"),
        (
            lambda: signals.stub.GetSignal(
                pb.GetSignalRequest(signal_id=first.signal_id, professional_id="prof-9"), timeout=T
            ),
            404,
            "signal_not_found",
        ),
        (
            lambda: signals.stub.RenewSignal(
                pb.RenewSignalRequest(signal_id=first.signal_id, professional_id="prof-1"), timeout=T
            ),
            409,
            "renewal_window_closed",
        ),
    ]
    for call, status, code in cases:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        err = from_rpc_error(exc.value)
        doc = problem(http_status(err), err.detail, err.reason, err.metadata)
        assert (doc["status"], doc["code"]) == (status, code)
        assert isinstance(doc["detail"], str) and doc["detail"]
        assert "1.pseudonymA" not in str(doc)
    assert signals.count("signals") == 1


def test_logs_carry_ids_only(signals: SignalHarness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    signal = register(signals, request("1.secretPseudonym"))
    with pytest.raises(grpc.RpcError):
        register(signals, request("1.secretPseudonym"))
    signals.stub.EndSignal(
        pb.EndSignalRequest(signal_id=signal.signal_id, professional_id="prof-1", reason=pb.END_REASON_OTHER),
        timeout=T,
    )
    signals.match.wait_for(signal.signal_id, pb.SIGNAL_EVENT_KIND_ENDED)
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert signal.signal_id in logged
    for secret in ("secretPseudonym", "2012-03-01", "Anna de Vries", "anna@jeugdzorg.example", "010-1234567"):
        assert secret not in logged
