"""A small web page to read the mails the local SMTP server kept (make run)."""

import html
import threading
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devstack.mailbox import Mailbox

_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<title>SluiS lokale mailbox</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1a1a1a}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left}}
pre{{white-space:pre-wrap;background:#f4f4f4;padding:1rem}}</style></head>
<body><h1>SluiS lokale mailbox</h1>{body}</body></html>"""


class MailView:
    """GET / lists mails newest first; GET /<n> shows one (plain text and HTML part)."""

    def __init__(self, mailbox: Mailbox, port: int) -> None:
        self.mailbox = mailbox
        self.port = port
        self._server = make_server("127.0.0.1", port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        mails = list(reversed(self.mailbox.mails()))
        path = request.path.strip("/")
        if path.isdigit() and int(path) < len(mails):
            mail = mails[int(path)]
            body = (
                f"<p><a href='/'>&larr; alle mails</a></p><h2>{html.escape(mail.subject)}</h2>"
                f"<p>Aan: {html.escape(mail.to)}</p><h3>Tekst</h3><pre>{html.escape(mail.text())}</pre>"
                f"<h3>HTML</h3><iframe sandbox srcdoc='{html.escape(mail.html(), quote=True)}'"
                " style='width:100%;height:30rem;border:1px solid #ccc'></iframe>"
            )
        elif path == "":
            rows = "".join(
                f"<tr><td><a href='/{i}'>{html.escape(m.subject)}</a></td><td>{html.escape(m.to)}</td>"
                f"<td>{html.escape(str(m.message['Date'] or ''))}</td></tr>"
                for i, m in enumerate(mails)
            )
            body = (
                f"<p>{len(mails)} mail(s).</p><table><tr><th>Onderwerp</th><th>Aan</th><th>Datum</th></tr>"
                f"{rows}</table>"
            )
        else:
            return Response("niet gevonden", status=404)(environ, start_response)
        return Response(_PAGE.format(body=body), content_type="text/html; charset=utf-8")(
            environ, start_response
        )

    def start(self) -> "MailView":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
