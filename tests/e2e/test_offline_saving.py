"""Saving on purpose (issue #4): a kept page survives a browser restart offline, "download the commons"
resumes after the connection drops, and the offline search finds saved pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from e2e.steps import WORKER_READY, wait_until
from playwright.sync_api import BrowserContext, Page, Route, expect


def keep_offline(page: Page) -> None:
    button = page.locator("button.keep-offline")
    expect(button).to_have_text("Keep offline")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def test_a_kept_page_opens_offline_after_the_browser_restarts(
    persistent_context: Callable[[Path], BrowserContext], site: Any, tmp_path: Path
) -> None:
    profile = tmp_path / "profile"
    context = persistent_context(profile)
    page = context.pages[0]
    page.goto(site.url + "/wiki/style-guide")
    page.wait_for_function(WORKER_READY)
    keep_offline(page)
    context.close()

    context = persistent_context(profile)
    context.set_offline(True)
    page = context.pages[0]
    # Never opened in a browser: only the kept copy (IndexedDB, filled into the saved frame) can answer.
    page.goto(site.url + "/wiki/style-guide")
    expect(page.locator("main h1")).to_have_text("Style guide")
    expect(page.locator(".offline-banner")).to_contain_text("offline — saved")
    expect(page.locator("button.keep-offline")).to_have_attribute("aria-pressed", "true")


def test_download_the_commons_resumes_after_the_connection_drops(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    total = httpx.get(site.url + "/api/status").json()["pages"]
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/offline")
    page.wait_for_function(WORKER_READY)
    form = page.locator("form.download-form")
    expect(form).to_be_visible()
    form.evaluate("(form) => { form.dataset.batch = '3'; }")  # several batches from the small starter commons

    batches: list[str] = []

    def drop_the_third(route: Route) -> None:
        batches.append(route.request.url)
        if len(batches) == 3:
            context.set_offline(True)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/api/bulk?scope=all*", drop_the_third)
    form.get_by_role("button", name="Download").click()
    status = page.locator(".download-status")
    expect(status).to_contain_text("The connection dropped after 6 of")
    context.set_offline(False)
    expect(status).to_have_text(f"Done: {total} pages are on this device.")
    assert "after=6" in batches[3], batches  # resumed from the stored cursor, not from the start
    expect(page.locator(".download-progress")).to_have_attribute("value", str(total))
    expect(page.locator(".offline-storage")).to_contain_text(f"{total} downloaded")
    expect(page.locator(".offline-list a", has_text="Peer production")).to_be_visible()
    # The request cut off is Chromium's "no network" line, which the console watch lets pass; nothing else may fail.


def test_offline_search_finds_a_kept_page(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/wiki/peer-production")
    page.wait_for_function(WORKER_READY)
    keep_offline(page)
    wait_until(page, "() => caches.match(document.querySelector('script[data-minisearch]').dataset.minisearch)"
                     ".then((found) => found !== undefined)")

    context.set_offline(True)
    page.locator("#search-q").fill("peer")
    page.locator("#search-q").press("Enter")
    expect(page.locator(".offline-results")).to_contain_text("offline results")
    expect(page.locator("ol.results a", has_text="Peer production")).to_be_visible()


def test_a_full_device_gets_a_clear_message(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/offline")
    page.wait_for_function(WORKER_READY)
    page.locator("form.download-form").wait_for()
    # What IndexedDB raises when the origin's quota is used up (Chromium applies DevTools' quota override
    # too lazily to rely on here).
    page.evaluate("""() => {
        OfflineStore.savePages = () => Promise.reject(new DOMException("full", "QuotaExceededError"));
    }""")
    page.locator("form.download-form").get_by_role("button", name="Download", exact=True).click()
    expect(page.locator(".download-status")).to_have_text(
        "This device has no room left for saved pages. Remove downloaded pages or free some space, then try again."
        " 0 pages were saved.")


def test_saved_pages_refresh_from_the_changes_feed(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    _, token = site.sign_up()
    context = phone_context()
    page = context.new_page()
    for slug in ("style-guide", "how-to-edit"):
        page.goto(f"{site.url}/wiki/{slug}")
        page.wait_for_function(WORKER_READY)
        keep_offline(page)
    head = httpx.get(site.url + "/api/pages/style-guide").json()["rev"]
    site.edit(token, slug="style-guide", base_rev=head, body="# Style guide\n\nRewritten while you were away.")

    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url.removeprefix(site.url)))
    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # what the browser fires on reconnect
    wait_until(page, "() => OfflineStore.getPage('style-guide').then((p) => p.html.includes('while you were'))")
    page.wait_for_timeout(300)  # request events arrive a moment after the page has used the reply
    api = [url for url in asked if url.startswith("/api/")]
    assert api[0].startswith("/api/sync/changes?since="), api
    assert "/api/pages/style-guide" in api and not any("how-to-edit" in url for url in api), api
