"""Headings and the app's own ids in real Chromium (issue 11 item 11): a heading named like a part of the app
leaves that part alone, and a link to a section made before heading ids had their prefix still lands there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, expect

FILLER = "\n\n".join(f"Paragraph {n} about wells, pumps and the water they lift." for n in range(60))
BODY = f"Intro.\n\n## Sync state\n\nHow this page's edits reach the server.\n\n{FILLER}\n\n## Notes\n\nThe end."


def test_the_sync_indicator_shows_on_a_page_with_a_sync_state_heading(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    _, token = site.sign_up()
    slug = site.edit(token, slug=None, title=site.unique("Sync notes "), base_rev=None, body=BODY)["slug"]
    page = phone_context().new_page()
    page.goto(f"{site.url}/wiki/{slug}")
    # An edit another account left on this device: the indicator has something to say to any reader.
    page.evaluate("""() => CommonplaceOutbox.add({slug: "welcome", base_rev: "r1", body: "Not mine.",
                                                  account: "someone-else"})""")
    page.reload()
    expect(page.locator(".site-header .sync-button")).to_have_text("1 edit of another account")
    expect(page.locator("main h2", has_text="Sync state")).to_have_text("Sync state")  # not written into
    assert page.evaluate("() => document.querySelectorAll('#sync-state').length") == 1


def test_a_section_link_from_before_the_prefix_still_lands_on_its_section(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    _, token = site.sign_up()
    slug = site.edit(token, slug=None, title=site.unique("Old links "), base_rev=None, body=BODY)["slug"]
    context = phone_context()
    page = context.new_page()
    page.goto(f"{site.url}/wiki/{slug}")
    expect(page.locator("h2#s-notes")).not_to_be_in_viewport()  # the page is long: Notes starts out of sight
    page = context.new_page()
    page.goto(f"{site.url}/wiki/{slug}#notes")
    expect(page.locator("h2#s-notes")).to_be_in_viewport()
