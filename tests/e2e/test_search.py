"""Search as you type: htmx swaps the results in; the related-pages box fills when it comes into view."""

from __future__ import annotations

from typing import Any

import httpx
from conftest import wait_for_index
from playwright.sync_api import Page, expect


def test_results_appear_while_typing_and_related_pages_load(page: Page, site: Any) -> None:
    wait_for_index(lambda: httpx.get(site.url + "/api/status").json())
    page.goto(site.url + "/wiki/welcome")
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("window.__marker = 1")
    page.locator("#search-q").press_sequentially("conflict", delay=30)
    expect(page.locator("ol.results li").first).to_be_visible()
    expect(page.locator("ol.results mark").first).to_have_text("conflict", ignore_case=True)
    assert page.evaluate("window.__marker") == 1, "typing reloaded the page instead of swapping results"
    assert "q=conflict" in page.url
    expect(page.locator("#search-q")).to_have_value("conflict")

    page.goto(site.url + "/wiki/how-to-edit")
    related = page.locator("section.related")
    related.scroll_into_view_if_needed()
    expect(related.locator("li a").first).to_be_visible()
