"""Offline reading (issue #4): pages opened before reload without a network, the app installs, and a
new service worker waits until the reader accepts it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import free_port, start_server, stop_server
from e2e.steps import WORKER_READY, wait_until
from playwright.sync_api import BrowserContext, Page, expect


def open_controlled(page: Page, url: str) -> None:
    """Open `url` and wait until the service worker controls the page (it keeps the page on activate)."""
    page.goto(url)
    page.wait_for_function(WORKER_READY)
    wait_until(page, "(url) => caches.open('commonplace-pages-v1').then((c) => c.match(url, {ignoreVary: true}))"
                     ".then((r) => r !== undefined)", arg=url)


def shell_caches(page: Page) -> list[str]:
    return [n for n in page.evaluate("() => caches.keys()") if n.startswith("commonplace-shell-")]


def test_a_visited_page_reloads_offline_and_unsaved_pages_show_the_offline_page(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    context = phone_context()
    page = context.new_page()
    open_controlled(page, site.url + "/wiki/how-to-read")
    # A boosted link (htmx) is kept too: the worker asks for the whole page, never the fragment.
    page.locator(".site-nav").get_by_role("link", name="Recent changes").click()
    expect(page.locator("main h1")).to_have_text("Recent changes")

    saved = page.evaluate("() => caches.open('commonplace-pages-v1')"
                          ".then((c) => c.match('/changes', {ignoreVary: true})).then((r) => r.text())")
    assert saved.startswith("<!doctype html>"), "a fragment was kept under the page's URL"

    context.set_offline(True)
    page.reload()
    expect(page.locator("main h1")).to_have_text("Recent changes")
    expect(page.locator(".offline-banner")).to_have_text("offline — saved just now")

    page.goto(site.url + "/wiki/how-to-read")
    expect(page.locator("main h1")).to_have_text("How to read")
    expect(page.locator(".offline-banner")).to_contain_text("offline — saved")

    page.goto(site.url + "/wiki/never-opened")
    expect(page.locator("main h1")).to_have_text("Offline reading")
    expect(page.locator(".offline-banner")).to_contain_text("offline — no connection, and this page is not saved")
    expect(page.locator(".offline-list a", has_text="How to read")).to_be_visible()


def test_the_app_is_installable(
    persistent_context: Callable[[Path], BrowserContext], site: Any, tmp_path: Path
) -> None:
    context = persistent_context(tmp_path / "profile")  # Chromium never installs from incognito
    page = context.pages[0]
    open_controlled(page, site.url + "/")
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]


def test_a_new_version_waits_until_the_reader_reloads(
    new_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    port = free_port()
    data = tmp_path / "data"
    server = start_server(data, port=port)
    try:
        page = new_context().new_page()
        open_controlled(page, server.url + "/wiki/how-to-read")
        stop_server(server)
        # The same origin serves a different shell (another site name): a new service worker.
        server = start_server(data, port=port, env={"COMMONPLACE_SITE_NAME": "Pocket Commons"})
        page.reload()
        prompt = page.locator(".update-prompt")
        expect(prompt).to_contain_text("New version available")
        # The old version still runs the page (and keeps its cache) until the reader accepts.
        assert len(shell_caches(page)) == 2
        with page.expect_navigation():
            prompt.get_by_role("button", name="Reload").click()
        page.wait_for_function(WORKER_READY)
        expect(page.locator(".brand")).to_have_text("Pocket Commons")
        expect(page.locator(".update-prompt")).to_have_count(0)
        assert len(shell_caches(page)) == 1
        assert page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => !r.waiting)")
    finally:
        stop_server(server)
