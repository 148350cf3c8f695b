"""The HTML edit form with a stale base: merged saves say so, conflicts lead to a page that resolves them."""

from __future__ import annotations

import html
import re

from conftest import new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings
from sync.merge import MARK_START

BODY = "Rivers carry water to the sea. They flood in spring.\n\nFish live in them.\n"


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def browser(settings: Settings, name: str) -> TestClient:
    client = TestClient(create_app(settings))
    client.__enter__()
    client.post("/signup", data={"csrf_token": csrf_from(client.get("/signup").text), "username": name,
                                 "password": "long enough"})
    return client


def open_form(client: TestClient, slug: str) -> dict[str, str]:
    form = client.get(f"/wiki/{slug}/edit").text
    return {"csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": hidden(form, "base_rev")}


def test_stale_form_save_merges_or_leads_to_a_conflict_that_resolves(settings: Settings) -> None:
    with TestClient(create_app(settings)) as api:
        alice = sign_up(api, "alice")
        push(api, alice, new_op(title="Rivers", base_rev=None, body=BODY))
        browser_bob = browser(settings, "bob")
        try:
            stale = open_form(browser_bob, "rivers")
            head = api.get("/api/pages/rivers").json()["rev"]
            push(api, alice, new_op(slug="rivers", base_rev=head, body=BODY.replace("Fish", "Many fish")))

            merged = browser_bob.post("/wiki/rivers/edit", follow_redirects=False,
                                      data={**stale, "body": BODY.replace("spring", "early spring"), "summary": "s"})
            assert merged.status_code == 200 and "merged with changes by alice" in merged.text
            body = api.get("/api/pages/rivers").json()["body"]
            assert "Many fish" in body and "early spring" in body
            again = browser_bob.post("/wiki/rivers/edit", follow_redirects=False,
                                     data={**stale, "body": BODY.replace("spring", "early spring"), "summary": "s"})
            assert again.status_code == 303  # the same op again: a duplicate, nothing written

            stale = open_form(browser_bob, "rivers")
            head = api.get("/api/pages/rivers").json()["rev"]
            push(api, alice, new_op(slug="rivers", base_rev=head, body=body.replace("water", "rain")))
            clash = browser_bob.post("/wiki/rivers/edit", follow_redirects=False,
                                     data={**stale, "body": body.replace("water", "snow melt"), "summary": "melt"})
            assert clash.status_code == 303 and clash.headers["location"].startswith("/conflicts/")
            page = browser_bob.get(clash.headers["location"])
            assert page.status_code == 200 and "snow melt" in page.text and "rain" in page.text
            assert html.escape(MARK_START) in page.text and 'class="conflict-versions"' in page.text
            assert 'href="/conflicts/' in browser_bob.get("/conflicts").text

            url = clash.headers["location"] + "/resolve"
            token = csrf_from(page.text)
            refused = browser_bob.post(url, data={"csrf_token": token, "body": f"{MARK_START}\nx\n"})
            assert refused.status_code == 400 and "markers" in refused.text
            done = browser_bob.post(url, follow_redirects=False,
                                    data={"csrf_token": token, "body": body.replace("water", "rain and snow melt")})
            assert done.status_code == 303 and done.headers["location"] == "/wiki/rivers"
            twice = browser_bob.post(url, data={"csrf_token": token, "body": "a second submit"})
            assert twice.status_code == 200 and "was resolved" in twice.text
            assert "rain and snow melt" in api.get("/api/pages/rivers").json()["body"]
            assert "no conflicts" in browser_bob.get("/conflicts").text
        finally:
            browser_bob.__exit__(None, None, None)


def test_conflict_pages_need_the_owner(settings: Settings) -> None:
    with TestClient(create_app(settings)) as api:
        alice, bob = sign_up(api, "alice"), sign_up(api, "bob")
        [created] = push(api, alice, new_op(title="Rivers", base_rev=None, body=BODY))
        push(api, alice, new_op(slug="rivers", base_rev=created["rev"], body="Gone.\n"))
        [result] = push(api, bob, new_op(slug="rivers", base_rev=created["rev"], body="Mine.\n"))
        assert api.get(f"/conflicts/{result['conflict_id']}").status_code == 401
        assert api.get("/conflicts").status_code == 401
        carol = browser(settings, "carol")
        try:
            assert carol.get(f"/conflicts/{result['conflict_id']}").status_code == 403
            assert carol.get("/conflicts/unknown").status_code == 404
        finally:
            carol.__exit__(None, None, None)
