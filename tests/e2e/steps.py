"""Steps a person takes in the browser, shared by the end-to-end tests (log in, keep a page, save, wait)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

WORKER_READY = "() => navigator.serviceWorker.controller !== null"
OUTBOX_EMPTY = "() => CommonplaceOutbox.all().then((ops) => ops.length === 0)"
# Installing precaches the shell: slow on a busy 2-core machine, so waiting for control gets longer than the default.
WORKER_WAIT_MS = 30_000


def log_in(page: Page, site: Any, username: str, wait_for_worker: bool = False) -> None:
    page.goto(site.url + "/login")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(site.password)
    form.get_by_role("button").click()
    page.locator(f'.site-nav a[href="/users/{username}"]').wait_for()
    if wait_for_worker:
        page.wait_for_function(WORKER_READY, timeout=WORKER_WAIT_MS)


def open_for_offline(page: Page, site: Any, slug: str) -> None:
    """Visit the page and its edit form online, so the service worker keeps both."""
    page.goto(f"{site.url}/wiki/{slug}")
    page.wait_for_function(WORKER_READY, timeout=WORKER_WAIT_MS)
    page.goto(f"{site.url}/wiki/{slug}/edit")
    page.goto(f"{site.url}/wiki/{slug}")
    # The worker has kept the page, and the edit form or the page's source to build one from offline.
    page.wait_for_function("""([view, edit, slug]) => Promise.all([
        caches.match(view, {ignoreVary: true}), caches.match(edit, {ignoreVary: true}),
        self.OfflineStore && OfflineStore.getSource ? OfflineStore.getSource(slug).catch(() => null) : null,
      ]).then(([saved, form, source]) => Boolean(saved && (form || source)))""",
                           arg=[f"{site.url}/wiki/{slug}", f"{site.url}/wiki/{slug}/edit", slug],
                           polling=100, timeout=20_000)


def synced(page: Page) -> None:
    """The outbox is empty and the indicator says nothing is waiting (it shows "All sent", then goes)."""
    page.wait_for_function(OUTBOX_EMPTY, polling=100)
    expect(page.locator(".sync-button", has_text="waiting")).to_have_count(0)


def save(page: Page, body: str, summary: str) -> None:
    form = page.locator("form.edit-form")
    form.locator("textarea[name=body]").fill(body)
    form.locator("input[name=summary]").fill(summary)
    form.get_by_role("button").click()
