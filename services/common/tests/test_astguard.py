"""astguard: concurrent `ast.parse` calls are serialised (CPython 3.11.7, gh-106905).

The race itself needs a thread switch inside the C converter (a garbage collection that runs
a Python finaliser), which no test can force; what is tested is that the calls cannot overlap.
"""

import ast
import sys
import threading
from typing import Any

import pytest

from services.common import astguard

AFFECTED = sys.version_info[:2] == (3, 11) and sys.version_info < (3, 11, 8)


def test_parse_is_serialised_on_affected_interpreters() -> None:
    astguard.install()
    astguard.install()  # idempotent
    assert (ast.parse is astguard._serialised_parse) == AFFECTED
    assert isinstance(ast.parse("x = 1"), ast.Module)


@pytest.mark.skipif(not AFFECTED, reason="only installed on CPython 3.11 before 3.11.8")
def test_a_second_parse_waits_for_the_first(monkeypatch) -> None:
    astguard.install()
    inside, release = threading.Event(), threading.Event()
    order: list[str] = []
    original = astguard._original

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        order.append("start")
        inside.set()
        release.wait(5)
        order.append("end")
        return original(*args, **kwargs)

    monkeypatch.setattr(astguard, "_original", slow_parse)
    first = threading.Thread(target=ast.parse, args=("a = 1",))
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=ast.parse, args=("b = 2",))
    second.start()
    second.join(0.2)
    assert second.is_alive() and order == ["start"]  # the second waits for the lock
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["start", "end", "start", "end"]
