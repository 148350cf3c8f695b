"""The browser under a small reply budget (issue 11): downloading the commons and refreshing saved pages
follow `more` and the cursor, so every page arrives even when a reply holds only one of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import start_server, stop_server
from e2e.conftest import Site
from e2e.steps import WORKER_READY, log_in, wait_until
from playwright.sync_api import BrowserContext, expect

# The feed's entries (no text) fit several to a reply; a page with its HTML and source does not.
BUDGET = 3000
EDITED = 8


@pytest.fixture
def budget_site(tmp_path: Path) -> Iterator[Site]:
    """A server whose replies hold about one page each."""
    server = start_server(tmp_path / "data", env={"COMMONPLACE_MAX_REPLY_BYTES": str(BUDGET)})
    try:
        yield Site(server.url)
    finally:
        stop_server(server)


def test_download_and_refresh_of_saved_pages_follow_the_cursor(
    phone_context: Callable[..., BrowserContext], budget_site: Site
) -> None:
    site = budget_site
    total = httpx.get(site.url + "/api/status").json()["pages"]
    _, token = site.sign_up()
    context = phone_context()
    page = context.new_page()
    page.goto(site.url + "/offline")
    page.wait_for_function(WORKER_READY)
    page.locator("form.download-form").get_by_role("button", name="Download").click()
    expect(page.locator(".download-status")).to_have_text(f"Done: {total} pages are on this device.")

    saved = dict(page.evaluate("() => OfflineStore.listPages().then((ps) => ps.map((p) => [p.slug, p.rev]))"))
    assert len(saved) == total
    # The device has read the feed up to here; the edits below are what its next refresh must bring.
    seq = httpx.get(site.url + "/api/bulk", params={"scope": "slugs"}).json()["last_seq"]
    page.evaluate("(seq) => OfflineStore.setMeta('changes_seq', seq)", seq)
    edited = {}
    for slug in sorted(saved)[:EDITED]:
        head = httpx.get(f"{site.url}/api/pages/{slug}").json()
        body = head["body"] + "\n\nAdded after the download. " + "More words. " * 300
        edited[slug] = site.edit(token, slug=slug, base_rev=head["rev"], body=body)["rev"]
    feed = httpx.get(site.url + "/api/sync/changes", params={"since": seq}).json()
    assert len(feed["changes"]) == EDITED and not feed["more"]  # one feed reply: the pages come by bulk

    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_until(page, "([edited, count]) => OfflineStore.listPages().then((ps) => "
                     "ps.filter((p) => edited[p.slug] === p.rev).length === count)", arg=[edited, EDITED],
               timeout_ms=30_000, what=f"all {EDITED} edited saved pages refreshed")
    fresh = page.evaluate("(edited) => OfflineStore.listPages().then((ps) => "
                          "ps.filter((p) => edited[p.slug] === p.rev).length)", edited)
    assert fresh == EDITED, f"only {fresh} of the {EDITED} edited saved pages were refreshed"


def test_conflict_notes_stay_while_their_conflicts_are_open_past_one_reply(
    phone_context: Callable[..., BrowserContext], budget_site: Site
) -> None:
    site = budget_site
    username, _ = site.sign_up()
    _, other = site.sign_up()
    page = phone_context().new_page()
    log_in(page, site, username, worker=True)
    # Three pages another account changes after this phone read them: each edit from the phone conflicts,
    # and each open conflict (its versions whole) is larger than one reply's budget.
    stale = []
    for number in range(3):
        text = "".join(f"Line {line} of page {number}.\n" for line in range(40))
        created = site.edit(other, slug=None, title=site.unique("Budget page "), base_rev=None, body=text)
        site.edit(other, slug=created["slug"], base_rev=created["rev"], body=text.replace("Line 7", "Theirs 7"))
        stale.append({"slug": created["slug"], "base_rev": created["rev"],
                      "body": text.replace("Line 7", "Mine 7"), "account": username})
    page.evaluate("(ops) => Promise.all(ops.map((op) => CommonplaceOutbox.add(op)))", stale)
    with page.expect_response(lambda r: "/api/sync/conflicts?after=" in r.url and not r.json()["more"]):
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
    expect(page.locator(".sync-button")).to_have_text("3 conflicts to resolve")
    notes = page.evaluate("() => CommonplaceOutbox.all().then((ops) => ops.filter((op) => "
                          "op.state === 'conflict').length)")
    assert notes == 3
