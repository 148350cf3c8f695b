"""The conflict pages: a choice per conflicting part, the whole text as an escape, POST-redirect-GET everywhere."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from conftest import bearer, new_op, push, sign_up
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings
from sync.merge import MARK_START

BODY = "Rivers carry water to the sea. They flood in spring.\n\nFish live in them.\n"
LONG = (
    "Wells are shared by several families.\n\n"
    "The main well is 12 metres deep.\n\n"
    "Check the rope every month.\n\nClean the filter every month.\n\nOil the pump twice a year.\n\n"
    "Call the mechanic when the pump breaks.\n"
)


def csrf_from(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _main(page: str) -> str:
    return re.search(r"<main.*?</main>", page, re.S).group(0)


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def browser(settings: Settings, name: str) -> TestClient:
    client = TestClient(create_app(settings))
    client.__enter__()
    client.post("/signup", data={"csrf_token": csrf_from(client.get("/signup").text), "username": name,
                                 "password": "long enough"})
    return client


def open_form(client: TestClient, slug: str) -> dict[str, str]:
    form = client.get(f"/wiki/{slug}/edit").text
    return {"csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": hidden(form, "base_rev")}


class Clash:
    """alice wrote the page and changed it; bob, a browser, made a conflicting edit from the older text."""

    def __init__(self, settings: Settings, base: str, theirs: str, mine: str) -> None:
        self.api = TestClient(create_app(settings))
        self.api.__enter__()
        self.alice = sign_up(self.api, "alice")
        [created] = push(self.api, self.alice, new_op(title="Wells", base_rev=None, body=base))
        push(self.api, self.alice, new_op(slug="wells", base_rev=created["rev"], body=theirs))
        self.bob = browser(settings, "bob")
        reply = self.bob.post("/wiki/wells/edit", follow_redirects=False,
                              data={**open_form(self.bob, "wells"), "base_rev": created["rev"], "body": mine,
                                    "summary": "mine"})
        assert reply.status_code == 303 and reply.headers["location"].startswith("/conflicts/")
        self.url = reply.headers["location"]
        self.id = self.url.rsplit("/", 1)[1]

    def page(self, suffix: str = "") -> str:
        reply = self.bob.get(self.url + suffix)
        assert reply.status_code == 200
        return reply.text

    def form(self) -> dict[str, str]:
        page = self.page()
        return {"csrf_token": csrf_from(page), "parts": hidden(page, "parts")}

    def post(self, action: str, data: dict[str, str]):
        return self.bob.post(f"{self.url}/{action}", data=data, follow_redirects=False)

    def body(self) -> str:
        return self.api.get("/api/pages/wells").json()["body"]

    def revisions(self) -> int:
        return len(self.api.get("/api/pages/wells/history").json()["revisions"])

    def close(self) -> None:
        self.bob.__exit__(None, None, None)
        self.api.__exit__(None, None, None)


@pytest.fixture
def two_parts(settings: Settings) -> Iterator[Clash]:
    """Two conflicting parts: the first and the third paragraph changed on both sides."""
    theirs = LONG.replace("shared by several", "shared by six").replace("12 metres", "14 metres")
    mine = LONG.replace("shared by several", "shared by many").replace("12 metres", "15 metres")
    clash = Clash(settings, LONG, theirs, mine)
    yield clash
    clash.close()


def test_the_page_shows_the_clean_text_once_and_each_part_with_its_words_marked(two_parts: Clash) -> None:
    page = two_parts.page()
    choices, whole = page.split('<details class="conflict-whole"')
    assert choices.count("Clean the filter every month.") == 1  # folded, not repeated
    assert html.escape(MARK_START) in whole  # the whole-text escape holds the proposal
    assert re.search(r"<details class=\"conflict-fold\"><summary>\d unchanged lines</summary>", page)
    assert page.count('<fieldset class="conflict-part"') == 2
    assert "<del>several</del><ins>six</ins>" in page and "<del>several</del><ins>many</ins>" in page
    assert "<del>12</del><ins>14</ins>" in page and "<del>12</del><ins>15</ins>" in page
    for value in ("mine", "theirs", "both", "edit"):
        assert f'name="choice-0" value="{value}"' in page and f'name="choice-1" value="{value}"' in page


def test_choices_assemble_the_body(two_parts: Clash) -> None:
    before = two_parts.revisions()
    done = two_parts.post("resolve", {**two_parts.form(), "choice-0": "both", "choice-1": "mine"})
    assert done.status_code == 303 and done.headers["location"] == two_parts.url
    assert two_parts.body() == LONG.replace(
        "Wells are shared by several families.\n",
        "Wells are shared by six families.\n\nWells are shared by many families.\n",
    ).replace("12 metres", "15 metres")
    assert two_parts.revisions() == before + 1
    seq = two_parts.api.get("/api/pages/wells/history").json()["revisions"][0]["seq"]
    page = two_parts.page()
    assert f'data-resolved-conflict="{two_parts.id}"' in page and f"is now revision {seq}" in page
    assert "shared by many families" in page and "<form" not in page.split("<main", 1)[1].split("</main>")[0]


def test_edit_and_theirs_choices(two_parts: Clash) -> None:
    form = {**two_parts.form(), "choice-0": "edit", "edit-0": "Wells are shared by every family.\r\nRead on.",
            "choice-1": "theirs"}
    assert two_parts.post("resolve", form).status_code == 303
    assert two_parts.body() == LONG.replace(
        "Wells are shared by several families.\n", "Wells are shared by every family.\nRead on.\n"
    ).replace("12 metres", "14 metres")


def test_a_missing_choice_saves_nothing(two_parts: Clash) -> None:
    before = two_parts.body()
    reply = two_parts.post("resolve", {**two_parts.form(), "choice-0": "mine"})
    assert reply.status_code == 303 and reply.headers["location"] == two_parts.url + "?error=choose"
    assert "choose what to keep for every part" in two_parts.page("?error=choose")
    assert two_parts.body() == before


def test_stale_parts_are_refused_with_the_new_ones_shown(two_parts: Clash) -> None:
    form = two_parts.form()
    head = two_parts.api.get("/api/pages/wells").json()
    push(two_parts.api, two_parts.alice, new_op(slug="wells", base_rev=head["rev"],
                                                body=head["body"].replace("14 metres", "16 metres")))
    reply = two_parts.post("resolve", {**form, "choice-0": "mine", "choice-1": "mine"})
    assert reply.status_code == 303 and reply.headers["location"] == two_parts.url + "?error=changed"
    assert "16 metres" in two_parts.body()  # nothing written over the newer change
    page = two_parts.page("?error=changed")
    assert "someone changed the page again" in page and "<ins>16</ins>" in page
    assert hidden(page, "parts") != form["parts"]
    fresh = {**two_parts.form(), "choice-0": "theirs", "choice-1": "theirs"}
    assert two_parts.post("resolve", fresh).status_code == 303
    assert "16 metres" in two_parts.body() and "shared by six" in two_parts.body()


def test_every_post_redirects_and_no_reload_meets_a_405(two_parts: Clash) -> None:
    form = two_parts.form()
    refused = two_parts.post("resolve", {**form, "body": f"{MARK_START}\nx\n"})
    assert refused.status_code == 303 and refused.headers["location"] == two_parts.url + "?error=markers"
    page = two_parts.page("?error=markers")
    assert "still holds conflict marker lines" in page and 'class="conflict-whole" open' in page
    for old in ("/resolve", "/discard"):  # the form's own address, from an old history entry
        reply = two_parts.bob.get(two_parts.url + old, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"] == two_parts.url

    whole = two_parts.post("resolve", {**form, "body": "Written by hand.\r\n"})
    assert whole.status_code == 303 and whole.headers["location"] == two_parts.url
    assert two_parts.body() == "Written by hand.\n"
    before = two_parts.revisions()
    again = two_parts.post("resolve", {**form, "body": "a second submit"})
    assert again.status_code == 303 and again.headers["location"] == two_parts.url
    assert two_parts.revisions() == before and "Conflict resolved" in two_parts.page()
    discard = two_parts.post("discard", {"csrf_token": form["csrf_token"]})
    assert discard.status_code == 303 and discard.headers["location"] == two_parts.url
    assert "no conflicts" in two_parts.bob.get("/conflicts").text


def test_discard_is_a_redirect_to_a_page_that_says_so(settings: Settings) -> None:
    clash = Clash(settings, BODY, BODY.replace("water", "rain"), BODY.replace("water", "snow melt"))
    try:
        page = clash.page()
        assert 'data-confirm="Drop your version' in page
        reply = clash.post("discard", {"csrf_token": csrf_from(page)})
        assert reply.status_code == 303 and reply.headers["location"] == clash.url
        shown = clash.page()
        assert f'data-resolved-conflict="{clash.id}"' in shown and "You discarded your version" in shown
        assert "rain" in clash.body() and "snow melt" not in clash.body()
        assert clash.post("discard", {"csrf_token": csrf_from(page)}).status_code == 303
    finally:
        clash.close()


def test_stale_form_save_merges_or_leads_to_a_conflict(settings: Settings) -> None:
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

            stale = open_form(browser_bob, "rivers")
            head = api.get("/api/pages/rivers").json()["rev"]
            push(api, alice, new_op(slug="rivers", base_rev=head, body=body.replace("water", "rain")))
            clash = browser_bob.post("/wiki/rivers/edit", follow_redirects=False,
                                     data={**stale, "body": body.replace("water", "snow melt"), "summary": "melt"})
            assert clash.status_code == 303 and clash.headers["location"].startswith("/conflicts/")
            page = browser_bob.get(clash.headers["location"]).text
            assert "<ins>snow melt</ins>" in page and "<ins>rain</ins>" in page
            assert f'href="{clash.headers["location"]}"' in browser_bob.get("/conflicts").text
        finally:
            browser_bob.__exit__(None, None, None)


def test_conflict_pages_need_the_owner(settings: Settings) -> None:
    with TestClient(create_app(settings)) as api:
        alice, bob = sign_up(api, "alice"), sign_up(api, "bob")
        [created] = push(api, alice, new_op(title="Rivers", base_rev=None, body=BODY))
        push(api, alice, new_op(slug="rivers", base_rev=created["rev"], body="Gone.\n"))
        [result] = push(api, bob, new_op(slug="rivers", base_rev=created["rev"], body="Mine.\n"))
        url = f"/conflicts/{result['conflict_id']}"
        assert api.get(url).status_code == 401
        assert api.get("/conflicts").status_code == 401
        carol = browser(settings, "carol")
        try:
            # Another account's conflict reads exactly as one that does not exist (issue 11, item 13).
            theirs, unknown = carol.get(url), carol.get("/conflicts/unknown")
            assert theirs.status_code == unknown.status_code == 404
            assert _main(theirs.text) == _main(unknown.text)
            for action in ("", "/resolve", "/discard"):
                api_theirs, api_unknown = (
                    api.request("GET" if not action else "POST", f"/api/sync/conflicts/{cid}{action}",
                                json={"body": "x"} if action == "/resolve" else None, headers=bearer(alice))
                    for cid in (result["conflict_id"], "unknown"))
                assert api_theirs.status_code == api_unknown.status_code == 404, action
                assert api_theirs.json() == api_unknown.json(), action
            token = csrf_from(carol.get("/wiki/rivers/edit").text)
            for action in ("resolve", "discard"):  # answered with the conflict's page, which says 404
                reply = carol.post(f"{url}/{action}", data={"csrf_token": token, "body": "Carol's."},
                                   follow_redirects=False)
                assert reply.status_code == 303 and reply.headers["location"] == url
            assert api.get("/api/pages/rivers").json()["body"] == "Gone.\n"
        finally:
            carol.__exit__(None, None, None)
