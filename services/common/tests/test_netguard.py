"""Issue 14 row 8: webhook destinations are resolved and internal addresses refused (SSRF)."""

import http.server
import ipaddress
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from services.common import netguard
from services.common.errors import InvalidArgument

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00:ec2::254]/hook",
    "http://10.0.0.1/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://100.100.100.200/hook",
    "http://192.0.0.192/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://224.0.0.1/hook",
    "http://[ff02::1]/hook",
    "http://255.255.255.255/hook",
    "http://240.0.0.1/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_destinations_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        netguard.check_url(url)
    assert exc.value.reason == "webhook_url_not_allowed"
    with pytest.raises(netguard.UnsafeDestination):
        netguard.connection(url, timeout=1)


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert netguard.is_public(ipaddress.ip_address(address))


def test_zone_ids_and_bad_numbers_are_refused() -> None:
    for url in ("http://[fe80::1%25eth0]/x", "ftp://8.8.8.8/x", "http:///x"):
        with pytest.raises(InvalidArgument):
            netguard.check_url(url)


def test_the_operator_allow_list_admits_exactly_its_networks() -> None:
    allow = netguard.parse_allow_list(["127.0.0.1/32", " 10.1.0.0/16 ", ""])
    netguard.check_url("http://127.0.0.1:9/x", allow)
    netguard.check_url("http://[::ffff:127.0.0.1]:9/x", allow)  # the mapped form of an allowed one
    netguard.check_url("http://10.1.200.3/x", allow)
    for url in ("http://127.0.0.2/x", "http://10.2.0.1/x", "http://169.254.169.254/x"):
        with pytest.raises(InvalidArgument):
            netguard.check_url(url, allow)
    with pytest.raises(ValueError):
        netguard.parse_allow_list(["not-a-network"])


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).seen.append((self.path, self.headers.get("Host", "")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_connection_goes_to_the_checked_address_with_the_original_host(receiver: int) -> None:
    # "localhost" is resolved once, checked (allowed here: the test receiver is local) and the
    # socket is opened to that very address; the Host header still names the URL's host.
    allow = netguard.parse_allow_list(["127.0.0.1/32", "::1/128"])
    conn = netguard.connection(f"http://localhost:{receiver}/sluis/hook?x=1", 5, allow)
    try:
        conn.request("POST", "/sluis/hook?x=1", body=b"{}")
        assert conn.getresponse().status == 204
    finally:
        conn.close()
    assert _Recorder.seen == [("/sluis/hook?x=1", f"localhost:{receiver}")]
    # Without the allow-list the same name is refused before any connection is made.
    with pytest.raises(netguard.UnsafeDestination):
        netguard.connection(f"http://localhost:{receiver}/sluis/hook", 5)
    assert len(_Recorder.seen) == 1


def test_a_name_that_does_not_resolve_yet_may_be_registered_but_is_not_called() -> None:
    netguard.check_url("https://zaaksysteem.kredietbank.example/sluis")  # checked at delivery
    with pytest.raises(netguard.UnsafeDestination) as exc:
        netguard.connection("https://zaaksysteem.kredietbank.example/sluis", timeout=1)
    assert exc.value.reason == "unresolvable"
