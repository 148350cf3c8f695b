"""Offline search ranks instead of filtering (issue 12 items 6 and 8): with the server gone, a question whose
words are spread over two saved pages still gets the best page first, a query nothing answers says so and shows
the closest pages, and a Chinese page is found by a two-character word inside a sentence."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
from conftest import LiveServer, start_server, stop_server
from e2e.steps import WORKER_READY
from playwright.sync_api import BrowserContext, Page, expect

PAGES = {
    "Brewing tea": "Boil the water, then let the tea leaves steep for three minutes before you pour.",
    "Storing rainwater": "Keep the barrel covered so the water stays clean, and drain it before winter.",
    "数据库笔记": "我们用数据库保存所有页面。每个页面都有自己的历史，谁都可以查看。",
}


def write_pages(server: LiveServer) -> None:
    reply = httpx.post(server.url + "/api/users", json={"username": "u" + uuid.uuid4().hex[:8],
                                                         "password": "correct horse battery"})
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    ops = [{"op_id": str(uuid.uuid4()), "type": "edit", "summary": "e2e setup", "slug": None, "title": title,
            "base_rev": None, "body": body} for title, body in PAGES.items()]
    reply = httpx.post(server.url + "/api/sync/push", json={"device_id": "e2e", "ops": ops},
                       headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    assert [r["status"] for r in reply.json()["results"]] == ["applied"] * len(PAGES), reply.text


def download_the_commons(page: Page, server: LiveServer) -> None:
    total = httpx.get(server.url + "/api/status").json()["pages"]
    page.goto(server.url + "/offline")
    page.wait_for_function(WORKER_READY)
    page.locator("form.download-form").get_by_role("button", name="Download", exact=True).click()
    expect(page.locator(".download-status")).to_have_text(f"Done: {total} pages are on this device.")


def search_offline(page: Page, server: LiveServer, query: str) -> None:
    page.goto(f"{server.url}/search?q={quote(query)}")
    expect(page.locator(".offline-results")).to_contain_text("offline results")


def test_offline_search_ranks_questions_and_says_when_nothing_matched_well(
    phone_context: Callable[..., BrowserContext], tmp_path: Path
) -> None:
    server = start_server(tmp_path / "data")
    try:
        write_pages(server)
        context = phone_context()
        page = context.new_page()
        download_the_commons(page, server)
    finally:
        stop_server(server)  # from here on, only the service worker and the saved pages answer

    # No saved page holds every word (the search before issue 12 answered nothing); the page holding most comes
    # first, the other one that shares a word is listed too.
    search_offline(page, server, "How long should the tea leaves steep in clean water?")
    results = page.locator("ol.results li a")
    expect(results.first).to_have_text("Brewing tea")
    # A snippet is the page's first words, never its table of contents.
    expect(page.locator("ol.results .snippet", has_text="Contents")).to_have_count(0)
    expect(page.locator("ol.results a", has_text="Storing rainwater")).to_be_visible()
    expect(page.locator(".no-good-match")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "offline-results-360.png"), full_page=True)

    search_offline(page, server, "quantum giraffe ballet on water")
    note = page.locator("p.notice.no-good-match[role=status]")
    expect(note).to_have_text("Nothing matched well. The closest pages:")
    closest = page.locator("ol.results.closest li a")
    expect(closest.filter(has_text="Storing rainwater")).to_be_visible()
    assert 1 <= closest.count() <= 5
    page.screenshot(path=str(tmp_path / "offline-no-good-match-360.png"), full_page=True)

    # "历史" (history) is two characters inside a sentence: found as one of the sentence's two-character pieces.
    search_offline(page, server, "历史")
    expect(page.locator("ol.results li a").first).to_have_text("数据库笔记")
    expect(page.locator(".no-good-match")).to_have_count(0)
