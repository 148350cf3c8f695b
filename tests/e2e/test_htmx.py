"""With JavaScript on, htmx boosts links: the content is swapped in place, not reloaded."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect


def test_boosted_navigation_swaps_content_without_a_page_load(page: Page, site: Any) -> None:
    page.goto(site.url + "/wiki/how-to-edit")
    page.wait_for_function("() => window.htmx !== undefined")
    # A full page load would wipe this; an htmx swap keeps the same window.
    page.evaluate("window.__marker = 1")

    with page.expect_request(site.url + "/changes") as request_info:
        page.locator(".site-nav").get_by_role("link", name="Recent changes").click()
    page.wait_for_url(site.url + "/changes")
    expect(page.locator("main h1")).to_have_text("Recent changes")
    expect(page).to_have_title(re.compile(r"^Recent changes"))
    assert page.evaluate("window.__marker") == 1, "clicking the link reloaded the whole page"

    request = request_info.value
    assert request.headers.get("hx-request") == "true", request.headers
    assert request.resource_type in {"xhr", "fetch"}, request.resource_type
    response = request.response()
    assert response is not None
    assert "hx-request" in response.headers.get("vary", "").lower(), response.headers
    assert "<html" not in response.text().lower(), "an htmx request got the whole page instead of a fragment"
    # The swapped-in fragment holds the header once, not a page nested inside the page.
    expect(page.locator(".site-header")).to_have_count(1)

    # Back restores the previous page, still without a full load.
    page.go_back()
    page.wait_for_url(site.url + "/wiki/how-to-edit")
    expect(page.locator("main h1")).to_have_text("How to edit")
    assert page.evaluate("window.__marker") == 1
