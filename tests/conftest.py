"""Cross-service tests: the real platform as processes (PostgreSQL, Redis, SMTP, 5 services).

The module-scoped `platform` fixture lives in devstack/fixtures.py; helpers in tests/helpers.py.
"""

from typing import Any

import pytest

from devstack.platform import Platform


@pytest.fixture(scope="module")
def professionals(platform: Platform) -> list[dict[str, Any]]:
    return list(platform.demo["professionals"])  # type: ignore[attr-defined]
