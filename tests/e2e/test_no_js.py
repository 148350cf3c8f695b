"""Without JavaScript everything still works as plain HTML: read, log in, edit."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Request, expect


def test_read_log_in_and_edit_without_javascript(site: Any, new_context: Any) -> None:
    username, _ = site.sign_up()
    before = len(site.history("how-to-edit"))
    page = new_context(java_script_enabled=False).new_page()
    scripted: list[str] = []

    def note_script_request(request: Request) -> None:
        if request.resource_type in {"xhr", "fetch"} or "hx-request" in request.headers:
            scripted.append(request.url)

    page.on("request", note_script_request)

    # Read.
    page.goto(site.url + "/wiki/how-to-edit")
    expect(page.locator("article h1")).to_have_text("How to edit")
    expect(page.locator(".prose")).to_contain_text("Markdown cheat sheet")

    # Log in through the header link; the form brings us back to the page.
    page.locator(".site-nav").get_by_role("link", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(site.url + "/login?next=")))
    form = page.locator("main form")
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(site.password)
    form.get_by_role("button").click()
    page.wait_for_url(site.url + "/wiki/how-to-edit")
    expect(page.locator(f'.site-nav a[href="/users/{username}"]')).to_be_visible()

    # Edit with the plain form.
    page.locator(".page-actions").get_by_role("link", name="Edit").click()
    page.wait_for_url(site.url + "/wiki/how-to-edit/edit")
    body = page.locator("textarea[name=body]")
    added = "Editing works without JavaScript, too."
    body.fill(body.input_value() + "\n\n" + added)
    page.locator("input[name=summary]").fill("Note on plain forms")
    page.locator("form.edit-form").get_by_role("button").click()
    page.wait_for_url(site.url + "/wiki/how-to-edit")
    expect(page.locator(".prose")).to_contain_text(added)

    history = site.history("how-to-edit")
    assert len(history) == before + 1
    assert (history[0]["author"], history[0]["summary"]) == (username, "Note on plain forms")
    assert not scripted, f"script-driven requests with JavaScript off: {scripted}"


def test_an_expired_form_gives_the_typed_text_back_without_javascript(site: Any, new_context: Any,
                                                                      browser_errors: Any) -> None:
    """Issue 11, item 10: a save refused as "form expired" (403) answered a page without the text typed.

    The form expires the way it does for people: it was opened, then the account logged in again in
    another tab, which replaces the CSRF token (issue 11, item 13)."""
    username, _ = site.sign_up()
    context = new_context(java_script_enabled=False)
    page = context.new_page()

    def log_in(tab: Any) -> None:
        tab.goto(site.url + "/login")
        form = tab.locator("main form")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(site.password)
        form.get_by_role("button").click()
        tab.wait_for_url(site.url + "/")

    log_in(page)
    page.goto(site.url + "/wiki/how-to-edit/edit")
    typed = page.locator("textarea[name=body]").input_value() + "\n\nTyped before logging in again."
    page.locator("textarea[name=body]").fill(typed)
    page.locator("input[name=summary]").fill("Kept through an expired form")

    other = context.new_page()
    log_in(other)  # a new CSRF token: the first tab's form now holds an old one
    other.close()

    page.locator("form.edit-form").get_by_role("button").click()
    page.wait_for_load_state()
    expect(page.locator("main .error")).to_contain_text("form had expired")
    assert page.locator("textarea[name=body]").input_value() == typed
    # Chromium logs the refusal as a console error: the one this test provoked is expected.
    refused = [m for m in browser_errors.messages if "403" in m and "/wiki/how-to-edit/edit" in m]
    assert len(refused) == 1
    browser_errors.messages.remove(refused[0])
    expect(page.locator("input[name=summary]")).to_have_value("Kept through an expired form")

    page.locator("form.edit-form").get_by_role("button").click()
    page.wait_for_url(site.url + "/wiki/how-to-edit")
    expect(page.locator(".prose")).to_contain_text("Typed before logging in again.")
    assert site.history("how-to-edit")[0]["summary"] == "Kept through an expired form"
