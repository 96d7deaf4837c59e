"""Browser tests: Playwright (sync) driving Debian's headless Chromium against the real
platform (tests/conftest.py's module-scoped `platform`). Screenshots go to <repo>/screenshots/
(git-ignored); every page is checked with axe-core (zero serious or critical violations)."""

import os
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_VERSION = "4.14.1"
AXE = ROOT / ".cache" / "axe" / f"axe-{AXE_VERSION}.min.js"
SCREENSHOTS = ROOT / "screenshots"


def ensure_chromium() -> None:
    """CI runs as root: install Debian's chromium when missing; otherwise skip clearly."""
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} is missing and we are not root: apt-get install chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=900, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, timeout=900, env=env)


def ensure_axe() -> Path:
    """axe-core from npm (pinned), unpacked once into .cache/axe."""
    if AXE.exists():
        return AXE
    if shutil.which("npm") is None:
        pytest.skip("npm is missing: cannot fetch axe-core for the accessibility check")
    work = AXE.parent
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["npm", "pack", f"axe-core@{AXE_VERSION}", "--silent"],
        cwd=work,
        check=True,
        timeout=300,
        capture_output=True,
    )
    archive = work / f"axe-core-{AXE_VERSION}.tgz"
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        AXE.write_bytes(member.read())
    archive.unlink()
    return AXE


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    """The real platform, like tests/conftest.py's (the same helper)."""
    from tests.conftest import demo_platform

    with demo_platform() as p:
        yield p


# Module scope, not session: Playwright's sync API keeps an event loop running on this
# thread while it is open, which would break asyncio.run() in later tests on the worker.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    return ensure_axe()


class Portal:
    """One person's browser context on the portal, with screenshot and axe helpers."""

    def __init__(self, browser: Any, base: str, axe: Path) -> None:
        # bypass_csp: only so the test can inject axe-core; the pages' own CSP is tested elsewhere.
        self.context = browser.new_context(base_url=base, bypass_csp=True, locale="nl-NL")
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.axe = axe

    def login(self, who: dict[str, Any]) -> None:
        from services.gateway.web import totp

        page = self.page
        page.goto("/inloggen")
        page.get_by_label("E-mailadres").fill(who["email"])
        page.get_by_label("Wachtwoord").fill(who["password"])
        page.get_by_role("button", name="Volgende").click()
        # A code works once: a second login in the same 30 s uses the next step's code.
        for at in (time.time(), time.time() + 30):
            page.get_by_label("Code uit uw authenticator-app").fill(totp.code_at(who["totpSecret"], at))
            page.get_by_role("button", name="Inloggen").click()
            page.wait_for_load_state()
            if urlsplit(page.url).path == "/":
                return
        raise AssertionError(f"login failed for {who['email']}: {page.url}")

    def check(self, name: str) -> None:
        """Screenshot the page, then assert axe finds nothing serious or critical."""
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        self.page.add_script_tag(path=str(self.axe))
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v.get("impact") in ("serious", "critical")
        ]
        assert not bad, f"{name}: accessibility violations: {bad}"

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def portal(browser: Any, platform: Any, axe_script: Path) -> Iterator[Any]:
    opened: list[Portal] = []

    def open_portal() -> Portal:
        p = Portal(browser, platform.url, axe_script)
        opened.append(p)
        return p

    yield open_portal
    for p in opened:
        p.close()
