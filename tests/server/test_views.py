"""HTML views: create, edit, history, diff, revert, missing links, htmx fragments, headers."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from conftest import wait_for_index
from litestar.testing import TestClient

from server.app import create_app
from server.settings import Settings


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def signed_in(client: TestClient, name: str = "writer") -> None:
    token = csrf_from(client.get("/signup").text)
    client.post("/signup", data={"csrf_token": token, "username": name, "password": "long enough"})


def save(client: TestClient, slug: str, body: str, summary: str = "", title: str | None = None):
    form = client.get(f"/wiki/{slug}/edit").text
    fields = {"csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": hidden(form, "base_rev"),
              "body": body, "summary": summary}
    if title is not None:
        fields["title"] = title
    return client.post(f"/wiki/{slug}/edit", data=fields, follow_redirects=False)


def test_reading_needs_no_account_and_shows_rendered_markdown(client: TestClient) -> None:
    page = client.get("/wiki/how-to-edit")
    assert page.status_code == 200 and '<nav class="toc"' in page.text
    assert 'class="wikilink new"' in page.text  # the starter pages link to a page nobody wrote yet
    assert "CC BY-SA 4.0" in page.text
    assert client.get("/").status_code == 200 and client.get("/wiki").status_code == 200


def test_create_edit_history_diff_and_revert(client: TestClient) -> None:
    signed_in(client)
    created = save(client, "river-notes", "The river is wide.\n\nIt floods in spring.", "start", title="River notes")
    assert created.status_code == 303 and created.headers["location"] == "/wiki/river-notes"
    edited = save(client, "river-notes", "The river is deep.\n\nIt floods in spring.", "depth")
    assert edited.status_code == 303
    assert "The river is deep." in client.get("/wiki/river-notes").text
    history = client.get("/wiki/river-notes/history").text
    assert "depth" in history and "start" in history and history.count('name="to"') == 2
    diff = client.get("/wiki/river-notes/diff").text
    assert "<del>wide.</del>" in diff and "<ins>deep.</ins>" in diff
    revisions = client.get("/api/pages/river-notes/history").json()["revisions"]
    first = revisions[-1]
    revision_page = client.get(f"/wiki/river-notes/revision/{first['seq']}").text
    reverted = client.post("/wiki/river-notes/revert", follow_redirects=False, data={
        "csrf_token": csrf_from(revision_page), "rev": first["rev"], "base_rev": revisions[0]["rev"]})
    assert reverted.status_code == 303
    page = client.get("/api/pages/river-notes").json()
    assert page["body"] == "The river is wide.\n\nIt floods in spring."
    assert len(client.get("/api/pages/river-notes/history").json()["revisions"]) == 3


def test_editing_without_an_account_keeps_the_text_and_says_log_in(client: TestClient) -> None:
    reply = save(client, "welcome", "my careful words", "x")
    assert reply.status_code == 403 and "my careful words" in reply.text and "Log in" in reply.text


def test_stale_form_becomes_a_conflict_without_losing_the_text(client: TestClient) -> None:
    signed_in(client)
    form = client.get("/wiki/welcome/edit").text
    save(client, "welcome", "someone else's change")
    reply = client.post("/wiki/welcome/edit", data={
        "csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": hidden(form, "base_rev"),
        "body": "my late change", "summary": ""})
    assert reply.status_code == 200 and reply.url.path.startswith("/conflicts/") and "my late change" in reply.text


def test_double_submit_makes_one_revision(client: TestClient) -> None:
    signed_in(client)
    form = client.get("/wiki/welcome/edit").text
    fields = {"csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": hidden(form, "base_rev"),
              "body": "once", "summary": ""}
    before = len(client.get("/api/pages/welcome/history").json()["revisions"])
    assert client.post("/wiki/welcome/edit", data=fields, follow_redirects=False).status_code == 303
    assert client.post("/wiki/welcome/edit", data=fields, follow_redirects=False).status_code == 303
    assert len(client.get("/api/pages/welcome/history").json()["revisions"]) == before + 1


def test_unnormalised_names_redirect_to_the_page(client: TestClient) -> None:
    reply = client.get("/wiki/How To Edit", follow_redirects=False)
    assert reply.status_code == 301 and reply.headers["location"] == "/wiki/how-to-edit"


def test_missing_page_offers_creation(client: TestClient) -> None:
    reply = client.get("/wiki/not-written-yet")
    assert reply.status_code == 404 and "/wiki/not-written-yet/edit" in reply.text
    new = client.get("/new?title=Not written yet", follow_redirects=False)
    assert new.headers["location"] == "/wiki/not-written-yet/edit?title=Not+written+yet"
    form = client.get(new.headers["location"]).text
    assert "Creating “Not written yet”" in form and 'value="Not written yet"' in form


def test_new_page_with_an_existing_title_says_it_exists(client: TestClient) -> None:
    reply = client.get("/new?title=Welcome", follow_redirects=False)
    assert reply.status_code == 200
    assert "already exists" in reply.text
    assert 'href="/wiki/welcome"' in reply.text and 'href="/wiki/welcome/edit"' in reply.text


def test_htmx_requests_get_a_fragment_of_the_same_url(client: TestClient) -> None:
    full = client.get("/changes")
    fragment = client.get("/changes", headers={"HX-Request": "true"})
    assert full.text.startswith("<!doctype html>") and "<head>" in full.text
    assert "<head>" not in fragment.text and "<title>" in fragment.text and "Recent changes" in fragment.text
    assert "HX-Request" in full.headers["vary"] and "HX-Request" in fragment.headers["vary"]
    restore = client.get("/changes", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<head>" in restore.text


def test_security_headers_on_html(client: TestClient) -> None:
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp
    assert client.get("/").headers["x-content-type-options"] == "nosniff"


def test_service_worker_and_manifest_are_served_from_the_root(client: TestClient) -> None:
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"]
    assert sw.headers["cache-control"] == "no-cache"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["display"] == "standalone"
    assert client.get("/offline").status_code == 200


def test_search_page_finds_by_title_and_body(client: TestClient) -> None:
    wait_for_index(lambda: client.get("/api/status").json())
    reply = client.get("/search?q=conflict")
    assert reply.status_code == 200 and "/wiki/offline-use-and-sync" in reply.text
    assert client.get("/search?q=" + "x" * 600).status_code == 400


def test_unknown_user_is_404(client: TestClient) -> None:
    assert client.get("/users/nobody-at-all").status_code == 404


def test_external_images_become_links_so_pages_never_load_other_origins() -> None:
    from server.render import render

    html, _ = render("![a cat](https://example.com/cat.png) ![local](/static/icons/icon.svg)")
    assert 'src="https://' not in html and 'href="https://example.com/cat.png"' in html
    assert '<img src="/static/icons/icon.svg"' in html


def _error_of(page: str) -> str:
    return html.unescape(re.search(r'class="error"[^>]*>([^<]*)', page).group(1))


def test_a_refused_save_gives_the_typed_text_back(settings: Settings) -> None:
    """Issue 11, item 10: a 429 or an expired form answered a page without the text typed (no JavaScript)."""
    with TestClient(create_app(replace(settings, rate_edit="1/3600"))) as client:
        signed_in(client)
        assert save(client, "how-to-edit", "A first edit.").status_code == 303
        form = client.get("/wiki/new-words/edit").text
        typed = {"csrf_token": csrf_from(form), "op_id": hidden(form, "op_id"), "base_rev": "",
                 "title": "New <words>", "body": "Typed & kept\nline two", "summary": "my summary"}
        refused = client.post("/wiki/new-words/edit", data=typed, follow_redirects=False)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert hidden(refused.text, "op_id") == typed["op_id"]  # nothing was applied: the same edit again
        assert html.unescape(re.search(r"<textarea[^>]*>([^<]*)</textarea>", refused.text).group(1)) == typed["body"]
        assert re.search(r'name="summary"[^>]*value="my summary"', refused.text)
        assert 'value="New &lt;words&gt;"' in refused.text
        assert "Nothing was saved" in _error_of(refused.text) and "Wait" in _error_of(refused.text)
    with TestClient(create_app(settings)) as client:
        signed_in(client, "second-writer")
        form = client.get("/wiki/how-to-edit/edit").text
        typed = {"csrf_token": "from-an-old-page", "op_id": hidden(form, "op_id"),
                 "base_rev": hidden(form, "base_rev"), "body": "Typed before the form expired.", "summary": "s"}
        expired = client.post("/wiki/how-to-edit/edit", data=typed, follow_redirects=False)
        assert expired.status_code == 403 and "Typed before the form expired." in expired.text
        assert "expired" in _error_of(expired.text)
        # The form it comes back in is current: sending it again saves.
        again = {**typed, "csrf_token": csrf_from(expired.text), "base_rev": hidden(expired.text, "base_rev")}
        saved = client.post("/wiki/how-to-edit/edit", data=again, follow_redirects=False)
        assert saved.status_code == 303, _error_of(saved.text)
        assert "Typed before the form expired." in client.get("/wiki/how-to-edit").text
