"""End-to-end fixtures: the system Chromium driven by pytest-playwright, a phone-sized context,
and a watch on every page's console so that script errors and CSP violations fail the test.

Never run `playwright install`: the browser is Debian's `chromium` package at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, BrowserType, ConsoleMessage, Error, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# A small Android phone: the narrowest width the layout has to work at.
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
PASSWORD = "correct horse battery"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install the Debian packages `chromium` and `chromium-driver`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (end-to-end tests must run in CI)", pytrace=False)
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS,
            "headless": True}


# --- console watch -------------------------------------------------------------------------------

# Chromium logs every request that meets no network as a console error. An offline-first app makes such
# requests whenever the connection drops under it (a feed refresh started a moment before the outage), and
# handles them; what they break is caught by the tests' own assertions. Any other console error fails a test.
_NETWORK_GONE = ("net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_REFUSED")


def _network_gone(text: str) -> bool:
    return text.startswith("Failed to load resource:") and any(code in text for code in _NETWORK_GONE)



@dataclass
class BrowserErrors:
    """Console errors (CSP violations land here too) and uncaught exceptions, from every page."""

    messages: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        context.on("console", self._on_console)
        context.on("weberror", lambda web_error: self._on_page_error(web_error.error))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not _network_gone(message.text):
            where = (message.location or {}).get("url", "")
            self.messages.append(f"console error: {message.text} ({where})")

    def _on_page_error(self, error: Error) -> None:
        self.messages.append(f"page error: {error.message}")


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def new_context(
    new_context: Callable[..., BrowserContext], browser_errors: BrowserErrors
) -> Callable[..., BrowserContext]:
    """pytest-playwright's factory, with every context it makes watched for errors."""

    def make(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        browser_errors.watch(context)
        return context

    return make


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that passed but made the browser log an error fails, listing the errors."""
    errors = getattr(item, "funcargs", {}).get("browser_errors")
    try:
        result = yield
    except BaseException as exc:
        if errors is not None and errors.messages:
            exc.add_note("the browser reported errors:\n  " + "\n  ".join(errors.messages))
        raise
    if errors is not None and errors.messages:
        pytest.fail("the browser reported errors:\n  " + "\n  ".join(errors.messages), pytrace=False)
    return result


@pytest.fixture
def phone_context(new_context: Callable[..., BrowserContext]) -> Callable[..., BrowserContext]:
    """A factory for 360 px phone contexts; extra keyword arguments (e.g. color_scheme) pass through."""

    def make(**kwargs: Any) -> BrowserContext:
        return new_context(**{**PHONE, **kwargs})

    return make


@pytest.fixture
def persistent_context(
    browser_type: BrowserType, browser_type_launch_args: dict[str, Any], browser_errors: BrowserErrors
) -> Iterator[Callable[..., BrowserContext]]:
    """A factory for phone contexts on a profile folder that outlives them, like a browser restarted on
    a phone (service worker, caches and IndexedDB persist). Ordinary contexts are incognito."""
    opened: list[BrowserContext] = []

    def make(profile: Path, **kwargs: Any) -> BrowserContext:
        """Extra keyword arguments (e.g. offline=True: no network from the first moment) pass through."""
        context = browser_type.launch_persistent_context(profile, **browser_type_launch_args, **{**PHONE, **kwargs})
        browser_errors.watch(context)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def phone_page(phone_context: Callable[..., BrowserContext]) -> Page:
    return phone_context().new_page()


# --- the app under test -------------------------------------------------------------------------


class Site:
    """The live server, with helpers to set up accounts and pages (JSON API) or sign up (browser)."""

    password = PASSWORD  # every account made here uses it

    def __init__(self, url: str) -> None:
        self.url = url

    @staticmethod
    def unique(prefix: str = "u") -> str:
        return prefix + uuid.uuid4().hex[:8]

    def sign_up(self, username: str | None = None) -> tuple[str, str]:
        """Creates an account through the API; returns (username, bearer token)."""
        username = username or self.unique()
        reply = httpx.post(self.url + "/api/users", json={"username": username, "password": PASSWORD})
        assert reply.status_code == 201, reply.text
        return username, reply.json()["token"]

    def edit(self, token: str, **op: Any) -> dict[str, Any]:
        """Pushes one edit op through the sync API; it must be applied. Returns its result."""
        op = {"op_id": str(uuid.uuid4()), "type": "edit", "summary": "e2e setup", **op}
        reply = httpx.post(self.url + "/api/sync/push", json={"device_id": "e2e", "ops": [op]},
                           headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200, reply.text
        result = reply.json()["results"][0]
        assert result["status"] == "applied", result
        return result

    def history(self, slug: str) -> list[dict[str, Any]]:
        reply = httpx.get(f"{self.url}/api/pages/{slug}/history")
        assert reply.status_code == 200, reply.text
        return reply.json()["revisions"]

    def ui_sign_up(self, page: Page, username: str | None = None) -> str:
        """Signs up through the /signup form in the browser; returns the username."""
        username = username or self.unique()
        page.goto(self.url + "/signup")
        form = page.locator("main form")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(PASSWORD)
        form.get_by_role("button").click()
        page.wait_for_url(self.url + "/")
        page.locator(f'.site-nav a[href="/users/{username}"]').wait_for()
        return username


@pytest.fixture
def site(live_server: Any) -> Site:
    """A fresh server (own data directory) for this test."""
    return Site(live_server.url)
