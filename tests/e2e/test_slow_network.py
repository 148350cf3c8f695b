"""A phone on a slow link (issue 10): progress shows while a page is on its way, the header stays small,
the offline page counts what is saved and keeps its controls first, Keep offline works offline on a
downloaded page, and signed-in pages travel compressed.

The slow link is tests/bench/throttle_proxy.py on loopback, in front of the live server; no test here
asserts a time."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import LiveServer, free_port, stop_server
from e2e.steps import WORKER_READY
from playwright.sync_api import BrowserContext, Page, Route, expect

ROOT = Path(__file__).resolve().parents[2]
HEADER_MAX = 120  # CSS px on a 360 x 740 phone, issue 10
EXTRA_PAGES = 30  # more than the offline page lists before "and N more"


@pytest.fixture
def slow_url(live_server: LiveServer) -> Iterator[str]:
    """The live server behind a throttling proxy: 1.2 s round trip, 50 kB/s down, 20 kB/s up."""
    port = free_port()
    proxy = subprocess.Popen([sys.executable, str(ROOT / "tests" / "bench" / "throttle_proxy.py"),
                              "--listen", str(port), "--upstream", str(urlsplit(live_server.url).port),
                              "--rtt-ms", "1200"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proxy.terminate()
    proxy.wait(timeout=10)


def header_height(page: Page) -> float:
    return page.evaluate("() => document.querySelector('.site-header').getBoundingClientRect().height")


def test_a_slow_navigation_shows_progress_until_the_page_is_there(
    phone_context: Callable[..., BrowserContext], slow_url: str
) -> None:
    page = phone_context().new_page()
    page.goto(slow_url + "/wiki/how-to-read", timeout=60_000)
    page.wait_for_function("() => window.htmx !== undefined", timeout=60_000)
    assert page.evaluate("() => document.documentElement.classList.contains('is-loading')") is False

    page.locator(".site-nav").get_by_role("link", name="Recent changes").click()
    # The bar is there while the page crosses the slow link: a real, visible element at the top.
    page.wait_for_function("() => document.documentElement.classList.contains('is-loading')")
    bar = page.evaluate("""() => {
        const style = getComputedStyle(document.querySelector('.site-header'), '::before');
        return {position: style.position, top: style.top, height: style.height, content: style.content};
    }""")
    assert bar == {"position": "fixed", "top": "0px", "height": "3px", "content": '""'}, bar
    assert page.locator("main").get_attribute("aria-busy") == "true"
    assert page.locator("main h1").inner_text() == "How to read"  # still loading: nothing swapped yet

    expect(page.locator("main h1")).to_have_text("Recent changes", timeout=30_000)
    page.wait_for_function("() => !document.documentElement.classList.contains('is-loading')")
    assert page.locator("main").get_attribute("aria-busy") is None


def test_the_header_stays_under_120_px_on_an_article(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    _, token = site.sign_up()
    signed_in = phone_context()
    signed_in.add_cookies([{"name": "cp_session", "value": token, "url": site.url}])
    for who, context in (("anonymous", phone_context()), ("signed in", signed_in)):
        page = context.new_page()
        page.goto(site.url + "/wiki/how-to-edit")
        height = header_height(page)
        assert height < HEADER_MAX, f"{who}: the header is {height:.0f} px tall"
        # Every site link is still there (the row scrolls sideways) and nothing makes the page scroll sideways.
        assert page.locator(".site-nav a").count() >= 4
        assert page.evaluate("() => document.documentElement.scrollWidth") == 360
        # The sync indicator sync-ui.js adds when edits wait must fit too (the markup it builds, without its
        # id, which sync-ui.js would remove on its next look at an empty outbox).
        page.evaluate("""() => {
            const box = document.createElement('div');
            box.className = 'sync-state';
            box.innerHTML = '<button type="button" class="sync-button sync-pending">2 waiting to sync</button>' +
                            '<div class="sync-panel" hidden></div>';
            document.querySelector('.site-header').appendChild(box);
        }""")
        height = header_height(page)
        assert height < HEADER_MAX, f"{who}, with the sync indicator: the header is {height:.0f} px tall"
        button = page.locator(".sync-button").bounding_box()
        assert button is not None and button["height"] >= 44 and button["x"] + button["width"] <= 360


def add_pages(site: Any, count: int) -> list[str]:
    """`count` new pages in one push; returns their slugs."""
    _, token = site.sign_up()
    ops = [{"op_id": str(uuid.uuid4()), "type": "edit", "slug": None, "title": f"Field note {i:02d}",
            "base_rev": None, "summary": "setup", "body": f"Field note number {i} about wells and pumps."}
           for i in range(count)]
    reply = httpx.post(site.url + "/api/sync/push", json={"device_id": "e2e", "ops": ops},
                       headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return [result["slug"] for result in reply.json()["results"]]


def test_the_offline_page_counts_each_kind_shortens_the_list_and_cancels_a_download(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    add_pages(site, EXTRA_PAGES)
    total = httpx.get(site.url + "/api/status").json()["pages"]
    page = phone_context().new_page()
    page.goto(site.url + "/wiki/how-to-read")
    page.wait_for_function(WORKER_READY)
    page.goto(site.url + "/offline")
    hub = page.locator(".offline-hub")
    storage = hub.locator(".offline-storage")
    expect(storage).to_contain_text("On this device: 1 page — 1 opened, 0 kept offline, 0 downloaded.")
    # The controls come before the list, and say how much a download costs before it starts.
    assert page.evaluate("""() => document.querySelector('.offline-download')
        .compareDocumentPosition(document.querySelector('.offline-saved')) & Node.DOCUMENT_POSITION_FOLLOWING""")
    expect(hub.locator(".download-estimate")).to_contain_text(f"{total} pages, about ")
    expect(hub.locator(".download-estimate")).to_contain_text(" kB to download.")

    # A download shows its count and stops at Cancel after the batch on its way, keeping what came. The
    # second batch is held back until Cancel is pressed, so the download cannot finish first.
    held: list[Route] = []

    def hold_the_second(route: Route) -> None:
        if "after=" in route.request.url and not held:
            held.append(route)
        else:
            route.continue_()

    page.context.route("**/api/bulk?scope=all*", hold_the_second)
    form = hub.locator("form.download-form")
    form.evaluate("(form) => { form.dataset.batch = '4'; }")
    form.get_by_role("button", name="Download", exact=True).click()
    status = hub.locator(".download-status")
    expect(status).to_have_text(f"Downloading: 4 of {total} pages…")
    cancel = form.get_by_role("button", name="Cancel")
    cancel.click()
    expect(status).to_have_text("Stopping after the pages on their way…")
    held[0].continue_()
    expect(status).to_have_text(f"Stopped: 8 of {total} pages are on this device. Download again to continue "
                                "from there.")
    expect(cancel).to_be_hidden()
    expect(storage).to_contain_text("8 downloaded.")

    form.get_by_role("button", name="Download", exact=True).click()
    expect(status).to_have_text(f"Done: {total} pages are on this device.")
    expect(storage).to_contain_text(f"On this device: {total} pages — 1 opened, 0 kept offline, {total} downloaded.")
    # A short list, the rest counted, all a tap away, or found by title.
    items = hub.locator(".offline-list li")
    expect(items).to_have_count(20)
    expect(hub.locator(".offline-more")).to_contain_text(f"and {total - 20} more.")
    expect(items.first).to_contain_text("How to read")  # opened pages before the merely downloaded
    hub.get_by_role("button", name="Show all").click()
    expect(items).to_have_count(total)
    expect(hub.locator(".offline-more")).to_be_hidden()
    hub.get_by_label("Find a saved page").fill("field note 1")
    expect(items).to_have_count(10)
    expect(hub.locator(".offline-list a", has_text="Field note 17")).to_be_visible()


def test_keep_offline_works_offline_on_a_downloaded_page(
    phone_context: Callable[..., BrowserContext], live_server: LiveServer, site: Any
) -> None:
    slug = add_pages(site, 1)[0]
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/offline")
    page.wait_for_function(WORKER_READY)
    page.locator("form.download-form").get_by_role("button", name="Download", exact=True).click()
    expect(page.locator(".download-status")).to_contain_text("Done:")

    context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)  # a real outage
    page.goto(f"{site.url}/wiki/{slug}")  # never opened: the downloaded copy answers
    expect(page.locator("main h1")).to_have_text("Field note 00")
    button = page.locator("button.keep-offline")
    expect(button).to_have_text("Keep offline")
    button.click()
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_text("Kept offline")
    expect(page.locator(".keep-note")).to_have_text("")
    assert page.evaluate("(slug) => OfflineStore.getPage(slug).then((p) => p.kept && p.downloaded)", slug)


def test_a_first_visit_inlines_the_stylesheet_and_later_pages_link_to_the_file(
    phone_context: Callable[..., BrowserContext], live_server: LiveServer, site: Any
) -> None:
    page = phone_context().new_page()
    page.goto(site.url + "/wiki/how-to-read")
    inline = page.locator("style[data-href]")
    expect(inline).to_have_count(1)
    expect(page.locator("link[rel=stylesheet]")).to_have_count(0)
    href = inline.get_attribute("data-href")
    # Pages the service worker fetches itself (here its precache) link to the file it holds.
    page.wait_for_function(WORKER_READY)
    offline_page = page.evaluate("() => caches.match('/offline').then((r) => r.text())")
    assert f'<link rel="stylesheet" href="{href}">' in offline_page and "<style" not in offline_page
    # Once the service worker holds the file, the browser says so and pages link to it.
    page.wait_for_function("(href) => document.cookie.includes('cp_css=' + href)", arg=href)
    page.goto(site.url + "/wiki/how-to-edit")
    expect(page.locator(f'link[rel=stylesheet][href="{href}"]')).to_have_count(1)
    expect(page.locator("style[data-href]")).to_have_count(0)
    colour = page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert colour == "rgb(29, 92, 77)", colour  # styled: the header's green
    # In an outage, the page the worker kept still finds its stylesheet.
    page.wait_for_load_state("networkidle")  # the saved pages' refresh, asked for on load, is done
    page.context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)
    page.reload()
    expect(page.locator(".offline-banner")).to_contain_text("offline — saved")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor") == colour


def test_a_signed_in_page_arrives_compressed(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    _, token = site.sign_up()
    context = phone_context()
    context.add_cookies([{"name": "cp_session", "value": token, "url": site.url}])
    page = context.new_page()
    response = page.goto(site.url + "/wiki/how-to-edit")
    assert response is not None and response.ok
    assert response.header_value("content-encoding") == "br"
    assert "Accept-Encoding" in (response.header_value("vary") or "")
    expect(page.locator(".site-nav a[href^='/users/']")).to_be_attached()
    expect(page.locator("main h1")).to_have_text("How to edit")
