"""Outbound-request guard: SluiS never calls an internal address on behalf of a user (SSRF).

A webhook URL is chosen by an organisation. Before SluiS connects to it, its host is resolved
and EVERY address it resolves to must be public: loopback, link-local (which holds the cloud
metadata service 169.254.169.254), private, shared (100.64/10), multicast, unspecified and
otherwise reserved ranges are refused, for IPv4, IPv6 and IPv4 embedded in IPv6
(::ffff:127.0.0.1, 64:ff9b::/96, 2002::/16). Numeric host spellings that resolvers accept
(0x7f000001, 2130706433, 0177.0.0.1, 127.1) are read as the address they mean.

Check twice: at registration (`check_url`, a clear 400 for the organisation) and at delivery
(`connection`), where the connection is made to the very address that was checked, so a DNS
answer that changes between check and connect (DNS rebinding) cannot redirect it. Redirects
are never followed (http.client does not).

Operators can allow chosen networks (a receiver inside the cluster, the local test receivers
on 127.0.0.1) with SLUIS_WEBHOOK_ALLOW_NETWORKS: comma-separated addresses or CIDR networks.
"""

import http.client
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from services.common.errors import InvalidArgument

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges Python's is_global does not exclude but that lead to internal services anyway.
_ALWAYS_REFUSED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",  # shared address space (carrier NAT; Alibaba metadata 100.100.100.200)
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "fd00:ec2::/32",  # AWS IPv6 metadata (also unique-local)
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$", re.IGNORECASE)


class UnsafeDestination(Exception):
    """The destination is refused; `reason` is short and never contains the address."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_allow_list(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from SLUIS_WEBHOOK_ALLOW_NETWORKS ("127.0.0.1/32, 10.1.2.0/24"); ValueError if bad."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried inside an IPv6 one (mapped, NAT64, 6to4), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def is_public(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address; an embedded IPv4 address decides."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return is_public(inner)
    if (
        ip.is_multicast
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or not ip.is_global
    ):
        return False
    return not any(ip in net for net in _ALWAYS_REFUSED if net.version == ip.version)


def allowed(ip: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    """Public, or inside a network the operator allowed."""
    candidates = [ip] + ([inner] if (inner := embedded_ipv4(ip)) is not None else [])
    if any(c in net for c in candidates for net in allow if net.version == c.version):
        return True
    return is_public(ip)


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally (including numeric IPv4 spellings), else None."""
    host = host.strip("[]")
    if "%" in host:  # an IPv6 zone id: only meaningful for link-local addresses
        raise UnsafeDestination("zone_id")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            raise UnsafeDestination("invalid_address") from None
    return None


def resolve(host: str, port: int, allow: Sequence[IPNetwork] = ()) -> IPAddress:
    """The address to connect to for `host`: every resolved address must be allowed."""
    if not host:
        raise UnsafeDestination("no_host")
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise UnsafeDestination("unresolvable") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise UnsafeDestination("unresolvable")
    # All of them: a name with one public and one internal address is refused as a whole.
    for address in addresses:
        if not allowed(address, allow):
            raise UnsafeDestination("internal_address")
    return addresses[0]


def _target(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination("not_http")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeDestination("invalid_port") from None
    return parts.scheme, parts.hostname, port


def check_url(url: str, allow: Sequence[IPNetwork] = ()) -> None:
    """For registration: InvalidArgument (400, Dutch) when SluiS may not call this URL."""
    try:
        _, host, port = _target(url)
        resolve(host, port, allow)
    except UnsafeDestination as exc:
        if exc.reason == "unresolvable":
            return  # not internal now; checked again at every delivery (a transient failure there)
        detail = "De webhook-URL wijst naar een intern of gereserveerd netwerkadres; dat is niet toegestaan."
        raise InvalidArgument("webhook_url_not_allowed", detail, field="url") from None


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address; Host header stays the URL's host."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = str(address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; certificate checked against the URL's host name (SNI)."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = str(address)

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def connection(url: str, timeout: float, allow: Sequence[IPNetwork] = ()) -> http.client.HTTPConnection:
    """For delivery: an unopened connection pinned to the checked address of `url`'s host.

    UnsafeDestination when the host resolves to an address that is not allowed."""
    scheme, host, port = _target(url)
    address = resolve(host, port, allow)
    if scheme == "https":
        return _PinnedHTTPSConnection(host, port, address, timeout)
    return _PinnedHTTPConnection(host, port, address, timeout)
