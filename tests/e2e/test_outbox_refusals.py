"""The browser's save path and the sync state it shows (issue 10, items 3, 4, 5, 7, 9, 12 and 13): one's own
successive edits form a chain, a refused op never blocks the others and keeps its text, a save says where it
went, a new reader sees no sync button, logging in again sends what waits, a settled conflict stays settled."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from conftest import ROOT, start_server, stop_server
from e2e.steps import OUTBOX_EMPTY, log_in, open_for_offline, save, synced, wait_until
from playwright.sync_api import BrowserContext, Page, expect

BIG = 1_300_000  # bytes: over the page limit (200 kB) and over the push body limit (1 MB)
TOO_LARGE = "The page is too large (1.3 MB; the limit is 200 kB)."


def outage(context: BrowserContext, server: Any) -> None:
    """A real outage: the server is gone, and the page's network too (Playwright's offline mode does not
    cover the service worker)."""
    stop_server(server)
    context.set_offline(True)


def back_online(context: BrowserContext, page: Page, site: Any, server: Any) -> Any:
    back = start_server(server.data, port=urlsplit(site.url).port)
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")  # as the browser does on reconnect
    return back


def open_conflicts(site: Any, token: str) -> list[dict[str, Any]]:
    reply = httpx.get(site.url + "/api/sync/conflicts", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text
    return reply.json()["conflicts"]


def forget_logged(browser_errors: Any, *needles: str) -> list[str]:
    """Chromium logs every refused request as a console error; take out the ones a test provoked."""
    provoked = [m for m in browser_errors.messages if all(n in m for n in needles)]
    for message in provoked:
        browser_errors.messages.remove(message)
    return provoked


def test_saving_twice_offline_reaches_the_server_as_a_chain_without_a_conflict(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, token = site.sign_up()
    created = site.edit(token, slug=None, title="Shopping list", base_rev=None, body="Shopping list:\n- milk\n")
    slug = created["slug"]
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)
    open_for_offline(page, site, slug)

    outage(context, live_server)
    page.goto(f"{site.url}/wiki/{slug}/edit")
    save(page, "Shopping list:\n- milk\n- egs\n", "eggs")
    expect(page.locator("#saved-notice")).to_contain_text("waiting to sync")
    # Notice the typo, edit again: the form starts from the waiting text, not from the saved copy.
    page.goto(f"{site.url}/wiki/{slug}/edit")
    expect(page.locator("textarea[name=body]")).to_have_value("Shopping list:\n- milk\n- egs\n")
    expect(page.locator("main .notice", has_text="still waiting to sync")).to_be_visible()
    save(page, "Shopping list:\n- milk\n- eggs\n- bread\n", "typo, bread")
    expect(page.locator(".sync-button")).to_have_text("2 waiting to sync")
    ops = page.evaluate("() => CommonplaceOutbox.all()")
    assert ops[1]["after_op"] == ops[0]["op_id"] and ops[1]["base_rev"] == ops[0]["base_rev"] == created["rev"]

    back = back_online(context, page, site, live_server)
    try:
        synced(page)
        assert open_conflicts(site, token) == []
        assert httpx.get(f"{site.url}/api/pages/{slug}").json()["body"] == "Shopping list:\n- milk\n- eggs\n- bread\n"
        assert [r["summary"] for r in site.history(slug)][:2] == ["typo, bread", "eggs"]

        # A form built from the copy the device saved before (revision R0) starts from the author's
        # acknowledged text, and its save is based on the revision that text became.
        own = page.evaluate("([slug, name, rev]) => CommonplaceOutbox.latestOwnText(slug, name, rev)",
                            [slug, username, created["rev"]])
        assert own == {"body": "Shopping list:\n- milk\n- eggs\n- bread\n", "waiting": False}
        head = httpx.get(f"{site.url}/api/pages/{slug}").json()["rev"]
        op = page.evaluate("""([slug, name, rev]) => CommonplaceOutbox.add({slug: slug, base_rev: rev,
            body: 'Shopping list:\\n- milk\\n- eggs\\n- bread\\n- tea\\n', account: name})""",
                           [slug, username, created["rev"]])
        assert op["base_rev"] == head and op["after_op"] == ops[1]["op_id"]
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        synced(page)
        assert open_conflicts(site, token) == []
        assert httpx.get(f"{site.url}/api/pages/{slug}").json()["body"].endswith("- tea\n")
    finally:
        stop_server(back)


def test_a_too_large_save_is_refused_plainly_and_later_edits_still_sync(
    phone_context: Callable[..., BrowserContext], site: Any, browser_errors: Any
) -> None:
    username, token = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/wiki/style-guide/edit")
    form = page.locator("form.edit-form")
    expect(form).to_have_attribute("data-max-page-bytes", "200000")

    # Checked before it is queued: the text stays in the form, nothing waits.
    form.locator("textarea[name=body]").evaluate("(t, n) => { t.value = 'x'.repeat(n); }", BIG)
    form.get_by_role("button").click()
    expect(page.locator("main .error")).to_contain_text(TOO_LARGE)
    expect(page.locator("main .error")).to_be_in_viewport()  # above the Save button just tapped
    page.screenshot(path="/tmp/outbox-too-large.png")
    assert page.evaluate("() => CommonplaceOutbox.all()") == []
    expect(page.locator("#sync-state")).to_have_count(0)

    # An op queued where the limit was not known (an older form): the push is over the server's body limit
    # (413 for the whole batch); the batch is sent again op by op and only that op is refused.
    rev = httpx.get(site.url + "/api/pages/how-to-edit").json()["rev"]
    page.evaluate("""([account, rev, n]) => CommonplaceOutbox.add({slug: 'how-to-edit', base_rev: rev,
        body: 'y'.repeat(n), summary: 'huge', account: account})""", [username, rev, BIG])
    page.goto(f"{site.url}/wiki/style-guide/edit")
    body = page.locator("textarea[name=body]").input_value() + "\n\nA normal edit after a huge one."
    save(page, body, "normal")
    page.wait_for_url(f"{site.url}/wiki/style-guide")
    expect(page.locator("#saved-notice")).to_contain_text("Saved.")
    assert site.history("style-guide")[0]["summary"] == "normal"
    assert site.history("how-to-edit")[0]["summary"] != "huge"

    button = page.locator(".sync-button")
    expect(button).to_have_text("1 edit not accepted")  # never "no connection", never a phantom conflict
    button.click()
    expect(page.locator(".sync-op-rejected")).to_contain_text(TOO_LARGE)
    assert len(forget_logged(browser_errors, "413", "/api/sync/push")) >= 1

    # A later edit of another page syncs too: the refused op stays refused and holds nothing back.
    page.goto(f"{site.url}/wiki/peer-production/edit")
    save(page, page.locator("textarea[name=body]").input_value() + "\n\nStill flowing.", "later")
    expect(page.locator("#saved-notice")).to_contain_text("Saved.")
    assert site.history("peer-production")[0]["summary"] == "later"
    expect(page.locator(".sync-button")).to_have_text("1 edit not accepted")
    forget_logged(browser_errors, "413", "/api/sync/push")


def test_a_busy_server_keeps_the_edit_and_says_so(
    phone_context: Callable[..., BrowserContext], site: Any, browser_errors: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)
    page.goto(f"{site.url}/wiki/style-guide/edit")
    context.route("**/api/sync/push", lambda route: route.fulfill(status=503, body="busy"))
    save(page, page.locator("textarea[name=body]").input_value() + "\n\nSent on a busy day.", "busy")
    page.wait_for_url(f"{site.url}/wiki/style-guide")
    expect(page.locator("#saved-notice")).to_have_text(
        "The server is busy right now. Your edit is saved on this device and will be sent shortly.")
    expect(page.locator(".sync-button")).to_contain_text("1 waiting")
    context.unroute("**/api/sync/push")
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    synced(page)
    assert site.history("style-guide")[0]["summary"] == "busy"
    forget_logged(browser_errors, "503")


def make_moderator(site: Any, live_server: Any) -> str:
    """A moderator's bearer token (the role is given with the CLI, as an operator would)."""
    name, _ = site.sign_up()
    subprocess.run([sys.executable, "-m", "server.cli", "user", "role", name, "moderator",
                    "--data", str(live_server.data)], cwd=ROOT, check=True, capture_output=True)
    reply = httpx.post(site.url + "/api/session", json={"username": name, "password": site.password})
    assert reply.status_code == 200, reply.text
    return reply.json()["token"]


def test_a_refused_edit_keeps_its_text_readable_copyable_and_reopenable(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    log_in(page, site, username)
    open_for_offline(page, site, "style-guide")
    moderator = make_moderator(site, live_server)
    reply = httpx.post(site.url + "/wiki/style-guide/protect", data={"protected": "1"},
                       headers={"Authorization": f"Bearer {moderator}"})
    assert reply.status_code in (200, 303), reply.text

    outage(context, live_server)  # the phone never learns the page was protected
    page.goto(f"{site.url}/wiki/style-guide/edit")
    text = "Words written on a bus, never to be lost."
    save(page, text, "bus words")
    expect(page.locator(".sync-button")).to_have_text("1 waiting to sync")
    back = back_online(context, page, site, live_server)
    try:
        button = page.locator(".sync-button")
        expect(button).to_have_text("1 edit not accepted")
        expect(page.locator("#saved-notice")).to_contain_text("protected")  # no longer says "waiting"
        button.click()
        line = page.locator(".sync-op-rejected")
        expect(line).to_contain_text("Not accepted: the page is protected; only moderators can edit it.")
        line.locator("summary", has_text="Show text").click()
        expect(line.locator("textarea")).to_have_value(text)
        expect(line.locator("textarea")).to_have_attribute("readonly", "")
        line.get_by_role("button", name="Copy").click()
        expect(line.locator(".sync-copied")).to_have_text("Copied.")
        assert page.evaluate("() => navigator.clipboard.readText()") == text
        page.screenshot(path="/tmp/outbox-refused.png")

        # Discard asks first; saying no keeps the edit.
        page.once("dialog", lambda dialog: dialog.dismiss())
        line.get_by_role("button", name="Discard").click()
        expect(button).to_have_text("1 edit not accepted")

        line.get_by_role("link", name="Open in the editor").click()
        page.wait_for_url(f"{site.url}/wiki/style-guide/edit")
        expect(page.locator("textarea[name=body]")).to_have_value(text)
        expect(page.locator("main .notice", has_text="not accepted")).to_contain_text("protected")

        page.locator(".sync-button").click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator(".sync-op-rejected").get_by_role("button", name="Discard").click()
        expect(page.locator("#sync-state")).to_have_count(0)
        assert page.evaluate("() => CommonplaceOutbox.all()") == []
    finally:
        stop_server(back)


def test_a_save_says_where_it_went_online_and_offline(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)
    open_for_offline(page, site, "style-guide")

    page.locator(".page-actions a", has_text="Edit").click()
    page.wait_for_url(f"{site.url}/wiki/style-guide/edit")
    save(page, page.locator("textarea[name=body]").input_value() + "\n\nSaved online.", "online")
    page.wait_for_url(f"{site.url}/wiki/style-guide")
    notice = page.locator("#saved-notice")
    expect(notice).to_contain_text("Saved.")
    expect(notice).to_be_in_viewport()
    page.screenshot(path="/tmp/outbox-saved-online.png")
    rev = site.history("style-guide")[0]["rev"]
    link = notice.get_by_role("link", name="See your change")
    expect(link).to_have_attribute("href", f"/wiki/style-guide/diff?to={rev}")
    page.go_back()  # the filled form left the history: Back goes to the page before it
    assert page.url == f"{site.url}/wiki/style-guide", page.url
    page.goto(f"{site.url}/wiki/style-guide/diff?to={rev}")
    expect(page.locator("main")).to_contain_text("Saved online.")

    page.goto(f"{site.url}/wiki/style-guide")
    open_for_offline(page, site, "style-guide")
    outage(context, live_server)
    page.locator(".page-actions a", has_text="Edit").click()
    page.wait_for_url(f"{site.url}/wiki/style-guide/edit")
    page.locator("textarea[name=body]").evaluate("(t) => t.scrollIntoView()")
    save(page, page.locator("textarea[name=body]").input_value() + "\n\nSaved offline.", "offline")
    page.wait_for_url(f"{site.url}/wiki/style-guide")
    expect(page.locator("main h1").first).to_have_text("Style guide")
    expect(page.locator("#saved-notice")).to_have_text(
        "Saved on this device, waiting to sync. It will be sent when the connection returns.")
    expect(page.locator("#saved-notice")).to_be_in_viewport()
    assert page.evaluate("() => window.scrollY") == 0
    page.screenshot(path="/tmp/outbox-saved-offline.png")
    page.go_back()
    assert page.url == f"{site.url}/wiki/style-guide", page.url


def test_a_new_reader_sees_no_sync_button(phone_context: Callable[..., BrowserContext], site: Any) -> None:
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/")
    wait_until(page, "() => CommonplaceOutbox.getMeta('device_id').then(Boolean)")  # the start-up replay ran
    expect(page.locator("#sync-state")).to_have_count(0)
    username = site.ui_sign_up(page)
    page.goto(site.url + "/wiki/style-guide")
    wait_until(page, "(name) => CommonplaceOutbox.getMeta('account').then((a) => a === name)", arg=username)
    wait_until(page, OUTBOX_EMPTY)
    expect(page.locator("#sync-state")).to_have_count(0)
    expect(page.get_by_text("All synced")).to_have_count(0)


def test_logging_in_again_sends_the_waiting_edit_within_seconds(
    persistent_context: Callable[..., BrowserContext], live_server: Any, site: Any, tmp_path: Path,
    browser_errors: Any
) -> None:
    username, _ = site.sign_up()
    profile = tmp_path / "profile"
    context = persistent_context(profile)
    page = context.pages[0]
    log_in(page, site, username)
    open_for_offline(page, site, "style-guide")
    outage(context, live_server)
    page.goto(f"{site.url}/wiki/style-guide/edit")
    save(page, page.locator("textarea[name=body]").input_value() + "\n\nWritten during the outage.", "outage")
    expect(page.locator(".sync-button")).to_have_text("1 waiting to sync")
    context.close()

    context = persistent_context(profile, offline=True)
    # The browser came back without its session cookie, as a phone's browser may.
    context.clear_cookies(name="cp_session")
    page = context.pages[0]
    page.goto(f"{site.url}/wiki/style-guide")
    expect(page.locator("#pending-edit")).to_contain_text("waiting to sync")

    back = back_online(context, page, site, live_server)
    try:
        expect(page.locator(".sync-button")).to_have_text("Log in again to sync 1 edit")
        assert site.history("style-guide")[0]["summary"] != "outage"
        # Another replay is stuck holding the outbox lock (a service worker's push that never got its
        # answer, say): logging in must not wait behind it.
        stuck = context.new_page()
        stuck.goto(f"{site.url}/wiki/how-to-edit")
        stuck.evaluate("""() => { navigator.locks.request('commonplace-outbox', () => new Promise(() => {}))
                                    .catch(() => {}); }""")
        wait_until(stuck, "() => navigator.locks.query().then((q) => q.held.length > 0)")
        # The page saved on the device still names the account in its header; the panel offers the way back.
        page.locator(".sync-button").click()
        page.screenshot(path="/tmp/outbox-log-in-again.png")
        page.locator(".sync-panel a.sync-login").click()  # boosted, as a person taps it
        form = page.locator("main form")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(site.password)
        form.get_by_role("button").click()
        page.locator(f'.site-nav a[href="/users/{username}"]').wait_for()
        synced(page)  # within the default 10 s wait
        assert site.history("style-guide")[0]["summary"] == "outage"
    finally:
        stop_server(back)
    forget_logged(browser_errors, "401", "/api/sync/push")


def make_conflict(page: Page, context: BrowserContext, site: Any, other: str) -> str:
    """An offline edit of the style guide that the server stores as a conflict; returns its id."""
    open_for_offline(page, site, "style-guide")
    context.set_offline(True)
    page.goto(f"{site.url}/wiki/style-guide/edit")
    mine = page.locator("textarea[name=body]").input_value()
    line = mine.splitlines()[2]
    save(page, mine.replace(line, "MINE: " + line, 1), "my wording")
    head = httpx.get(site.url + "/api/pages/style-guide").json()
    site.edit(other, slug="style-guide", base_rev=head["rev"], body=head["body"].replace(line, "THEIRS: " + line, 1))
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator(".sync-button")).to_have_text("1 conflict to resolve")
    ops = page.evaluate("() => CommonplaceOutbox.all()")
    return ops[0]["result"]["conflict_id"]


def resolve(site: Any, token: str, conflict_id: str) -> None:
    body = httpx.get(site.url + "/api/pages/style-guide").json()["body"]
    reply = httpx.post(f"{site.url}/api/sync/conflicts/{conflict_id}/resolve", json={"body": body + "\n\nBoth."},
                       headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.text


def test_a_resolved_conflict_does_not_reappear_offline(
    phone_context: Callable[..., BrowserContext], live_server: Any, site: Any
) -> None:
    username, token = site.sign_up()
    _, other = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)

    # Settled on the conflict page: its notice marks the conflict, and the phone drops its note at once.
    conflict_id = make_conflict(page, context, site, other)
    resolve(site, token, conflict_id)
    page.goto(f"{site.url}/conflicts/{conflict_id}")
    page.locator(f'[data-resolved-conflict="{conflict_id}"]').wait_for()
    wait_until(page, OUTBOX_EMPTY)

    # Settled elsewhere (another device): the next sync learns it from the server's list of open conflicts.
    second = make_conflict(page, context, site, other)
    resolve(site, token, second)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_until(page, OUTBOX_EMPTY)

    outage(context, live_server)
    page.goto(f"{site.url}/wiki/style-guide")
    expect(page.locator(".offline-banner")).to_be_visible()
    wait_until(page, OUTBOX_EMPTY)
    expect(page.locator("#sync-state")).to_have_count(0)
    expect(page.get_by_text("conflict")).to_have_count(0)


def test_a_refused_new_page_reopens_in_the_create_form_and_saves(
    phone_context: Callable[..., BrowserContext], site: Any
) -> None:
    username, _ = site.sign_up()
    context = phone_context()
    page = context.new_page()
    log_in(page, site, username)
    # A create the server refused (say its title was refused), as the outbox keeps it. Put in while no replay
    # runs: the log-in's start-up replay would otherwise send it in the moment it is still pending.
    page.wait_for_load_state("networkidle")
    page.evaluate("""(account) => CommonplaceOutbox.add({slug: 'bus-routes', title: 'Bus routes', base_rev: null,
        body: 'Route 7 runs every twenty minutes.', summary: 'start', account: account})
      .then((op) => CommonplaceOutbox.update(op.op_id, {state: 'rejected', result: {op_id: op.op_id,
        status: 'rejected', reason: 'bad_title', message: 'The title cannot be used.'}}))""", username)
    page.reload()
    expect(page.locator(".sync-button")).to_have_text("1 edit not accepted")
    page.locator(".sync-button").click()
    expect(page.locator(".sync-op-rejected")).to_contain_text("Bus routes")
    expect(page.locator(".sync-op-rejected")).to_contain_text("Not accepted: the title cannot be used.")
    page.locator(".sync-op-rejected").get_by_role("link", name="Open in the editor").click()
    page.wait_for_url(f"{site.url}/wiki/bus-routes/edit?title=Bus+routes")
    form = page.locator("form.edit-form")
    expect(form.locator("textarea[name=body]")).to_have_value("Route 7 runs every twenty minutes.")
    expect(form.locator("input[name=title]")).to_have_value("Bus routes")
    form.get_by_role("button").click()
    page.wait_for_url(f"{site.url}/wiki/bus-routes")
    expect(page.locator("#saved-notice")).to_contain_text("Saved.")
    assert httpx.get(site.url + "/api/pages/bus-routes").json()["body"] == "Route 7 runs every twenty minutes."
    wait_until(page, OUTBOX_EMPTY)  # the refused copy went once its text was saved again
