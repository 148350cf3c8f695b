"""Two people on two phones editing the same thing at once (issue 10 items 6 and 14): nobody's words are lost.

Both phones save through their outbox and the sync API, as every JavaScript save does; the second save meets
a head that moved and is merged on the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
from e2e.steps import OUTBOX_EMPTY, wait_until
from playwright.sync_api import BrowserContext, Page, expect


def phone(phone_context: Callable[..., BrowserContext], site: Any) -> Page:
    page = phone_context().new_page()
    site.ui_sign_up(page)
    return page


def save(page: Page, body: str, summary: str) -> None:
    form = page.locator("form.edit-form")
    form.locator("textarea[name=body]").fill(body)
    form.locator("input[name=summary]").fill(summary)
    form.get_by_role("button").click()
    wait_until(page, OUTBOX_EMPTY)  # acknowledged by the server
    page.wait_for_url(re.compile(r"/wiki/[^/?]+$"))  # the app shows the saved page (not racing it with a goto)


def body_of(site: Any, slug: str) -> str:
    return httpx.get(f"{site.url}/api/pages/{slug}").json()["body"]


def test_two_phones_adding_to_one_list_keep_both_entries(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    _, token = site.sign_up()
    start = "Things to bring:\n- water\n"
    slug = site.edit(token, title="Camping list", base_rev=None, body=start)["slug"]
    first, second = phone(phone_context, site), phone(phone_context, site)
    for page in (first, second):  # both forms are open before either saves
        page.goto(f"{site.url}/wiki/{slug}/edit")
        expect(page.locator("textarea[name=body]")).to_have_value(start)

    save(first, start + "- tent\n", "tent")
    save(second, start + "- stove\n", "stove")

    assert body_of(site, slug) == start + "- tent\n- stove\n"
    article = second.locator("main")  # the page the app shows after the save
    expect(article).to_contain_text("tent")
    expect(article).to_contain_text("stove")
    expect(article).to_contain_text("both additions are kept")  # the saved note says what happened
    second.goto(f"{site.url}/wiki/{slug}/history")
    expect(second.locator("main")).to_contain_text("kept both additions at the same place")


def test_two_phones_starting_the_same_page_make_one_page_with_both_texts(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    first, second = phone(phone_context, site), phone(phone_context, site)
    for page in (first, second):
        page.goto(f"{site.url}/new?title=Well maintenance")
        page.wait_for_url(f"{site.url}/wiki/well-maintenance/edit?title=Well+maintenance")

    save(first, "Check the rope every month.", "rope")
    save(second, "Clean the bucket after use.", "bucket")

    body = body_of(site, "well-maintenance")
    assert body == "Check the rope every month.\n\nClean the bucket after use."  # two paragraphs
    assert httpx.get(f"{site.url}/api/pages/well-maintenance").json()["title"] == "Well maintenance"
    newest = site.history("well-maintenance")[0]
    assert newest["summary"] == "bucket (this page had been started already; merged with changes by " \
        f"{site.history('well-maintenance')[1]['author']}; kept both additions at the same place)"
    expect(second.locator("main")).to_contain_text("Check the rope")
    expect(second.locator("main")).to_contain_text("Clean the bucket")
    expect(second.locator("main")).to_contain_text("had started this page already")
