"""Real receivers for tests: an HTTP webhook endpoint that verifies signatures, and a slow SMTP server."""

import asyncio
import http.server
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller

from devstack.mailbox import Mailbox
from services.notify import domain


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]
    verified: bool
    at: float


@dataclass
class WebhookReceiver:
    """http.server in a thread. Answers `status`; records every request with its verification."""

    secret: bytes
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                header = self.headers.get(domain.SIGNATURE_HEADER, "")
                # what an organisation's case system does: verify, and reject old timestamps
                verified = domain.verify(receiver.secret, header, body, now=int(time.time()))
                receiver.requests.append(
                    Received(self.path, body, dict(self.headers.items()), verified, time.monotonic())
                )
                status = receiver.status if verified else 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/sluis/hook"

    def verified(self) -> list[Received]:
        return [r for r in self.requests if r.verified]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _SlowHandler:
    def __init__(self, mailbox: Mailbox, delay: float, refuse: set[str]) -> None:
        self.mailbox = mailbox
        self.delay = delay
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.mailbox.store(bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


class CustomSmtp:
    """aiosmtpd into a Mailbox, optionally slow per mail and refusing some recipients (550)."""

    def __init__(
        self, mailbox: Mailbox, port: int, *, delay: float = 0.0, refuse: set[str] | None = None
    ) -> None:
        self.port = port
        self._controller = Controller(
            _SlowHandler(mailbox, delay, refuse or set()), hostname="127.0.0.1", port=port
        )

    def start(self) -> "CustomSmtp":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
