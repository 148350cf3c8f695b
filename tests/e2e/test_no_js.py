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
