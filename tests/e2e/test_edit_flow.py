"""The core loop in a real browser: sign up, create a page, edit it, read its history and the diff."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

FIRST = (
    "Tomatoes need sun for most of the day.\n\n"
    "Water them at the roots with a purple watering can every morning.\n\n"
    "Pick the fruit when it is fully coloured."
)
SECOND = FIRST.replace("purple watering can every morning", "green watering can every evening")


def save_edit(page: Page, body: str, summary: str) -> None:
    form = page.locator("form.edit-form")
    form.locator("textarea[name=body]").fill(body)
    form.locator("input[name=summary]").fill(summary)
    form.get_by_role("button").click()


def test_sign_up_create_edit_history_and_diff(page: Page, site) -> None:
    url = site.url
    username = site.ui_sign_up(page)

    # Create: /new asks for a title, then opens the edit form of the new page.
    title = "Field notes " + site.unique("t")
    slug = title.lower().replace(" ", "-")
    page.goto(url + "/new")
    page.locator("main form input[name=title]").fill(title)
    page.locator("main form").get_by_role("button").click()
    page.wait_for_url(re.compile(re.escape(f"{url}/wiki/{slug}/edit")))
    expect(page.locator("h1")).to_contain_text(title)
    save_edit(page, FIRST, "Start the page")
    page.wait_for_url(f"{url}/wiki/{slug}")
    prose = page.locator("article .prose")
    expect(prose).to_contain_text("purple watering can every morning")
    expect(page.locator("article h1")).to_have_text(title)

    # Edit again, changing one paragraph.
    page.locator(".page-actions").get_by_role("link", name="Edit").click()
    page.wait_for_url(f"{url}/wiki/{slug}/edit")
    expect(page.locator("textarea[name=body]")).to_have_value(FIRST)
    save_edit(page, SECOND, "Evening is better")
    page.wait_for_url(f"{url}/wiki/{slug}")
    expect(prose).to_contain_text("green watering can every evening")
    expect(prose).not_to_contain_text("purple")

    # History lists both revisions, newest first, credited to the author.
    page.locator(".page-actions").get_by_role("link", name="History").click()
    page.wait_for_url(f"{url}/wiki/{slug}/history")
    revisions = page.locator("ol.revisions > li")
    expect(revisions).to_have_count(2)
    expect(revisions.nth(0)).to_contain_text("Evening is better")
    expect(revisions.nth(1)).to_contain_text("Start the page")
    expect(revisions.locator("a.author")).to_have_text([username, username])

    # The two newest revisions are preselected; compare them.
    page.get_by_role("button", name="Compare selected revisions").click()
    page.wait_for_url(re.compile(re.escape(f"{url}/wiki/{slug}/diff?")))
    removed = page.locator(".diff del")
    added = page.locator(".diff ins")
    expect(removed.first).to_be_visible()
    removed_text, added_text = " ".join(removed.all_text_contents()), " ".join(added.all_text_contents())
    for word in ("purple", "morning"):
        assert word in removed_text, f"{word!r} not marked as removed in {removed_text!r}"
        assert word not in added_text, f"{word!r} wrongly marked as added in {added_text!r}"
    for word in ("green", "evening"):
        assert word in added_text, f"{word!r} not marked as added in {added_text!r}"
        assert word not in removed_text, f"{word!r} wrongly marked as removed in {removed_text!r}"
    # Unchanged words stay unmarked.
    assert "watering" not in removed_text + added_text

    # The JSON API agrees: exactly two revisions, both by this author.
    history = site.history(slug)
    assert [r["author"] for r in history] == [username, username]
    assert [r["summary"] for r in history] == ["Evening is better", "Start the page"]
