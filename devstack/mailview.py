"""A small web page to read the mails the local SMTP server kept (make run), and the traces
the local trace receiver kept (/traces: one signal's whole flow, request to mail)."""

import html
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from devstack.mailbox import Mailbox
from devstack.traces import read_spans, traces

_PAGE = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<title>SluiS lokale mailbox</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1a1a1a}}
table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ccc;padding:.4rem;text-align:left}}
pre{{white-space:pre-wrap;background:#f4f4f4;padding:1rem}}</style></head>
<body><h1>SluiS lokale mailbox</h1>{body}</body></html>"""


def _ms(span: dict[str, Any]) -> str:
    return f"{(span['end_ns'] - span['start_ns']) / 1e6:.1f} ms"


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%H:%M:%S.%f")[:-3]


def traces_page(spans: list[dict[str, Any]], limit: int = 200) -> str:
    """Every trace, newest first: its first span, the services it crossed, its length."""
    rows = []
    for trace_id, trace_spans in list(traces(spans).items())[:limit]:
        first = trace_spans[0]
        services = sorted({s["service"].removeprefix("sluis-") for s in trace_spans})
        end = max(s["end_ns"] for s in trace_spans)
        rows.append(
            f"<tr><td>{_when(first['start_ns'])}</td><td><a href='/traces/{trace_id}'>"
            f"{html.escape(first['name'])}</a></td><td>{html.escape(', '.join(services))}</td>"
            f"<td>{len(trace_spans)}</td><td>{(end - first['start_ns']) / 1e6:.0f} ms</td></tr>"
        )
    return (
        "<p><a href='/'>&larr; mails</a></p><h2>Traces</h2>"
        f"<p>{len(traces(spans))} trace(s), nieuwste eerst. Eén signaal is één trace: van het verzoek"
        " via identity, signal, match en notify tot de verstuurde mail.</p>"
        "<table><tr><th>Begin</th><th>Eerste span</th><th>Services</th><th>Spans</th><th>Duur</th></tr>"
        f"{''.join(rows)}</table>"
    )


def trace_page(spans: list[dict[str, Any]], trace_id: str) -> str | None:
    """One trace as a tree of spans, with their attributes and links to other traces."""
    own = traces(spans).get(trace_id)
    if not own:
        return None
    ids = {s["span_id"] for s in own}
    children: dict[str, list[dict[str, Any]]] = {}
    for span in own:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else ""
        children.setdefault(parent, []).append(span)
    start = own[0]["start_ns"]
    rows: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for span in children.get(parent, []):
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(span["attributes"].items()))
            links = " ".join(
                f"<a href='/traces/{link['trace_id']}'>&rarr; {link['trace_id'][:8]}</a>"
                for link in span["links"]
            )
            rows.append(
                f"<tr><td style='padding-left:{depth * 1.2 + 0.4}rem'>{html.escape(span['name'])}</td>"
                f"<td>{html.escape(span['service'].removeprefix('sluis-'))}</td>"
                f"<td>+{(span['start_ns'] - start) / 1e6:.1f} ms</td><td>{_ms(span)}</td>"
                f"<td><small>{html.escape(attrs)}</small> {links}</td></tr>"
            )
            walk(span["span_id"], depth + 1)

    walk("", 0)
    linked = sorted(
        {
            s["trace_id"]
            for s in spans
            if s["trace_id"] != trace_id and any(link["trace_id"] == trace_id for link in s["links"])
        }
    )
    linked_html = "".join(f" <a href='/traces/{t}'>{t[:8]}</a>" for t in linked)
    return (
        f"<p><a href='/traces'>&larr; alle traces</a></p><h2>Trace {trace_id}</h2>"
        + (f"<p>Verbonden (span links) met:{linked_html}</p>" if linked else "")
        + "<table><tr><th>Span</th><th>Service</th><th>Begin</th><th>Duur</th><th>Attributen</th></tr>"
        + "".join(rows)
        + "</table>"
    )


class MailView:
    """GET / lists mails newest first; GET /<n> shows one (plain text and HTML part);
    GET /traces lists the traces the local receiver kept, GET /traces/<id> shows one."""

    def __init__(self, mailbox: Mailbox, port: int, traces_file: Path | None = None) -> None:
        self.mailbox = mailbox
        self.traces_file = traces_file
        self.port = port
        self._server = make_server("127.0.0.1", port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        mails = list(reversed(self.mailbox.mails()))
        path = request.path.strip("/")
        body: str | None = None
        if path == "traces" and self.traces_file is not None:
            body = traces_page(read_spans(self.traces_file))
        elif path.startswith("traces/") and self.traces_file is not None:
            body = trace_page(read_spans(self.traces_file), path.removeprefix("traces/"))
            if body is None:
                return Response("niet gevonden", status=404)(environ, start_response)
        elif path.isdigit() and int(path) < len(mails):
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
            traces_link = " <a href='/traces'>Traces bekijken</a>" if self.traces_file is not None else ""
            body = (
                f"<p>{len(mails)} mail(s).{traces_link}</p><table><tr><th>Onderwerp</th><th>Aan</th><th>Datum</th></tr>"
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
