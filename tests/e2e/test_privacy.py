"""Privacy in Chromium: a whole browsing session (read, search, sign up, edit, history, diff, offline page)
asks nothing of any origin but the app's own: no fonts, scripts, images or analytics from elsewhere."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from conftest import wait_for_index
from playwright.sync_api import BrowserContext, Page, Request, expect

from server.app import CONTENT_SECURITY_POLICY


def test_every_request_of_a_session_goes_to_the_app(phone_context: Any, site: Any) -> None:
    wait_for_index(lambda: httpx.get(site.url + "/api/status").json())
    context: BrowserContext = phone_context()
    requests: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    context.on("request", record)
    page: Page = context.new_page()
    page.goto(site.url + "/")
    page.goto(site.url + "/wiki")
    page.goto(site.url + "/wiki/how-to-edit")
    page.locator("section.related").scroll_into_view_if_needed()
    page.locator("#search-q").press_sequentially("offline", delay=30)
    expect(page.locator("ol.results li").first).to_be_visible()
    site.ui_sign_up(page)
    page.goto(site.url + "/wiki/welcome/edit")
    form = page.locator("form.edit-form")
    form.locator("textarea[name=body]").fill(form.locator("textarea[name=body]").input_value() + "\n\nOne more line.")
    form.locator("input[name=summary]").fill("privacy check")
    form.get_by_role("button").click()
    page.wait_for_url(site.url + "/wiki/welcome")
    page.goto(site.url + "/wiki/welcome/history")
    page.goto(site.url + "/wiki/welcome/diff")
    page.goto(site.url + "/changes")
    page.goto(site.url + "/offline")
    page.goto(site.url + "/search?q=tea")
    page.wait_for_timeout(500)  # the service worker's precache and lazy boxes finish

    own = urlsplit(site.url)
    foreign = [url for url in requests
               if urlsplit(url).scheme not in ("data", "blob")
               and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)]
    assert len(requests) > 20
    assert foreign == [], foreign
    # The browser is told the same: nothing may load or connect anywhere else.
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY and "connect-src 'self'" in CONTENT_SECURITY_POLICY
    # A first visit carries the stylesheet inline, named by its hash and nothing else (issue 10).
    policy = httpx.get(site.url + "/").headers["content-security-policy"]
    assert re.sub(r" 'sha256-[A-Za-z0-9+/]+={0,2}'", "", policy, count=1) == CONTENT_SECURITY_POLICY
