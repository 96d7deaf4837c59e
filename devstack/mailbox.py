"""A local SMTP server that keeps every mail, and a page to read them.

Mails are stored as .eml files in a folder and de-duplicated by Message-ID: notify delivers
at least once and gives every mail a stable Message-ID, so a redelivered mail is shown once.
"""

import email
import email.policy
import hashlib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class StoredMail:
    path: Path
    message: EmailMessage

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class Mailbox:
    """The folder of received mails."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.received = 0  # SMTP transactions accepted, duplicates included

    def store(self, raw: bytes) -> bool:
        """Keep the mail; False when a mail with the same Message-ID is already kept."""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        key = str(message.get("Message-ID") or hashlib.sha256(raw).hexdigest())
        name = hashlib.sha256(key.encode()).hexdigest()[:24] + ".eml"
        with self._lock:
            self.received += 1
            path = self.folder / name
            if path.exists():
                return False
            # Written under another name, then renamed: a reader never sees a half-written mail.
            partial = path.with_suffix(".part")
            partial.write_bytes(raw)
            partial.replace(path)
            return True

    def mails(self) -> list[StoredMail]:
        out = []
        for path in sorted(self.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            out.append(StoredMail(path, msg))
        return out

    def to(self, address: str) -> list[StoredMail]:
        return [m for m in self.mails() if address.lower() in m.to.lower()]


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content
        self.mailbox.store(bytes(content))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port storing into a Mailbox."""

    def __init__(self, mailbox: Mailbox, port: int) -> None:
        self.mailbox = mailbox
        self.port = port
        self._controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
