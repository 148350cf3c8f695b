"""Contributing from a phone offline (issue #10): every page the device holds can be edited, new pages can be
started, the pages the service worker builds name the account signed in, and a server that accepts connections
but never answers gives way to a page that says so. Outages are real: the server is stopped."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import start_server, stop_server
from e2e.steps import OUTBOX_EMPTY, WORKER_READY, log_in, save, wait_until
from playwright.sync_api import BrowserContext, Page, expect

from server.slugs import slugify

SOURCE_SAVED = "(slug) => OfflineStore.getSource(slug).then(Boolean)"






def queued(page: Page, count: int = 1) -> list[dict[str, Any]]:
    """The outbox once it holds `count` ops."""
    return wait_until(page, f"() => CommonplaceOutbox.all().then((ops) => ops.length === {count} ? ops : null)",
                      what=f"the outbox holds {count} op(s)")


def reconnect(page: Page, context: BrowserContext, live_server: Any) -> Any:
    """The server and the network come back; the page replays its outbox as it does on the online event."""
    back = start_server(live_server.data, port=urlsplit(live_server.url).port)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_until(page, OUTBOX_EMPTY, what="the outbox is empty")
    return back


def head(site: Any, slug: str) -> dict[str, Any]:
    reply = httpx.get(f"{site.url}/api/pages/{slug}")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_downloaded_page_is_edited_offline_on_its_saved_revision_and_syncs(
    persistent_context: Callable[..., BrowserContext], live_server: Any, site: Any, tmp_path: Path
) -> None:
    username, _ = site.sign_up()
    context = persistent_context(tmp_path / "profile")
    page = context.pages[0]
    log_in(page, site, username, worker=True)
    page.goto(site.url + "/offline")
    page.locator(".download-form button[type=submit]").click()
    wait_until(page, "() => OfflineStore.getMeta('download').then((state) => Boolean(state && state.done))")
    saved = head(site, "how-search-works")  # downloaded, never opened
    assert page.evaluate("(slug) => OfflineStore.getSource(slug)", "how-search-works")["rev"] == saved["rev"]

    context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)
    page.goto(site.url + "/wiki/how-search-works/edit")
    expect(page.locator("main h1")).to_have_text("Editing “How search works”")
    expect(page.locator(".offline-banner")).to_contain_text("offline — saved")
    form = page.locator("form.edit-form")
    assert form.locator("input[name=base_rev]").input_value() == saved["rev"]
    assert form.locator("input[name=title]").count() == 0
    body = form.locator("textarea[name=body]").input_value()
    assert body == saved["body"]
    save(page, body + "\n\nEdited from the download.", "offline edit of a downloaded page")
    (op,) = queued(page)
    assert (op["slug"], op["base_rev"], op["account"], op["state"]) == ("how-search-works", saved["rev"], username,
                                                                        "pending")

    back = reconnect(page, context, live_server)
    try:
        history = site.history("how-search-works")
        assert history[0]["author"] == username and history[0]["summary"] == "offline edit of a downloaded page"
        assert head(site, "how-search-works")["body"].endswith("Edited from the download.")
    finally:
        stop_server(back)


def test_a_page_only_visited_while_signed_in_is_edited_offline(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username, worker=True)
    page.goto(site.url + "/wiki/peer-production")
    wait_until(page, SOURCE_SAVED, arg="peer-production")
    saved = head(site, "peer-production")

    context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)
    page.goto(site.url + "/wiki/peer-production")
    page.locator("main .page-actions a", has_text="Edit").click()
    page.wait_for_url(site.url + "/wiki/peer-production/edit")
    form = page.locator("form.edit-form")
    assert form.locator("input[name=base_rev]").input_value() == saved["rev"]
    assert form.locator("textarea[name=body]").input_value() == saved["body"]
    save(page, saved["body"] + "\n\nVisited, then edited offline.", "visited")
    (op,) = queued(page)
    assert op["base_rev"] == saved["rev"] and op["account"] == username


def test_a_page_started_offline_opens_while_it_waits_and_exists_once_synced(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username, worker=True)
    page.goto(site.url + "/wiki/style-guide")
    wait_until(page, SOURCE_SAVED, arg="style-guide")

    context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)
    page.goto(site.url + "/new")
    page.locator("main form input[name=title]").fill("Style guide")  # the device holds that page
    page.locator("main form").get_by_role("button").click()
    exists = page.locator(".page-exists")
    expect(exists).to_contain_text("A page called “Style guide” is already on this device")
    expect(exists.get_by_role("link", name="Edit it")).to_have_attribute("href", "/wiki/style-guide/edit")

    page.locator("main form input[name=title]").fill("Bus Routes of Kisumu")
    page.locator("main form").get_by_role("button").click()
    page.wait_for_url(re.compile(re.escape(site.url + "/wiki/bus-routes-of-kisumu/edit")))
    expect(page.locator("main h1")).to_have_text("Creating “Bus Routes of Kisumu”")
    form = page.locator("form.edit-form")
    assert form.locator("input[name=title]").input_value() == "Bus Routes of Kisumu"
    assert form.locator("input[name=base_rev]").input_value() == ""
    save(page, "Route 7 runs every twenty minutes.", "started offline")
    (op,) = queued(page)
    assert (op["title"], op["base_rev"], op["account"]) == ("Bus Routes of Kisumu", None, username)

    page.goto(site.url + "/wiki/bus-routes-of-kisumu")
    expect(page.locator("main h1")).to_have_text("Bus Routes of Kisumu")
    expect(page.locator("main .pending-page")).to_contain_text("waiting to sync")
    expect(page.locator("main .prose pre")).to_have_text("Route 7 runs every twenty minutes.")
    expect(page.locator("main .keep-offline")).to_have_count(0)  # nothing on the server to keep yet
    page.goto(site.url + "/wiki/bus-routes-of-kisumu/edit")  # a second thought goes on from the waiting text
    expect(page.locator("main h1")).to_have_text("Creating “Bus Routes of Kisumu”")
    expect(form.locator("textarea[name=body]")).to_have_value("Route 7 runs every twenty minutes.")

    back = reconnect(page, context, live_server)
    try:
        created = head(site, "bus-routes-of-kisumu")
        assert created["title"] == "Bus Routes of Kisumu" and created["body"] == "Route 7 runs every twenty minutes."
    finally:
        stop_server(back)


TITLES = ["Well maintenance", "  Café   au lait ", "Ünïcödé_and-dashes--", "hindi: नमस्ते दुनिया", "ﬁne ＡＢＣ ½",
          "Tabs\tand\u200bzero width", "x" * 120, "!!!", "🙂🙂", "日本語のページ", "C++ / C#",
          # Cut at 80 characters, on a hyphen and past one, with the hash of the whole (issue 11 item 12).
          "a " * 60, "Ünïcödé " * 15 + "end", "x" * 80, "x" * 79 + " tail"]


def test_the_browser_guesses_slugs_as_the_server_makes_them(phone_page: Page, site: Any) -> None:
    phone_page.goto(site.url + "/offline")
    script = re.search(r'"slugs": "([^"]+)"', httpx.get(site.url + "/sw.js").text).group(1)
    phone_page.add_script_tag(url=site.url + script)
    guessed = phone_page.evaluate("(titles) => Promise.all(titles.map(CommonplaceSlugs.slugify))", TITLES)
    assert guessed == [slugify(title) for title in TITLES]


def test_new_page_and_missing_links_keep_the_title_and_offline_pages_name_the_account(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, token = site.sign_up()
    site.edit(token, slug=None, title="Water point", base_rev=None, body="See [[Well maintenance]].")
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username, worker=True)

    page.goto(site.url + "/new?title=Welcome")
    expect(page.locator(".page-exists")).to_contain_text("A page called “Welcome” already exists")
    page.locator(".page-exists").get_by_role("link", name="Open “Welcome”").click()
    page.wait_for_url(site.url + "/wiki/welcome")

    page.goto(site.url + "/wiki/water-point")
    page.locator("main a.new", has_text="Well maintenance").click()
    expect(page.locator("main h1")).to_have_text("Creating “Well maintenance”")
    assert page.locator("form.edit-form input[name=title]").input_value() == "Well maintenance"

    context.set_offline(True)  # the page first: a request between the two would log an error
    stop_server(live_server)
    for path in ("/wiki/never-opened", "/search?q=wells", "/wiki/welcome/edit"):
        page.goto(site.url + path)
        header = page.locator(".site-header")
        expect(header).to_have_attribute("data-account", username)
        expect(header.get_by_role("link", name=username)).to_be_visible()
        expect(header.get_by_role("link", name="Log in")).to_have_count(0)


@pytest.fixture
def stalled_port(live_server: Any) -> Iterator[int]:
    """The live server's port, now held by a server that accepts connections and never answers."""
    port = urlsplit(live_server.url).port
    stop_server(live_server)
    listener = socket.create_server(("127.0.0.1", port))
    held: list[socket.socket] = []
    closing = threading.Event()

    def accept() -> None:
        while not closing.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield port
    closing.set()
    listener.close()
    for connection in held:
        connection.close()
    thread.join(timeout=5)


def test_a_server_that_never_answers_gives_way_to_a_page_that_says_so(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any, request: pytest.FixtureRequest
) -> None:
    worker = httpx.get(site.url + "/sw.js").text
    limits = {name: int(value) for name, value in re.findall(r"const (\w+_TIMEOUT_MS) = (\d+);", worker)}
    assert limits["NETWORK_TIMEOUT_MS"] <= 3000 and limits["FALLBACK_TIMEOUT_MS"] <= 4000, limits
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/wiki/how-to-read")
    page.wait_for_function(WORKER_READY)
    wait_until(page, "() => caches.match(location.href, {ignoreVary: true}).then(Boolean)")

    request.getfixturevalue("stalled_port")
    page.goto(site.url + "/wiki/never-opened")
    banner = page.locator(".offline-banner")
    expect(banner).to_contain_text("the server is not answering")
    expect(banner.get_by_role("link", name="Try again")).to_have_attribute("href", "/wiki/never-opened")
    expect(page.locator(".offline-list a", has_text="How to read")).to_be_visible()

    page.goto(site.url + "/wiki/how-to-read")
    expect(page.locator("main h1")).to_have_text("How to read")
    expect(page.locator(".offline-banner")).to_contain_text("slow connection")


OLD_STORE = """() => new Promise((resolve, reject) => {
  const request = indexedDB.open("commonplace", 1);
  request.onupgradeneeded = () => {
    const db = request.result;
    db.createObjectStore("pages", { keyPath: "slug" });
    db.createObjectStore("bodies");
    db.createObjectStore("meta");
    const tx = request.transaction;
    tx.objectStore("pages").put({ slug: "kept-before", title: "Kept before", rev: "r1", kept: true });
    tx.objectStore("bodies").put("<p>Kept before the update.</p>", "kept-before");
  };
  request.onsuccess = () => { request.result.close(); resolve(); };
  request.onerror = () => reject(request.error);
})"""


def test_pages_saved_before_the_source_store_existed_survive_its_upgrade(phone_page: Page, site: Any) -> None:
    phone_page.route("**/favicon.ico", lambda route: route.fulfill(status=204))  # asked for beside a JSON page
    phone_page.goto(site.url + "/api/status")  # same origin, no script of the app yet
    phone_page.evaluate(OLD_STORE)
    phone_page.goto(site.url + "/wiki/how-to-read")
    kept = phone_page.evaluate("() => OfflineStore.getPage('kept-before')")
    assert (kept["title"], kept["html"]) == ("Kept before", "<p>Kept before the update.</p>")
    phone_page.evaluate("(page) => OfflineStore.saveSource(page)",
                        {"slug": "kept-before", "title": "Kept before", "rev": "r1", "body": "x"})
    assert phone_page.evaluate("() => OfflineStore.getSource('kept-before')")["body"] == "x"
