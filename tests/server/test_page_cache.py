"""Anonymous page views from memory: same bytes as the app, fresh after any change, never for accounts."""

from __future__ import annotations

import uuid

import httpx
from conftest import LiveServer, bearer


def test_cached_views_match_the_app_and_refresh_after_an_edit(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/welcome"
    first, second = httpx.get(url), httpx.get(url)
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert "set-cookie" not in first.headers and "content-security-policy" in second.headers
    assert 'name="csrf-token"' not in first.text
    token = httpx.post(live_server.url + "/api/users", json={"username": "cachey", "password": "long enough"}
                       ).json()["token"]
    page = httpx.get(live_server.url + "/api/pages/welcome").json()
    op = {"op_id": str(uuid.uuid4()), "slug": "welcome", "base_rev": page["rev"], "body": "Fresh words."}
    assert httpx.post(live_server.url + "/api/sync/push", json={"ops": [op]}, headers=bearer(token)).status_code == 200
    assert "Fresh words." in httpx.get(url).text


def test_fragments_and_full_pages_are_kept_apart(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/welcome"
    httpx.get(url)
    fragment = httpx.get(url, headers={"HX-Request": "true"})
    assert "<head>" not in fragment.text and "<title>" in fragment.text
    assert "<head>" in httpx.get(url).text


def test_gzip_variant_for_clients_that_accept_it(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/how-to-edit"
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        raw = client.get(url)
    assert raw.headers["content-encoding"] == "gzip" and "Accept-Encoding" in raw.headers["vary"]
    assert int(raw.headers["content-length"]) < len(plain.content) / 2
    assert raw.content == plain.content  # httpx decodes; the page is the same


def test_signed_in_readers_get_their_own_page(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        client.post("/api/users", json={"username": "reader", "password": "long enough"})
        page = client.get("/wiki/welcome")
        assert "reader" in page.text and 'name="csrf-token"' in page.text
    assert "reader" not in httpx.get(live_server.url + "/wiki/welcome").text


def test_a_bearer_readers_page_is_never_shared(live_server: LiveServer) -> None:
    token = httpx.post(live_server.url + "/api/users", json={"username": "zq-secret-reader", "password": "long enough"}
                       ).json()["token"]
    mine = httpx.get(live_server.url + "/wiki/welcome", headers=bearer(token), cookies={"cp_csrf": "abc"})
    assert "zq-secret-reader" in mine.text
    assert "zq-secret-reader" not in httpx.get(live_server.url + "/wiki/welcome").text
    assert "x-commonplace-shareable" not in mine.headers


def test_a_reader_who_has_the_page_gets_304_until_it_changes(live_server: LiveServer) -> None:
    url = live_server.url + "/wiki/how-to-edit"
    first = httpx.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    again = httpx.get(url, headers={"If-None-Match": etag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    token = httpx.post(live_server.url + "/api/users", json={"username": "etag-editor", "password": "long enough"}
                       ).json()["token"]
    head = httpx.get(live_server.url + "/api/pages/how-to-edit").json()["rev"]
    op = {"op_id": "etag-edit-1", "type": "edit", "slug": "how-to-edit", "base_rev": head,
          "body": "# How to edit\n\nChanged.", "summary": "etag"}
    httpx.post(live_server.url + "/api/sync/push", json={"device_id": "t", "ops": [op]}, headers=bearer(token))
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag and "Changed." in changed.text
