"""Steps a person takes in the browser, shared by the end-to-end tests (log in, keep a page, save, wait)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

WORKER_READY = "() => navigator.serviceWorker.controller !== null"
OUTBOX_EMPTY = "() => CommonplaceOutbox.all().then((ops) => ops.length === 0)"
# Installing precaches the shell: slow on a busy 2-core machine, so waiting for control gets longer than the default.
WORKER_WAIT_MS = 30_000


def wait_until(page: Page, expression: str, arg: Any = None, timeout_ms: int = 10_000, polling_ms: int = 100,
               what: str = "") -> Any:
    """Evaluate `expression` until it gives a truthy value, and return that value.

    For conditions that read IndexedDB, caches or locks (promises): Playwright's `wait_for_function` takes a
    returned promise itself as truthy and returns at once, so it never waited for them. `evaluate` awaits.
    """
    waited = 0
    while True:
        try:
            value = page.evaluate(expression, arg)
        except PlaywrightError as exc:  # the page moved on (a save lands on the page view): ask the next one
            if "context was destroyed" not in exc.message:
                raise
            value = None
        if value:
            return value
        if waited >= timeout_ms:
            raise AssertionError(f"still not true after {timeout_ms} ms: {what or expression}")
        page.wait_for_timeout(polling_ms)
        waited += polling_ms


def wait_for_worker(page: Page) -> None:
    """The service worker controls the page; if it has not after a long wait, the page is opened once more (as
    a person would), and a second miss fails with the worker's state."""
    try:
        page.wait_for_function(WORKER_READY, timeout=WORKER_WAIT_MS)
        return
    except PlaywrightTimeout:
        page.reload()
    state = page.evaluate("""() => navigator.serviceWorker.getRegistration().then((r) => r ? ['installing',
        'waiting', 'active'].map((k) => k + ':' + (r[k] ? r[k].state : '-')).join(' ') : 'no registration')""")
    try:
        page.wait_for_function(WORKER_READY, timeout=WORKER_WAIT_MS)
    except PlaywrightTimeout as exc:
        raise AssertionError(f"the service worker never controlled the page ({state})") from exc


def log_in(page: Page, site: Any, username: str, worker: bool = False) -> None:
    page.goto(site.url + "/login")
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(site.password)
    form.get_by_role("button").click()
    page.locator(f'.site-nav a[href="/users/{username}"]').wait_for()
    if worker:
        wait_for_worker(page)


def open_for_offline(page: Page, site: Any, slug: str) -> None:
    """Visit the page and its edit form online, so the service worker keeps both."""
    page.goto(f"{site.url}/wiki/{slug}")
    wait_for_worker(page)
    page.goto(f"{site.url}/wiki/{slug}/edit")
    page.goto(f"{site.url}/wiki/{slug}")
    # The worker has kept the page, and the edit form or the page's source to build one from offline.
    wait_until(page, """([view, edit, slug]) => Promise.all([
        caches.match(view, {ignoreVary: true}), caches.match(edit, {ignoreVary: true}),
        self.OfflineStore && OfflineStore.getSource ? OfflineStore.getSource(slug).catch(() => null) : null,
      ]).then(([saved, form, source]) => Boolean(saved && (form || source)))""",
               arg=[f"{site.url}/wiki/{slug}", f"{site.url}/wiki/{slug}/edit", slug], timeout_ms=20_000,
               what=f"the worker keeps {slug} and its edit form or source")


def synced(page: Page) -> None:
    """The outbox is empty and the indicator says nothing is waiting (it shows "All sent", then goes)."""
    wait_until(page, OUTBOX_EMPTY, what="the outbox is empty")
    expect(page.locator(".sync-button", has_text="waiting")).to_have_count(0)


def save(page: Page, body: str, summary: str) -> None:
    form = page.locator("form.edit-form")
    form.locator("textarea[name=body]").fill(body)
    form.locator("input[name=summary]").fill(summary)
    form.get_by_role("button").click()
