"""One `ast.parse` at a time in this process (CPython 3.11 before 3.11.8, gh-106905).

The AST converter of 3.11.7 keeps its recursion depth in interpreter-wide state, so two
threads in `ast.parse` at once can fail with "SystemError: AST constructor recursion depth
mismatch". Callers we do not control parse in any thread: the traceback module computes
its error carets with `ast.parse` whenever a log line carries an exception, and Werkzeug
compiles every URL rule with it while an app is built. Serialising the calls (a re-entrant
lock: a parse may log) removes the race; parses are short and rare, so nothing waits long.
"""

import ast
import sys
import threading
from typing import Any

_LOCK = threading.RLock()
_original = ast.parse


def _serialised_parse(*args: Any, **kwargs: Any) -> Any:
    with _LOCK:
        return _original(*args, **kwargs)


def install() -> None:
    """Idempotent; a no-op where the interpreter is not affected."""
    if sys.version_info[:2] == (3, 11) and sys.version_info < (3, 11, 8) and ast.parse is _original:
        ast.parse = _serialised_parse
