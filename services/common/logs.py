"""Structured JSON logs, one line per event, with the current trace and span id.

A BSN must never reach a log line. Code does not log request bodies; as a second line of
defence every rendered line passes `redact`, which masks any run of nine digits.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from services.common import astguard

# Nine digits not inside a longer run of digits or hex (trace and span ids are hex).
_NINE_DIGITS = re.compile(r"(?<![0-9a-f])\d{9}(?![0-9a-f])")
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask anything shaped like a BSN."""
    return _NINE_DIGITS.sub("[verwijderd]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            entry["trace_id"] = format(ctx.trace_id, "032x")
            entry["span_id"] = format(ctx.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


def setup_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines."""
    astguard.install()  # a log line with an exception parses source (astguard.py)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter that could echo connection strings or payloads stays quiet.
    for noisy in ("pgserver", "psycopg.pool", "aiosmtpd", "mail.log", "werkzeug", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
